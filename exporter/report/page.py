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
from exporter.report.plots import Point, pareto_figure, point_id, predicted_figure, to_svg

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
    seq_len: int
    ours: dict            # bench row of our fastest file at least as accurate as the peer (or the fastest)
    peer: dict            # the fastest ONNX Runtime int8 row: the strongest ONNX Runtime int8 setup
    ratio: float
    equal_accuracy: bool  # False: no file of ours is as accurate as the peer; `ours` is our fastest


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


def headlines(rows: list[dict], goal: float = 0.5) -> list[Headline]:
    """Per length: our fastest file at equal or better dev accuracy than the strongest (fastest)
    ONNX Runtime int8 peer, and the ratio of their medians."""
    out = []
    for seq_len in sorted({r["seq_len"] for r in rows}):
        at = [r for r in rows if r["seq_len"] == seq_len]
        peers = [r for r in at if r["system"].startswith("onnxruntime") and r["precision"] == "int8"]
        ours = [r for r in at if not is_peer(r["system"])]
        if not peers or not ours:
            continue
        peer = min(peers, key=lambda r: r["median_ms"])
        as_good = [r for r in ours if r["dev_accuracy"] >= peer["dev_accuracy"]]
        best = min(as_good or ours, key=lambda r: r["median_ms"])
        out.append(Headline(seq_len, best, peer, best["median_ms"] / peer["median_ms"], bool(as_good)))
    return out


def _figures(rows: list[dict]) -> list[Figure]:
    figures = []
    for seq_len in sorted({r["seq_len"] for r in rows}):
        at = [r for r in rows if r["seq_len"] == seq_len]
        for plot, x_of, xlabel, log_x in (("latency", lambda r: r["median_ms"], "median ms (batch 1)", True),
                                          ("size", lambda r: r["bytes"] / 1e6, "file MB", False)):
            fig_id = f"{plot}-s{seq_len}"
            points = [Point(r["system"], r["precision"], x_of(r), r["dev_accuracy"]) for r in at]
            title = f"dev accuracy vs {'latency' if plot == 'latency' else 'size'}, seq {seq_len}"
            figures.append(Figure(fig_id, title, to_svg(pareto_figure(points, fig_id, seq_len, xlabel, title, log_x)),
                                  tuple(f"{fig_id}-{point_id(r['system'], seq_len)}" for r in at)))
    return figures


def build_page(bench: dict | None = None, manifest: dict | None = None, grid: dict | None = None,
               grid_note: str = "") -> Page:
    from exporter.versions import runtime_versions

    rows = bench["rows"] if bench else []
    predicted = [r for r in rows if r.get("predicted_ms") is not None]
    figures = _figures(rows)
    if predicted:
        figures.append(Figure("predicted", "latency model: predicted vs measured", to_svg(predicted_figure(predicted)),
                              tuple(f"predicted-{point_id(r['system'], r['seq_len'])}" for r in predicted)))
    return Page(time.strftime("%Y-%m-%d %H:%M:%S"), bench, manifest, grid, grid_note, tuple(figures),
                tuple(headlines(rows)), tuple(predicted), (bench or {}).get("versions") or runtime_versions())


def render(page: Page) -> str:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("exporter.report", "."),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)
    env.filters["pct"] = lambda x: "–" if x is None else f"{100 * x:.1f}"
    env.filters["mb"] = lambda b: "–" if b is None else f"{b / 1e6:.1f}"
    env.filters["ms"] = lambda x: "–" if x is None else f"{x:.2f}"
    env.filters["db"] = lambda x: "inf" if x is None else f"{x:.1f}"
    checks = json.dumps({f.id: list(f.systems) for f in page.figures}).replace("</", "<\\/")  # safe in <script>
    return env.get_template("report.html.j2").render(page=page, checks_json=checks,
                                                     is_peer=is_peer)


def write_page(page: Page, out: Path) -> Path:
    from exporter.atomic import write_bytes

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(out, render(page).encode())
    return out
