"""Mixed-precision models as selector candidates (export --mixed-mb): one candidate per searched size,
priced by the bytes and the kept heads / neurons of its own row, kept apart from the other sizes and
from the full-size slice by their size all the way to the files export writes."""

import pytest

from backends.registry import find_variant
from exporter.devices.budget import Budget
from exporter.devices.features import layered_work, shaped_work, work
from exporter.devices.latency import predict_work
from exporter.devices.preference import Preference
from exporter.devices.profile import load_profile
from exporter.devices.selector import candidates, select
from exporter.model.config import EncoderConfig
from exporter.model.subnet import FULL, SubnetSpec

CFG = EncoderConfig()
MIXED = find_variant("executorch", "mixed")
DYNAMIC = find_variant("executorch", "int8-dynamic")


def _weights(heads, neurons) -> int:
    return sum(4 * CFG.hidden * h * CFG.head_dim + 2 * CFG.hidden * f for h, f in zip(heads, neurons))


def _mixed_row(size_mb: float, heads: list[int], neurons: list[int], nbytes: int, accuracy: float,
               int4_share: float = 0.0) -> dict:
    weights = _weights(heads, neurons)
    return {"width": 1.0, "depth": 1.0, "precision": "mixed", "variant": "mixed", "size_mb": size_mb,
            "activations": "dynamic", "dev_accuracy": accuracy, "bytes": nbytes,
            "shape": {"heads": heads, "neurons": neurons, "linear_bytes": weights // 2,
                      "int4_weights": int(int4_share * weights)}}


def test_layered_work_of_a_uniform_shape_is_the_slice_work():
    for subnet in (FULL, SubnetSpec(0.5, 0.5), SubnetSpec(0.25, 0.75)):
        layers = len(subnet.kept_layers(CFG.layers))
        heads, neurons = (subnet.kept_heads(CFG.heads),) * layers, (subnet.kept_neurons(CFG.ffn),) * layers
        assert layered_work(CFG, heads, neurons, 42, 1.0) == work(CFG, subnet, 42, 1.0)
    # a model that prunes one layer's heads and another's neurons does less, exactly that much less
    full = work(CFG, FULL, 64, 1.0)
    pruned = layered_work(CFG, (12, 6, 12, 12, 12, 12), (1536, 1536, 768, 1536, 1536, 1536), 64, 1.0)
    assert full.linear_mmacs - pruned.linear_mmacs == pytest.approx(64 * (4 * 384 * 6 * 32 + 2 * 384 * 768) / 1e6)
    assert full.attention_mmacs - pruned.attention_mmacs == pytest.approx(2 * 64 * 64 * 6 * 32 / 1e6)


def test_each_size_is_its_own_candidate_priced_by_its_row(synthetic_fit):
    small = _mixed_row(9.5, [11, 11, 9, 8, 6, 4], [1536, 1536, 1408, 1280, 1024, 768], 9_134_512, 0.866, 0.8)
    large = _mixed_row(13.0, [12] * 6, [1536] * 6, 12_875_696, 0.877)
    full_int8 = {"width": 1.0, "depth": 1.0, "precision": "int8", "dev_accuracy": 0.868, "activations": "dynamic"}
    profile = load_profile("pixel-8")
    found = candidates([small, large, full_int8], profile, synthetic_fit, CFG, 64, (MIXED, DYNAMIC), length=42)
    by_name = {c.name: c for c in found}
    assert set(by_name) == {"w1-d1-9.5mb-mixed-executorch", "w1-d1-13mb-mixed-executorch",
                            "w1-d1-int8-dynamic-executorch"}
    a, b, int8 = (by_name[n] for n in ("w1-d1-9.5mb-mixed-executorch", "w1-d1-13mb-mixed-executorch",
                                       "w1-d1-int8-dynamic-executorch"))
    assert (a.bytes, b.bytes, a.size_mb, b.size_mb, int8.size_mb) == (9_134_512, 12_875_696, 9.5, 13.0, None)
    assert (a.file_name, b.file_name) == ("w1-d1-9.5mb-mixed.pte", "w1-d1-13mb-mixed.pte")
    # latency: the int8-dynamic fit on the work each keeps (a full 8-bit shape predicts as the full int8 file)
    assert a.predicted_ms == predict_work(synthetic_fit, profile, MIXED, shaped_work(CFG, small["shape"], 42)).ms
    assert abs(b.predicted_ms - int8.predicted_ms) < 1e-9 and a.predicted_ms < b.predicted_ms
    print(f"\npixel-8 at 42 tokens: 9.5 MB {a.predicted_ms:.3f} ms, 13 MB {b.predicted_ms:.3f} ms, "
          f"int8-dynamic {int8.predicted_ms:.3f} ms")
    choice = select([small, large, full_int8], profile, Budget(50, 42), synthetic_fit, CFG, 64, (MIXED, DYNAMIC),
                    Preference(slack=0.0)).to_dict()
    assert choice["path"] == "w1-d1-13mb-mixed.pte" and choice["subnet"]["size_mb"] == 13.0
    # a size cap between them: the smaller mixed model
    capped = select([small, large, full_int8], profile, Budget(50, 42), synthetic_fit, CFG, 64, (MIXED, DYNAMIC),
                    Preference(slack=0.0, max_bytes=10_000_000)).to_dict()
    assert capped["path"] == "w1-d1-9.5mb-mixed.pte" and capped["bytes"] == 9_134_512


