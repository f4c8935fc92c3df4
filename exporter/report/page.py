"""`dynaedge report --html OUT.html`: one self-contained page (no network) with the supernet grid,
the Pareto plots of one `dynaedge bench` run (ours and the peers), predicted against measured
latency, a bundle's choices per device and runtime with their reasons, every artifact's parity,
and the machine and runtime versions the figures come from.

    page = build_page(bench=json.load(open("bench.json")), manifest=read_manifest(bundle), grid=table)
    write_page(page, Path("report.html"))

Each input is optional; a missing one is said on the page. Plots are inline SVG (plots.py), the
page is a Jinja2 template (report.html.j2), the data the plots show is embedded as JSON so a
browser can check that every measured system is in every plot (tests/exporter/report/).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from exporter.bench import PEER_PREFIXES
from exporter.report.plots import Point, panel_of, pareto_figure, point_id, predicted_figure, to_svg

def is_peer(system: str) -> bool:
    return system.startswith(PEER_PREFIXES)


@dataclass(frozen=True)
class Figure:
    id: str              # the element id of the figure; points inside are "<id>-point-<system>-s<seq>"
    title: str
    svg: str
    systems: tuple[str, ...]   # point ids the figure must hold


@dataclass(frozen=True)
class Headline:
    panel: str            # "s64": fixed length 64 (medians); "real-s64": each dev sentence at its own length (means)
    ours: dict            # bench row of our fastest file at least as accurate as the peer (or the fastest)
    peer: dict            # the fastest ONNX Runtime int8 row: the strongest ONNX Runtime int8 setup
    ratio: float
    equal_accuracy: bool  # False: no file of ours is as accurate as the peer; `ours` is our fastest
    latency: str          # the row key compared: "median_ms" (fixed) or "mean_ms" (real lengths)


@dataclass(frozen=True)
class Panel:
    """One group of bench rows drawn together: one length mode at one seq_len."""

    id: str               # panel_of(row)
    rows: tuple[dict, ...]
    latency: str          # "median_ms" or "mean_ms"
    label: str            # "seq 64" or "real lengths (mean 24.8 tokens, <= 64)"

    @property
    def xlabel(self) -> str:
        return "mean ms per sentence (batch 1)" if self.latency == "mean_ms" else "median ms (batch 1)"


def panels(rows: list[dict]) -> list[Panel]:
    """Fixed lengths by increasing seq_len, then the real-length panel."""
    out = []
    for pid in sorted({panel_of(r) for r in rows}, key=lambda p: (p.startswith("real"), int(p.split("s")[-1]))):
        at = tuple(r for r in rows if panel_of(r) == pid)
        if pid.startswith("real"):
            label = f"real lengths (mean {at[0].get('mean_tokens', 0):.1f} tokens, ≤ {at[0]['seq_len']})"
            out.append(Panel(pid, at, "mean_ms", label))
        else:
            out.append(Panel(pid, at, "median_ms", f"seq {at[0]['seq_len']}"))
    return out


@dataclass(frozen=True)
class Page:
    generated: str
    bench: dict | None
    manifest: dict | None
    grid: dict | None
    grid_note: str
    figures: tuple[Figure, ...] = ()
    headlines: tuple[Headline, ...] = ()
    predicted_rows: tuple[dict, ...] = ()
    versions: dict = field(default_factory=dict)


def headlines(rows: list[dict]) -> list[Headline]:
    """Per panel: our fastest file at equal or better dev accuracy than the strongest (fastest)
    ONNX Runtime int8 peer, and the ratio of their latencies (medians; means at real lengths)."""
    out = []
    for panel in panels(rows):
        peers = [r for r in panel.rows if r["system"].startswith("onnxruntime") and r["precision"] == "int8"]
        ours = [r for r in panel.rows if not is_peer(r["system"])]
        if not peers or not ours:
            continue
        key = panel.latency
        peer = min(peers, key=lambda r: r[key])
        as_good = [r for r in ours if r["dev_accuracy"] >= peer["dev_accuracy"]]
        best = min(as_good or ours, key=lambda r: r[key])
        out.append(Headline(panel.id, best, peer, best[key] / peer[key], bool(as_good), key))
    return out


def _points(panel: Panel, x_of) -> list[Point]:
    return [Point(r["system"], r["precision"], x_of(r), r["dev_accuracy"]) for r in panel.rows]


def _figures(rows: list[dict]) -> list[Figure]:
    """Accuracy against latency for every panel; against size for the fixed-length ones (a file's
    size does not depend on the lengths it is fed)."""
    figures = []
    for panel in panels(rows):
        plots = [("latency", lambda r, k=panel.latency: r[k], panel.xlabel, True)]
        if panel.latency == "median_ms":
            plots.append(("size", lambda r: r["bytes"] / 1e6, "file MB", False))
        for plot, x_of, xlabel, log_x in plots:
            fig_id = f"{plot}-{panel.id}"
            title = f"dev accuracy vs {plot}, {panel.label}"
            figures.append(Figure(fig_id, title, to_svg(pareto_figure(_points(panel, x_of), fig_id, panel.id, xlabel,
                                                                      title, log_x)),
                                  tuple(f"{fig_id}-{point_id(r['system'], panel.id)}" for r in panel.rows)))
    return figures


def build_page(bench: dict | None = None, manifest: dict | None = None, grid: dict | None = None,
               grid_note: str = "") -> Page:
    from exporter.versions import runtime_versions

    rows = bench["rows"] if bench else []
    # a real-length row's prediction is a mean over the sentences: it is judged against the measured mean
    predicted = [r | {"measured_ms": r["mean_ms"] if r.get("lengths") == "real" else r["median_ms"],
                      "measured_as": "mean, real lengths" if r.get("lengths") == "real" else f"median, seq {r['seq_len']}"}
                 for r in rows if r.get("predicted_ms") is not None]
    figures = _figures(rows)
    if predicted:
        figures.append(Figure("predicted", "latency model: predicted vs measured", to_svg(predicted_figure(predicted)),
                              tuple(f"predicted-{point_id(r['system'], panel_of(r))}" for r in predicted)))
    return Page(time.strftime("%Y-%m-%d %H:%M:%S"), bench, manifest, grid, grid_note, tuple(figures),
                tuple(headlines(rows)), tuple(predicted), (bench or {}).get("versions") or runtime_versions())


def write_headline_png(bench: dict, out: Path) -> Path:
    """The README's plot: accuracy against latency of every system of one bench run, one panel per
    sequence length and one at real lengths, the Pareto front drawn."""
    from exporter.report.plots import headline_figure, save_png

    drawn = [(p.id, p.xlabel + ", log scale", f"dev accuracy vs latency, {p.label}",
              _points(p, lambda r, k=p.latency: r[k])) for p in panels(bench["rows"])]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_png(headline_figure(drawn), out)
    return out


def render(page: Page) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("exporter.report", "."),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)
    env.filters["pct"] = lambda x: "–" if x is None else f"{100 * x:.1f}"
    env.filters["mb"] = lambda b: "–" if b is None else f"{b / 1e6:.1f}"
    env.filters["ms"] = lambda x: "–" if x is None else f"{x:.2f}"
    env.filters["db"] = lambda x: "inf" if x is None else f"{x:.1f}"
    checks = json.dumps({f.id: list(f.systems) for f in page.figures}).replace("</", "<\\/")  # safe in <script>
    labels = {p.id: p.label for p in panels(page.bench["rows"] if page.bench else [])}
    return env.get_template("report.html.j2").render(page=page, checks_json=checks, is_peer=is_peer,
                                                     panel_of=panel_of, panel_labels=labels)


def write_page(page: Page, out: Path) -> Path:
    from exporter.atomic import write_bytes

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(out, render(page).encode())
    return out
