"""Full latency calibration on the host: >= 20 sub-networks per backend, table + plot + fit.

    .venv/bin/python scripts/calibrate_latency.py                    # the full grid (slow: run on a quiet machine)
    .venv/bin/python scripts/calibrate_latency.py --backends executorch --variants fp32 \
        --widths 0.25,0.5,0.75,1.0 --depths 0.5,1.0 --runs 20        # a small proof run

Resumable: every finished configuration is cached (~/.cache/dynaedge/latency/), so a rerun
after an interruption times only what is missing. Writes into --out: calibration.json (rows,
fit, host numbers), calibration.md (the table), calibration.png (predicted vs measured with
the +-10% band; matplotlib) or calibration.svg when matplotlib is not installed. The fit
itself goes to the user config dir (exporter.devices.fit.user_fit_path) unless --no-save,
and --package copies it to exporter/devices/fits/host.json (the fit dynaedge ships).
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exporter.devices.calibrate import DEFAULT_VARIANTS, CalibrationSpec, calibrate, row_work  # noqa: E402
from exporter.devices.fit import PACKAGED_FIT, leave_one_out  # noqa: E402


def floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(","))


def table(rows: list[dict], loo: dict) -> str:
    lines = ["| backend | variant | width | depth | seq | measured ms | predicted ms | error % | leave-one-out % |",
             "|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(rows):
        lines.append(f"| {r['backend']} | {r['variant']} | {r['width']:g} | {r['depth']:g} | {r['seq_len']} | "
                     f"{r['measured_ms']:.3f} | {r['predicted_ms']:.3f} | {r['error_pct']:+.1f} | "
                     f"{100 * loo[i]:+.1f} |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], out: Path) -> Path:
    measured = np.array([r["measured_ms"] for r in rows])
    predicted = np.array([r["predicted_ms"] for r in rows])
    labels = [f"{r['backend']}/{r['variant']}" for r in rows]
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return _svg(measured, predicted, labels, out.with_suffix(".svg"))
    fig, ax = plt.subplots(figsize=(5, 5))
    hi = 1.15 * max(measured.max(), predicted.max())
    line = np.linspace(0, hi, 50)
    ax.fill_between(line, 0.9 * line, 1.1 * line, color="0.85", label="±10%")
    ax.plot(line, line, "k-", lw=0.8)
    for label in sorted(set(labels)):
        sel = [i for i, lab in enumerate(labels) if lab == label]
        ax.scatter(measured[sel], predicted[sel], s=14, label=label)
    ax.set(xlabel="measured ms", ylabel="predicted ms", xlim=(0, hi), ylim=(0, hi),
           title="latency model on the host")
    ax.legend()
    path = out.with_suffix(".png")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path


def _svg(measured, predicted, labels, path: Path) -> Path:
    """Plain SVG scatter with the +-10% band, for machines without matplotlib."""
    size, pad = 400, 40
    hi = 1.15 * max(measured.max(), predicted.max())

    def xy(m, p):
        return pad + (size - 2 * pad) * m / hi, size - pad - (size - 2 * pad) * p / hi

    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    kinds = sorted(set(labels))
    (x0, y0), (x1, y1), (x2, y2) = xy(0, 0), xy(hi, 1.1 * hi), xy(hi, 0.9 * hi)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}">',
             f'<polygon points="{x0},{y0} {x1},{y1} {x2},{y2}" fill="#ddd"/>',
             f'<line x1="{x0}" y1="{y0}" x2="{xy(hi, hi)[0]}" y2="{xy(hi, hi)[1]}" stroke="black"/>',
             f'<text x="{size / 2 - 40}" y="{size - 8}" font-size="12">measured ms (0..{hi:.1f})</text>',
             f'<text x="4" y="16" font-size="12">predicted ms; grey: ±10%</text>']
    for m, p, lab in zip(measured, predicted, labels):
        x, y = xy(m, p)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colours[kinds.index(lab) % 4]}"/>')
    for i, lab in enumerate(kinds):
        parts.append(f'<text x="{pad + 4}" y="{30 + 14 * i}" font-size="11" fill="{colours[i % 4]}">{lab}</text>')
    path.write_text("\n".join(parts + ["</svg>"]) + "\n")
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", default="executorch,tflite")
    p.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                   help="names in the backends' variant tables (on every backend that has it) or keys "
                        "such as tflite/ternary-int8")
    p.add_argument("--widths", default="0.25,0.5,0.75,1.0")
    p.add_argument("--depths", default="0.5,0.67,0.83,1.0", help="of 6 layers: 3, 4, 5, 6 kept")
    p.add_argument("--seq-lens", default="64,128")
    p.add_argument("--seq-lens-for", action="append", default=[], metavar="BACKEND=LENS",
                   help="per-backend lengths, e.g. tflite=64 (its int8 lowering is slow); repeatable")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--rounds", type=int, default=CalibrationSpec.rounds)
    p.add_argument("--statistic", default=CalibrationSpec.statistic,
                   help="of the rounds' per-process medians: min (default: a shared host only slows runs "
                        "down) or median")
    p.add_argument("--out", default=str(ROOT / "build" / "latency"))
    p.add_argument("--fresh", action="store_true", help="re-time configurations already in the cache")
    p.add_argument("--no-save", action="store_true", help="do not write the fit to the user config dir")
    p.add_argument("--package", action="store_true", help=f"also copy the fit to {PACKAGED_FIT}")
    args = p.parse_args(argv)
    spec = CalibrationSpec(backends=tuple(args.backends.split(",")), variants=tuple(args.variants.split(",")),
                           widths=floats(args.widths), depths=floats(args.depths),
                           seq_lens=tuple(int(s) for s in args.seq_lens.split(",")),
                           seq_lens_for=tuple((b, tuple(int(x) for x in lens.split(",")))
                                              for b, _, lens in (item.partition("=") for item in args.seq_lens_for)),
                           threads=args.threads,
                           runs=args.runs, rounds=args.rounds,
                           statistic=args.statistic)
    result = calibrate(spec, fresh=args.fresh, save=not args.no_save)
    rows = result["rows"]
    loo = np.zeros(len(rows))
    for key in {(r["backend"], r["variant"]) for r in rows}:
        idx = [i for i, r in enumerate(rows) if (r["backend"], r["variant"]) == key]
        x = np.array([row_work(spec.cfg, rows[i]).vector() for i in idx])
        loo[idx] = leave_one_out(x, np.array([rows[i]["measured_ms"] for i in idx]))
    result["leave_one_out_within_10pct"] = round(float(np.mean(np.abs(loo) <= 0.10)), 4)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration.json").write_text(json.dumps(result, indent=2))
    (out / "calibration.md").write_text(table(rows, dict(enumerate(loo))))
    figure = plot(rows, out / "calibration")
    if args.package and "fit_path" in result:
        shutil.copyfile(result["fit_path"], PACKAGED_FIT)
    groups = sorted({(r["backend"], r["variant"]) for r in rows})
    print(f"{len(rows)} configurations ({', '.join(f'{b}/{q}' for b, q in groups)}); "
          f"within ±10%: {100 * result['within_10pct']:.0f}% fitted, "
          f"{100 * result['leave_one_out_within_10pct']:.0f}% leave-one-out")
    print(f"table {out / 'calibration.md'}, plot {figure}, fit {result.get('fit_path', '(not saved)')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