def test_a_failed_mixed_file_rules_out_only_its_size(synthetic_fit):
    from exporter.devices.commands import needed_artifacts
    from exporter.pipeline import mark_failed
    from exporter.slices import jobs_from_choices

    rows = [_mixed_row(9.5, [12] * 6, [1536] * 6, 9_000_000, 0.86), _mixed_row(13.0, [12] * 6, [1536] * 6, 13_000_000, 0.87)]
    args = (load_profile("pixel-8"), Budget(50, 42), synthetic_fit, CFG, 64, (MIXED,), Preference(slack=0.0))
    first = select(rows, *args).to_dict()
    (job,) = jobs_from_choices(needed_artifacts([first]))
    assert (job.size_mb, job.file_name, job.variant) == (13.0, "w1-d1-13mb-mixed.pte", MIXED)
    failed = {"path": job.file_name, "backend": "executorch", "variant": "mixed", "precision": "mixed",
              "width": 1.0, "depth": 1.0, "size_mb": 13.0, "failures": ["SQNR 12 dB < 30"]}
    marked = mark_failed(rows, [failed])
    assert "failed_variants" not in marked[0] and marked[1]["failed_variants"] == {"executorch/mixed": "SQNR 12 dB < 30"}
    assert select(marked, *args).to_dict()["path"] == "w1-d1-9.5mb-mixed.pte"


def test_4_bit_macs_blend_in_the_ternary_int4_prediction(synthetic_fit):
    """All weights 4-bit: the compute of the full ternary-int4 file; all 8-bit: the int8-dynamic file's;
    in between, linear in the 4-bit share."""
    profile, ternary = load_profile("pixel-8"), find_variant("executorch", "ternary-int4")
    heads, neurons = [12] * 6, [1536] * 6
    shape = {"heads": heads, "neurons": neurons, "linear_bytes": _weights(heads, neurons)}

    def compute(share):
        w = shaped_work(CFG, shape | {"int4_weights": int(share * _weights(heads, neurons))}, 64)
        return predict_work(synthetic_fit, profile, MIXED, w).compute_ms

    int8 = predict_work(synthetic_fit, profile, DYNAMIC, work(CFG, FULL, 64, 1.0)).compute_ms
    int4 = predict_work(synthetic_fit, profile, ternary, work(CFG, FULL, 64, 0.5)).compute_ms
    print(f"\npixel-8, 64 tokens: all 8-bit {compute(0.0):.3f} ms (int8-dynamic {int8:.3f}), half {compute(0.5):.3f}, "
          f"all 4-bit {compute(1.0):.3f} (ternary-int4 {int4:.3f})")
    assert compute(0.0) == pytest.approx(int8) and compute(1.0) == pytest.approx(int4)
    assert compute(0.5) == pytest.approx((int8 + int4) / 2)


def test_a_litert_mixed_file_is_priced_by_the_int8_dynamic_tflite_fit_alone(synthetic_fit):
    """No all-4-bit TFLite fit exists (ternary-int4 .tflite is not calibrated): 4-bit rows cost as 8-bit
    rows, and the candidate is the .tflite named by its size."""
    litert, dynamic = find_variant("tflite", "mixed"), find_variant("tflite", "int8-dynamic")
    assert litert.int4_timed_as is None and litert.fit_names == ("int8-dynamic",)
    profile = load_profile("pixel-8")
    row = _mixed_row(9.5, [11, 11, 9, 8, 6, 4], [1536, 1536, 1408, 1280, 1024, 768], 9_134_512, 0.866, 0.8)
    (found,) = candidates([row], profile, synthetic_fit, CFG, 64, (litert,), length=42)
    as_int8 = shaped_work(CFG, row["shape"] | {"int4_weights": 0}, 64)  # 42 tokens run in the 64-token graph
    assert found.file_name == "w1-d1-9.5mb-mixed.tflite" and found.bytes == 9_134_512 and found.length == 64
    assert found.predicted_ms == predict_work(synthetic_fit, profile, dynamic, as_int8).ms
