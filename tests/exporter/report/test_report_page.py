"""`dynaedge report --html`: the page from a saved bench run and a bundle manifest, opened in
headless Chromium: it loads with no console line, and every measured system, ours and the
peers', is a point in every plot of its length (the page checks itself and says so in the DOM)."""

import json
import re

import pytest

from exporter.report.page import build_page, headlines, write_page
from exporter.report.plots import Point, pareto_front
from tests.exporter.report.browser import load, screenshot


def _rows() -> list[dict]:
    rows = []
    for seq, scale in ((64, 1.0), (128, 2.2)):
        rows += [
            {"system": "executorch-int8", "precision": "int8", "bytes": 23.6e6, "dev_accuracy": 0.866, "ms": 4.4,
             "predicted_ms": 4.6 * scale},
            {"system": "tflite-int8-dynamic", "precision": "int8", "bytes": 23.0e6, "dev_accuracy": 0.864, "ms": 2.8,
             "predicted_ms": 2.5 * scale},
            {"system": "executorch-ternary", "precision": "ternary", "bytes": 6.8e6, "dev_accuracy": 0.839, "ms": 10.2},
            {"system": "onnxruntime-dynamic", "precision": "int8", "bytes": 22.6e6, "dev_accuracy": 0.865, "ms": 13.7,
             "fused_ops": {"MatMulInteger": 36}},
            {"system": "onnxruntime-fused-dynamic", "precision": "int8", "bytes": 22.5e6, "dev_accuracy": 0.866,
             "ms": 6.0, "fused_ops": {"Attention": 6, "SkipLayerNormalization": 12}},
            {"system": "torch-eager", "precision": "fp32", "bytes": 90.9e6, "dev_accuracy": 0.867, "ms": 20.8},
        ]
        for r in rows[-6:]:
            r.update(seq_len=seq, median_ms=r.pop("ms") * scale, lengths="fixed")
            r["p90_ms"] = 1.1 * r["median_ms"]
    # Each dev sentence at its own length: the length-adaptive files and peers gain, the rest do not.
    adaptive = {"executorch-int8": 0.42, "onnxruntime-dynamic": 0.45, "onnxruntime-fused-dynamic": 0.5, "torch-eager": 0.6}
    for r in [r for r in rows if r["seq_len"] == 64]:
        mean = r["median_ms"] * adaptive.get(r["system"], 1.0)
        rows.append({k: v for k, v in r.items() if k != "predicted_ms"} | {"lengths": "real", "mean_ms": mean,
                                                                           "median_ms": mean, "mean_tokens": 24.8})
    return rows


BENCH = {"rows": _rows(), "threads": 2, "runs": 50, "rounds": 5, "summary": {},
         "host": {"cpu": "Test CPU", "flags": ["avx2"], "cores": 2, "reference_ms": 1.0},
         "versions": {"torch": "2.13.0", "onnxruntime": "1.32.0"},
         "latency_fit": "host fit of 2026-12-05 on Fit CPU (test)"}
MANIFEST = {
    "choices": [{"device": "pixel-8", "runtime": "executorch", "family": "executorch", "path": "w1-d1-int8.pte",
                 "bytes": 23.6e6, "dev_accuracy": 0.866, "predicted_ms": 4.1, "budget_ms": 5.0,
                 "reason": "most accurate within 5 ms"}],
    "infeasible": [{"device": "budget-a53", "family": "executorch", "budget_ms": 5.0, "fastest": {"predicted_ms": 6.7},
                    "reason": "no sub-network fits 5 ms"}],
    "artifacts": [{"path": "w1-d1-int8.pte", "runtime": "executorch", "variant": "int8", "bytes": 23.6e6, "gate": "int8",
                   "parity": {"dev_accuracy": 0.866, "reference_accuracy": 0.867, "sqnr_db": 24.7,
                              "label_agreement": 0.97}}],
    "fallbacks": ["w1-d1-int8.pte: 9 ops outside XNNPACK"], "rejected": [],
}
GRID = {"rows": [{"width": 1.0, "depth": 1.0, "precision": "fp32", "dev_accuracy": 0.86, "test_accuracy": 0.85},
                 {"width": 1.0, "depth": 1.0, "precision": "ternary", "dev_accuracy": 0.845, "test_accuracy": 0.84,
                  "activations": "dynamic", "accuracy": "simulated"}]}


def test_pareto_front_keeps_only_undominated_points():
    points = [Point("a", "int8", 1.0, 0.80), Point("b", "int8", 2.0, 0.85), Point("c", "int8", 3.0, 0.84),
              Point("d", "fp32", 4.0, 0.90), Point("e", "int8", 1.0, 0.79)]
    assert [p.system for p in pareto_front(points)] == ["a", "b", "d"]


def test_headline_is_our_fastest_file_as_accurate_as_the_fastest_onnx_runtime_int8():
    by_panel = {h.panel: h for h in headlines(BENCH["rows"])}
    assert set(by_panel) == {"s64", "s128", "real-s64"}
    h = by_panel["s64"]
    assert h.peer["system"] == "onnxruntime-fused-dynamic"  # the strongest peer, not the plain one
    assert h.ours["system"] == "executorch-int8"  # tflite-int8-dynamic is faster but less accurate (86.4 < 86.6)
    assert h.equal_accuracy and h.ratio == pytest.approx(4.4 / 6.0) and h.latency == "median_ms"
    real = by_panel["real-s64"]  # means at real lengths, where tflite-int8-dynamic (padded) gains nothing
    assert real.latency == "mean_ms" and real.peer["system"] == "onnxruntime-fused-dynamic"
    assert real.ours["system"] == "executorch-int8" and real.ratio == pytest.approx(4.4 * 0.42 / (6.0 * 0.5))


