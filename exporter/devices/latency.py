"""Predict latency on a device: the host fit, scaled term by term through the profile.

  linear term       x host peak / device peak at the artifact's precision
  attention, elementwise   x host fp32 peak / device fp32 peak (both runtimes keep these
                    matmuls and softmax/norm/GELU in float, DESIGN.md: int8 is weights+linear)
  per-layer, constant x op_overhead_scale (dispatch cost, relative to the host)
then never below the memory floor (the linear weights read once at the device's bandwidth),
then x the profile's fitted scale for (backend, precision) (1.0 until a phone is imported).
On the calibrating host all ratios are 1 and the prediction is the fit itself. A file mixing 8- and
4-bit Linears (Work.int4_mmacs) is predicted by its own fit and by its Variant.int4_timed_as's,
blended by the share of its linear MACs on 4-bit weights (without an int4_timed_as, by its own fit alone).
"""

from dataclasses import dataclass

from backends.variant import Variant
from exporter.devices.features import FEATURES, Work, work
from exporter.devices.fit import LatencyFit
from exporter.devices.profile import DeviceProfile
from exporter.model.config import EncoderConfig
from exporter.model.subnet import SubnetSpec

@dataclass(frozen=True)
class Prediction:
    ms: float
    compute_ms: float
    memory_floor_ms: float
    scale: float


def _ratios(fit: LatencyFit, profile: DeviceProfile, variant: Variant) -> tuple[float, ...]:
    key = variant.peak
    precision_ratio = fit.host[key] / profile.number(key)
    fp32_ratio = fit.host["fp32_gflops"] / profile.number("fp32_gflops")
    overhead = profile.number("op_overhead_scale")
    by_feature = {"linear_mmacs": precision_ratio, "attention_mmacs": fp32_ratio, "elementwise_m": fp32_ratio,
                  "layers": overhead, "const": overhead}
    return tuple(by_feature[f] for f in FEATURES)


def predict_work(fit: LatencyFit, profile: DeviceProfile, variant: Variant, w: Work,
                 use_scale: bool = True) -> Prediction:
    ratios = _ratios(fit, profile, variant)

    def compute_with(name: str) -> float:
        return sum(c * x * r for c, x, r in zip(fit.get(variant.backend, name).values, w.vector(), ratios))

    compute = compute_with(variant.fit_name)
    if w.int4_mmacs and variant.int4_timed_as:
        # Each fit splits the time among features its own way (the all-4-bit fit may put none on
        # linear MACs), so whole predictions are blended, by the share of MACs on 4-bit weights.
        share = w.int4_mmacs / w.linear_mmacs
        compute = (1 - share) * compute + share * compute_with(variant.int4_timed_as)
    floor = w.weight_bytes / (profile.number("memory_gbs") * 1e9) * 1e3
    scale = profile.scale_for(variant.backend, variant.fit_name) if use_scale else 1.0
    return Prediction(max(compute, floor) * scale, compute, floor, scale)


def predict_ms(fit: LatencyFit, profile: DeviceProfile, variant: Variant, cfg: EncoderConfig,
               subnet: SubnetSpec, seq_len: int, use_scale: bool = True) -> float:
    return predict_work(fit, profile, variant, work(cfg, subnet, seq_len, variant.linear_bytes), use_scale).ms
