"""What each CLI subcommand does: fill one spec, call one function, return a JSON-able dict.

Heavy modules are imported inside each command so `dynaedge --help` stays fast.
"""

import json
from pathlib import Path

from exporter.errors import ParityFailed, UserError


def train(args) -> dict:
    from exporter.compress.supernet_recipe import is_supernet_recipe, load_supernet_recipe
    from exporter.inputs import prepare

    if is_supernet_recipe(args.recipe):
        from exporter.compress.supernet import train_supernet

        inputs = prepare(args.model, args.data, load_supernet_recipe(args.recipe).seq_len)
        result = train_supernet(inputs, args.recipe, args.student_layers, args.size_mb)
        return {"recipe": args.recipe, "checkpoint_dir": str(result.checkpoint_dir), **result.table}
    from exporter.compress.finetune import finetune_teacher
    from exporter.compress.recipe import load_recipe

    recipe = load_recipe(args.recipe)
    inputs = prepare(args.model, args.data, recipe.seq_len)
    _, meta = finetune_teacher(inputs.model, inputs.source, inputs.task, inputs.splits, recipe)
    return {"recipe": recipe.name, "metrics": meta["metrics"], "data": inputs.describe_data(),
            "model": inputs.source.describe()}


def supernet_table(model, data, recipe: str, student_layers=None, size_mb=None) -> dict:
    """The accuracy table of a finished supernet run, without training anything."""
    return _supernet_table(model, data, recipe, student_layers, size_mb)[0]


def _supernet_table(model, data, recipe: str, student_layers=None, size_mb=None):
    """(the table, the inputs it was trained on)."""
    from exporter.compress.supernet import read_table, supernet_run_dir
    from exporter.compress.supernet_recipe import is_supernet_recipe, load_supernet_recipe
    from exporter.inputs import prepare

    if not is_supernet_recipe(recipe):
        raise UserError(f"recipe {recipe!r} trains no supernet; use a supernet recipe such as 'quick' or 'full'")
    inputs = prepare(model, data, load_supernet_recipe(recipe).seq_len)
    table = read_table(supernet_run_dir(inputs, recipe, student_layers, size_mb))
    if table is None:
        size = "" if size_mb is None else f" --size-mb {size_mb:g}"
        raise UserError(f"no finished supernet for recipe {recipe!r}{size} and this model/data; "
                        f"run `dynaedge train --recipe {recipe}{size}` first")
    return table, inputs


def report(args) -> dict:
    if not args.html:
        return supernet_table(args.model, args.data, args.recipe, args.student_layers, args.size_mb)
    from exporter.report.page import build_page, write_headline_png, write_page

    if args.png and not args.bench:
        raise UserError("--png plots a bench run: add --bench FILE.json (written by `dynaedge bench --out FILE.json`)")
    bench = _read_bench(Path(args.bench)) if args.bench else None  # bad input fails before any work
    try:
        grid = supernet_table(args.model, args.data, args.recipe, args.student_layers, args.size_mb)
        note = f"recipe {args.recipe}"
    except UserError as err:  # the page still shows the bench and the bundle
        grid, note = None, str(err)
    manifest = None
    if args.bundle:
        from exporter.bundle import read_manifest

        manifest = read_manifest(Path(args.bundle))
    out = write_page(build_page(bench, manifest, grid, note), Path(args.html))
    png = str(write_headline_png(bench, Path(args.png))) if args.png else None
    return {"html": str(out), "png": png, "bench": args.bench, "bundle": args.bundle, "grid": grid is not None}


def _read_bench(path: Path) -> dict:
    if not path.is_file():
        raise UserError(f"--bench {path}: no such file; write one with `dynaedge bench --out {path}`")
    try:
        bench = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"--bench {path}: not JSON ({err}); write it with `dynaedge bench --out {path}`")
    if not isinstance(bench, dict) or not isinstance(bench.get("rows"), list):
        raise UserError(f"--bench {path}: not a `dynaedge bench` result (no \"rows\" list)")
    for i, row in enumerate(bench["rows"]):
        missing = [k for k in BENCH_ROW if not isinstance(row, dict) or k not in row]
        if missing:
            raise UserError(f"--bench {path}: row {i} lacks {', '.join(missing)}; re-run `dynaedge bench --out {path}`")
    return bench


BENCH_ROW = ("system", "precision", "seq_len", "bytes", "dev_accuracy", "median_ms", "p90_ms")  # what the page plots