def test_page_renders_in_chromium_with_every_system_in_every_plot(tmp_path):
    page = write_page(build_page(BENCH, MANIFEST, GRID, "recipe quick"), tmp_path / "report.html")
    html = page.read_text()
    assert not re.search(r'(src|href)="(https?:)?//', html), "the page must not fetch anything"
    loaded = load(page)
    assert loaded.console == (), loaded.console
    assert 'data-plot-check="ok"' in loaded.dom
    for r in BENCH["rows"]:  # ours and the peers, in the latency and the size plot of their length
        panel = ("real-" if r["lengths"] == "real" else "") + f"s{r['seq_len']}"
        for plot in ("latency",) if r["lengths"] == "real" else ("latency", "size"):
            point = f"{plot}-{panel}-point-{r['system']}-{panel}"
            assert f'id="{point}"' in loaded.dom, point
    checks = json.loads(re.search(r'<script type="application/json" id="plot-checks">(.*?)</script>', html).group(1))
    assert set(checks) == {"latency-s64", "size-s64", "latency-s128", "size-s128", "latency-real-s64", "predicted"}
    assert len(checks["predicted"]) == 4  # only rows with a prediction
    for text in ("Test CPU", "onnxruntime-fused-dynamic", "Attention×6", "pixel-8", "infeasible", "24.7", "Fit CPU",
                 "real lengths (mean 24.8 tokens, ≤ 64)", "ternary (simulated, per-token activations)"):
        assert text in loaded.dom, text
    shot = screenshot(page, tmp_path / "report.png")
    assert shot.stat().st_size > 50_000


def test_the_check_fails_when_a_point_is_missing(tmp_path):
    """The page's own check can fail: drop one point from a plot and it says so, on the console too."""
    page = write_page(build_page(BENCH), tmp_path / "report.html")
    broken = page.read_text().replace('id="latency-s64-point-torch-eager-s64"', 'id="gone"', 1)
    page.write_text(broken)
    loaded = load(page)
    assert 'data-plot-check="missing"' in loaded.dom
    assert any("latency-s64-point-torch-eager-s64" in line for line in loaded.console), loaded.console


def test_page_without_inputs_says_what_is_missing(tmp_path):
    html = write_page(build_page(None, None, None, "no finished supernet"), tmp_path / "r.html").read_text()
    assert "No bench run given" in html and "No bundle given" in html and "no finished supernet" in html


@pytest.mark.parametrize("content, says", [(None, "no such file"), ("{not json", "not JSON"),
                                           ('{"rows": 3}', "not a `dynaedge bench` result"),
                                           ('{"rows": [{"system": "x"}]}', "row 0 lacks precision")])
def test_cli_refuses_a_bench_file_that_is_not_a_bench_run(tmp_path, capsys, content, says):
    from exporter.cli import main

    bench = tmp_path / "bench.json"
    if content is not None:
        bench.write_text(content)
    assert main(["report", "--html", str(tmp_path / "r.html"), "--bench", str(bench)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bench) in err[0] and says in err[0], err
    assert not (tmp_path / "r.html").exists()


def test_cli_writes_the_readme_headline_png_from_a_saved_bench_run(tmp_path, capsys):
    """`report --png` draws the saved rows (nothing re-timed): one panel per length, a real PNG;
    without --bench it is refused in one line."""
    from exporter.cli import main
    from exporter.report.page import write_headline_png

    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps(BENCH))
    png = tmp_path / "docs" / "headline.png"
    assert main(["report", "--html", str(tmp_path / "r.html"), "--bench", str(bench), "--png", str(png)]) == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")
    one_panel = write_headline_png({"rows": [r for r in BENCH["rows"] if r["seq_len"] == 64 and r["lengths"] == "fixed"]},
                                   tmp_path / "one.png")
    assert width > 2.5 * int.from_bytes(one_panel.read_bytes()[16:20], "big")  # seq 64, seq 128, real lengths
    capsys.readouterr()
    assert main(["report", "--html", str(tmp_path / "r2.html"), "--png", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--png plots a bench run" in err[0], err


def test_page_draws_a_mixed_rows_bit_map(tmp_path):
    bit_map = {"group_size": 64, "word": [2, 2, 4, 8],
               "layers": [{"q": [8, 4], "k": [4, 4], "v": [2, 8], "attn_out": [4, 2], "ffn_in": [8, 0, 2],
                           "ffn_out": [4, 4], "heads": [1, 0, 1]}]}
    row = {"width": 1.0, "depth": 1.0, "precision": "mixed", "dev_accuracy": 0.85, "test_accuracy": 0.84,
           "bytes": 10.2e6, "size_target_mb": 10.0, "bit_map": bit_map}
    html = write_page(build_page(None, None, {"rows": [*GRID["rows"], row]}, "recipe mixed"),
                      tmp_path / "r.html").read_text()
    section = html[html.index("Mixed precision: bits per group"):]
    section = section[:section.index("</table>")]
    squares = re.findall(r'<span class="b b(\d)" title="([^"]+)"', section)
    assert "searched for 10.0 MB (10.2 MB stored)" in html
    assert [b for b, _ in squares] == list("84442842802" "44" "808" "2248"), squares
    assert ("0", "pruned") in squares and ("0", "0 bits") in squares
