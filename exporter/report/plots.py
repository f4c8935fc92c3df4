"""The report's figures as inline SVG (matplotlib): Pareto plots of accuracy against latency and
size, and predicted against measured latency. Every point is an SVG group whose id names its
system (`<plot>-point-<system>-s<seq>`), so a browser test can find each measured system in each plot.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

# Our runtimes in colour, the peers in greys: the question a reader asks is "ours vs theirs".
COLOURS = {"executorch": "#1f77b4", "tflite": "#ff7f0e", "onnxruntime": "#555555", "torch": "#999999"}
MARKERS = {"fp32": "s", "int8": "o", "ternary": "^", "mixed": "D"}


@dataclass(frozen=True)
class Point:
    system: str
    precision: str
    x: float
    y: float          # dev accuracy, 0..1


def point_id(system: str, panel: str) -> str:
    """`panel`: "s64" (fixed length 64) or "real-s64" (each sentence at its own length, up to 64)."""
    return "point-" + re.sub(r"[^A-Za-z0-9_-]", "_", f"{system}-{panel}")


def panel_of(row: dict) -> str:
    """The panel a bench row belongs to: "s64" (fixed length), "real-s64" (its own lengths, <= 64)."""
    return ("real-" if row.get("lengths") == "real" else "") + f"s{row['seq_len']}"


def pareto_front(points: list[Point]) -> list[Point]:
    """Points no other point beats on both axes (smaller x, higher y), by increasing x."""
    front, best = [], -1.0
    for p in sorted(points, key=lambda p: (p.x, -p.y)):
        if p.y > best:
            front.append(p)
            best = p.y
    return front


def _runtime(system: str) -> str:
    return system.split("-")[0]


def to_svg(fig) -> str:
    """The figure as inline SVG (no XML prolog or DOCTYPE), closed after."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _figure(columns: int = 0):
    """One axes (columns 0), or a row of `columns` axes (a list)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "dynaedge"  # stable ids: the same data gives the same page
    import matplotlib.pyplot as plt

    if not columns:
        return plt.subplots(figsize=(7.5, 4.8))
    fig, axes = plt.subplots(1, columns, figsize=(7.5 * columns, 4.8), squeeze=False)
    return fig, list(axes[0])


def pareto_figure(points: list[Point], plot: str, panel: str, xlabel: str, title: str, log_x: bool = False):
    """`plot` names the figure in its points' ids (ids must be unique in the page)."""
    fig, ax = _figure()
    _pareto_axes(ax, points, plot, panel, xlabel, title, log_x)
    return fig


def headline_figure(panels: list[tuple[str, str, str, list[Point]]]):
    """Accuracy against latency, panels (id, x label, title, points) side by side: the README's plot."""
    fig, axes = _figure(len(panels))
    for ax, (panel, xlabel, title, points) in zip(axes, panels):
        _pareto_axes(ax, points, "headline", panel, xlabel, title, log_x=True)
    fig.tight_layout()
    return fig


def save_png(fig, path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


def _pareto_axes(ax, points: list[Point], plot: str, panel: str, xlabel: str, title: str, log_x: bool) -> None:
    for p in points:
        runtime = _runtime(p.system)
        artist = ax.scatter([p.x], [100 * p.y], s=46, c=COLOURS.get(runtime, "#2ca02c"),
                            marker=MARKERS.get(p.precision, "o"), edgecolors="black", linewidths=0.4, zorder=3)
        artist.set_gid(f"{plot}-{point_id(p.system, panel)}")
        ax.annotate(p.system, (p.x, 100 * p.y), textcoords="offset points", xytext=(4, 3), fontsize=6.5)
    front = pareto_front(points)
    if front:
        ax.step([p.x for p in front], [100 * p.y for p in front], where="post", color="#2ca02c", lw=1.2,
                zorder=2, label="Pareto front")
    for runtime, colour in COLOURS.items():
        if any(_runtime(p.system) == runtime for p in points):
            ax.scatter([], [], c=colour, label=runtime, edgecolors="black", linewidths=0.4)
    if log_x:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel, ylabel="dev accuracy %", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")


def predicted_figure(rows: list[dict]):
    """Measured (x: `measured_ms`, the median at a fixed length or the mean at real lengths) against
    predicted (y) latency with the +-10 % band; one colour per runtime."""
    fig, ax = _figure()
    hi = 1.1 * max(max(r["measured_ms"], r["predicted_ms"]) for r in rows)
    line = [0.0, hi]
    ax.fill_between(line, [0.9 * v for v in line], [1.1 * v for v in line], color="0.88", label="±10 %")
    ax.plot(line, line, "k-", lw=0.7)
    for r in rows:
        artist = ax.scatter([r["measured_ms"]], [r["predicted_ms"]], s=40, c=COLOURS.get(_runtime(r["system"])),
                            marker="^" if r.get("lengths") == "real" else "o" if r["seq_len"] <= 64 else "s", edgecolors="black", linewidths=0.4, zorder=3)
        artist.set_gid(f"predicted-{point_id(r['system'], panel_of(r))}")
        ax.annotate(f"{r['system']} {panel_of(r)}", (r["measured_ms"], r["predicted_ms"]), textcoords="offset points",
                    xytext=(4, 2), fontsize=6)
    ax.set(xlabel="measured ms", ylabel="predicted ms (host fit)", xlim=(0, hi), ylim=(0, hi),
           title="latency model: predicted vs measured (circles seq 64, squares 128, triangles real lengths)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    return fig
