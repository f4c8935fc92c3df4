"""`dynaedge profile import FILE.json`: fit a device's scale factors from phone measurements.

The file is what the Android demo writes (BenchmarkReport.java):
  {"device": {"name", "model", "manufacturer", "soc", "abi", "sdk_int", "profile"},
   "rows": [{"backend", "precision", "width", "depth", "seq_len", "measured_ms", ...}]}
For each (backend, variant) measured, the factor is the median of measured / predicted (unscaled):
one robust number per runtime, so a few slow runs do not drag it. Rows of apps that run each sentence
at its own length carry "lengths" and "times_ms" (one per run): each run is predicted at the length
it fed, so the per-length latency model is what is fitted; older rows give one (seq_len, median) pair.
The updated profile is written to the user's config dir, where it overrides the packaged one.

A row is fitted under the latency fit its variant is predicted with (Variant.fit_name: a mixed file
under int8-dynamic, an fp32-emb8 file under fp32), since that scale is the one its predictions read.
A mixed-precision row is predicted from the heads and neurons its model keeps, which the app's row
does not carry: `--bundle DIR` (the bundle the app ran) gives them, by the row's file name.
"""

import json
import math
import statistics
from dataclasses import replace
from pathlib import Path

from backends.registry import find_variant
from exporter.devices.fit import LatencyFit, load_fit
from exporter.devices.features import shaped_work
from exporter.devices.latency import predict_ms, predict_work
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


def bundle_shapes(bundle_dir: Path) -> dict[str, dict]:
    """{file name: the kept heads / neurons / bytes of its model} for a bundle's mixed-precision files."""
    from exporter.bundle import read_manifest

    manifest = read_manifest(Path(bundle_dir))
    shapes = {r["size_mb"]: r["shape"] for r in manifest.get("subnets", []) if "shape" in r}
    return {a["path"]: shapes[a["size_mb"]] for a in manifest["artifacts"] if a.get("size_mb") in shapes}


def import_measurements(path: Path, profile: str | None = None, fit: LatencyFit | None = None,
                        cfg: EncoderConfig | None = None, write: bool = True,
                        shapes: dict[str, dict] | None = None) -> dict:
    """`shapes`: bundle_shapes of the bundle the app ran (needed for mixed-precision rows)."""
    report = read_report(path)
    fit = fit or load_fit()
    cfg = cfg or EncoderConfig.from_dict(fit.model)
    name, base = _base_profile(report["device"], profile)
    groups: dict[tuple[str, str], list[tuple[dict, float]]] = {}
    skipped = []
    for row in report["rows"]:
        # The app names the file's variant; rows of older apps carry only its precision (fp32, int8:
        # the same names as those variants).
        named = row.get("variant") or row["precision"]
        where = f"{row['backend']}/{named} w{row['width']:g}-d{row['depth']:g}"
        try:
            variant = find_variant(row["backend"], named)
        except UserError as err:  # a file of another dynaedge version
            skipped.append(f"{where}: {err}")
            continue
        key = (row["backend"], variant.fit_name)
        if key not in fit.keys():
            skipped.append(f"{where}: no host latency fit")
            continue
        if variant.precision == "mixed":
            shape = (shapes or {}).get(row.get("path"))
            if shape is None:
                skipped.append(f"{where} ({row.get('path')}): a mixed-precision file; pass --bundle DIR, the bundle "
                               f"the app ran, for the heads and neurons its model keeps")
                continue
            predicted = [(ms, predict_work(fit, base, variant, shaped_work(cfg, shape, n), use_scale=False).ms)
                         for n, ms in _runs(path, row)]
        else:
            subnet = SubnetSpec(float(row["width"]), float(row["depth"]))
            predicted = [(ms, predict_ms(fit, base, variant, cfg, subnet, n, use_scale=False))
                         for n, ms in _runs(path, row)]
        groups.setdefault(key, []).append((row, predicted))
    if not groups:
        raise UserError(f"{path}: none of the rows can be predicted ({'; '.join(skipped)})")
    device = report["device"]
    scale = dict(base.scale)
    rows_out = []
    for key, items in sorted(groups.items()):
        ratios = [ms / before for _, runs in items for ms, before in runs]
        factor = statistics.median(ratios)
        spread = max(abs(r / factor - 1) for r in ratios)
        scale[key] = Sourced(round(factor, 4), f"measured: median measured/predicted over {len(ratios)} runs in "
                                               f"{len(items)} rows of {Path(path).name} ({device.get('model')}, "
                                               f"{device.get('soc')}); runs within {100 * spread:.0f}% of it")
        for row, runs in items:
            # a row is judged on its mean: the mean of its runs against the mean of their predictions
            measured, before = (statistics.fmean(x) for x in zip(*runs))
            rows_out.append({**{k: row[k] for k in ROW_KEYS}, "runs_fitted": len(runs),
                             "mean_measured_ms": round(measured, 3), "predicted_before_ms": round(before, 3),
                             "predicted_ms": round(before * factor, 3),
                             "error_pct": round(100 * (before * factor / measured - 1), 2)})
    models = base.models + tuple(m for m in [device.get("model")] if m and m not in base.models)
    updated = replace(base, models=models, scale=tuple(sorted(scale.items())))
    written = str(write_user_profile(updated)) if write else None
    return {"profile": name, "path": written, "device": device,
            "scale": {f"{b}/{p}": s.value for (b, p), s in updated.scale},
            "rows": rows_out, "skipped": skipped,
            "within_10pct": round(sum(abs(r["error_pct"]) <= 10 for r in rows_out) / len(rows_out), 4),
            "log_spread": round(max(abs(math.log(r["mean_measured_ms"] / r["predicted_ms"])) for r in rows_out), 4)}


def _runs(path: Path, row: dict) -> list[tuple[int, float]]:
    """(tokens fed, ms) per timed run: the row's own runs when it has them, else (seq_len, median)."""
    lengths, times = row.get("lengths"), row.get("times_ms")
    if lengths is None or times is None:
        return [(int(row["seq_len"]), float(row["measured_ms"]))]
    if len(lengths) != len(times) or not times:
        raise UserError(f"{path}: a row of {row.get('path', row['backend'])} has {len(lengths)} lengths and "
                        f"{len(times)} times_ms; expected one of each per run")
    bad = [n for n in lengths if not 1 <= int(n) <= int(row["seq_len"])]
    if bad or not all(t > 0 for t in times):
        raise UserError(f"{path}: a row of {row.get('path', row['backend'])} has lengths outside 1..{row['seq_len']} "
                        f"({bad[:3]}) or a time <= 0")
    return [(int(n), float(t)) for n, t in zip(lengths, times)]
