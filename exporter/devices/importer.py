"""`dynaedge profile import FILE.json`: fit a device's scale factors from phone measurements.

The file is what the Android demo writes (BenchmarkReport.java):
  {"device": {"name", "model", "manufacturer", "soc", "abi", "sdk_int", "profile"},
   "rows": [{"backend", "precision", "width", "depth", "seq_len", "measured_ms", ...}]}
For each (backend, precision) measured, the factor is the median of measured / predicted
(unscaled): one robust number per runtime, so a few slow runs do not drag it. The updated
profile is written to the user's config dir, where it overrides the packaged one.
"""

import json
import math
import statistics
from dataclasses import replace
from pathlib import Path

from backends.registry import find_variant
from exporter.devices.fit import LatencyFit, load_fit
from exporter.devices.latency import predict_ms
from exporter.devices.profile import (DeviceProfile, Sourced, load_profile, profile_names, write_user_profile)
from exporter.errors import UserError
from exporter.model.config import EncoderConfig
from exporter.model.subnet import SubnetSpec

ROW_KEYS = ("backend", "precision", "width", "depth", "seq_len", "measured_ms")


def read_report(path: Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise UserError(f"benchmark file {path} does not exist")
    try:
        report = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(report, dict) or not isinstance(report.get("device"), dict) or \
            not isinstance(report.get("rows"), list):
        raise UserError(f"{path}: expected {{\"device\": {{...}}, \"rows\": [...]}} as the Android demo writes")
    for i, row in enumerate(report["rows"]):
        missing = [k for k in ROW_KEYS if k not in row]
        if missing:
            raise UserError(f"{path}: row {i} lacks {', '.join(missing)}")
        if not row["measured_ms"] > 0:
            raise UserError(f"{path}: row {i} has measured_ms {row['measured_ms']!r}; expected > 0")
    if not report["rows"]:
        raise UserError(f"{path}: no rows; run the benchmark in the app first")
    return report


def _base_profile(device: dict, profile: str | None) -> tuple[str, DeviceProfile]:
    """The profile to update: --profile, else the one the app matched, else the device's own name."""
    names = profile_names()
    for name in (profile, device.get("profile"), device.get("name")):
        if name and name in names:
            return name, load_profile(name)
    raise UserError(f"device {device.get('name')!r} ({device.get('model')}, {device.get('soc')}) matches no "
                    f"profile; pass --profile with the closest one to start from: {', '.join(names)}")


def import_measurements(path: Path, profile: str | None = None, fit: LatencyFit | None = None,
                        cfg: EncoderConfig | None = None, write: bool = True) -> dict:
    report = read_report(path)
    fit = fit or load_fit()
    cfg = cfg or EncoderConfig.from_dict(fit.model)
    name, base = _base_profile(report["device"], profile)
    groups: dict[tuple[str, str], list[tuple[dict, float]]] = {}
    skipped = []
    for row in report["rows"]:
        # The app names the file's variant; rows of older apps carry only its precision (fp32, int8:
        # the same names as those variants).
        key = (row["backend"], row.get("variant") or row["precision"])
        if key not in fit.keys():
            skipped.append(f"{key[0]}/{key[1]} w{row['width']:g}-d{row['depth']:g}: no host latency fit")
            continue
        before = predict_ms(fit, base, find_variant(*key), cfg, SubnetSpec(float(row["width"]), float(row["depth"])),
                            int(row["seq_len"]), use_scale=False)
        groups.setdefault(key, []).append((row, before))
    if not groups:
        raise UserError(f"{path}: none of the rows can be predicted ({'; '.join(skipped)})")
    device = report["device"]
    scale = dict(base.scale)
    rows_out = []
    for key, items in sorted(groups.items()):
        ratios = [row["measured_ms"] / before for row, before in items]
        factor = statistics.median(ratios)
        spread = max(abs(r / factor - 1) for r in ratios)
        scale[key] = Sourced(round(factor, 4), f"measured: median measured/predicted over {len(items)} rows of "
                                               f"{Path(path).name} ({device.get('model')}, {device.get('soc')}); "
                                               f"rows within {100 * spread:.0f}% of it")
        for row, before in items:
            rows_out.append({**{k: row[k] for k in ROW_KEYS}, "predicted_before_ms": round(before, 3),
                             "predicted_ms": round(before * factor, 3),
                             "error_pct": round(100 * (before * factor / row["measured_ms"] - 1), 2)})
    models = base.models + tuple(m for m in [device.get("model")] if m and m not in base.models)
    updated = replace(base, models=models, scale=tuple(sorted(scale.items())))
    written = str(write_user_profile(updated)) if write else None
    return {"profile": name, "path": written, "device": device,
            "scale": {f"{b}/{p}": s.value for (b, p), s in updated.scale},
            "rows": rows_out, "skipped": skipped,
            "within_10pct": round(sum(abs(r["error_pct"]) <= 10 for r in rows_out) / len(rows_out), 4),
            "log_spread": round(max(abs(math.log(r["measured_ms"] / r["predicted_ms"])) for r in rows_out), 4)}