def export(args) -> dict:
    from exporter.pipeline import export as run_export
    from exporter.spec import ExportSpec, split_list

    from exporter.devices.budget import parse_budget
    from exporter.devices.preference import Preference

    fields = {"target": args.target, "model": args.model, "data": args.data, "out": Path(args.out),
              "threads": args.threads, "device": args.device, "supernet_recipe": args.recipe,
              "custom_ops": args.custom_ops, "reuse": not args.fresh,
              "budget": None if args.budget is None else parse_budget(args.budget), "budget_length": args.budget_length,
              "preference": Preference.of(args.accuracy_slack, args.max_mb), "mixed_mb": _sizes(args.mixed_mb)}
    for name in ("backend", "precision", "variant"):
        chosen = split_list(getattr(args, name))
        if chosen is not None:
            fields[name + "s"] = chosen
    result = run_export(ExportSpec(**fields))
    if result.failed:
        raise ParityFailed(f"{' | '.join(result.failed)}. The bundle at {args.out} is unchanged; "
                           f"this run's files and figures are in {result.bundle}")
    return {"bundle": str(result.bundle), **result.manifest}


def query(args) -> dict:
    """The choice for one device: sub-network rows from a bundle's manifest or a supernet table."""
    from exporter.devices.commands import query as choose

    from exporter.data.lengths import LengthStats, budget_length
    from exporter.devices.preference import Preference

    if args.bundle and args.mixed_mb:
        raise UserError("--mixed-mb takes the mixed-precision models trained for this model and data; with --bundle "
                        "the bundle's own rows are the candidates (export it with --mixed-mb)")
    if args.bundle:
        from exporter.bundle import read_manifest

        manifest = read_manifest(Path(args.bundle))  # refuses a bundle changed after export
        rows, seq_len, cfg = manifest["subnets"], manifest["seq_len"], manifest["model"].get("config")
        recorded = manifest["data"].get("lengths")  # bundles written before lengths were recorded have none
        stats = LengthStats(**recorded) if recorded else None
    else:
        from exporter.slices import supernet_rows

        # The rows and the length export chooses from (pipeline._budget_plan), so query and export agree.
        table, inputs = _supernet_table(args.model, args.data, args.recipe)
        rows, seq_len, cfg, stats = supernet_rows(table), inputs.seq_len, None, inputs.lengths
        rows += _trained_mixed_rows(inputs, _sizes(args.mixed_mb))
    at = budget_length(stats, args.budget_length, seq_len)
    choice = choose(args.device, args.budget, rows, seq_len=seq_len, cfg=cfg, family=args.runtime, length=at.tokens,
                    preference=Preference.of(args.accuracy_slack, args.max_mb))
    return choice | {"budget_length_source": at.source}


def _sizes(text: str | None) -> tuple[float, ...]:
    """"9.5,13" -> (9.5, 13.0); a bad entry names itself."""
    from exporter.spec import split_list

    sizes = []
    for part in split_list(text) or ():
        try:
            sizes.append(float(part.removesuffix("mb").removesuffix("MB")))
        except ValueError:
            raise UserError(f"--mixed-mb {part!r} is not a size in MB; give e.g. --mixed-mb 9.5,13") from None
    return tuple(sizes)


def _trained_mixed_rows(inputs, sizes: tuple[float, ...]) -> list[dict]:
    """The rows of mixed-precision runs already trained (query trains nothing)."""
    from exporter.compress.mixed_models import RECIPE, check_sizes, mixed_row
    from exporter.compress.supernet import read_table, supernet_run_dir

    check_sizes(sizes)
    rows = []
    for size in sizes:
        run = supernet_run_dir(inputs, RECIPE, size_mb=size)
        table = read_table(run)
        if table is None:
            raise UserError(f"no mixed-precision model of {size:g} MB for this model and data; run "
                            f"`dynaedge train --recipe {RECIPE} --size-mb {size:g}` (or export with --mixed-mb) first")
        rows.append(mixed_row(run, table, size))
    return rows


def profile(args) -> dict:
    from exporter.devices import commands

    if args.profile_command == "list":
        return commands.profile_list()
    if args.profile_command == "show":
        return commands.profile_show(args.name)
    if args.profile_command == "import":
        return commands.profile_import(args.file, profile=args.profile, bundle=args.bundle)
    return commands.profile_calibrate(threads=args.threads, runs=args.runs, quick=args.quick)


def bench(args) -> dict:
    from exporter.bench import BenchSpec, run_bench

    result = run_bench(BenchSpec(bundle=Path(args.bundle), seq_lens=tuple(int(s) for s in args.seq_len.split(",")),
                                 threads=args.threads, runs=args.runs, rounds=args.rounds,
                                 supernet_recipe=args.recipe, real_lengths=not args.fixed_only))
    if args.out:  # what `report --html --bench` plots, without re-timing
        from exporter.atomic import write_json

        write_json(Path(args.out), result)
    return result


def android(args) -> dict:
    from dataclasses import asdict

    from exporter.android import build_apk, install_apk

    if args.android_command == "build":
        return json.loads(json.dumps(asdict(build_apk(Path(args.bundle), Path(args.out))), default=str))
    install_apk(Path(args.apk))
    return {"installed": args.apk}


COMMANDS = {"train": train, "report": report, "export": export, "query": query, "profile": profile,
            "bench": bench, "android": android}
