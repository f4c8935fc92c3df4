"""Device profiles: TOML data files, one per device, every number with its source.

Packaged profiles live in exporter/devices/profiles/. A profile of the same name in the
user's config dir ($DYNAEDGE_CONFIG/profiles, else $XDG_CONFIG_HOME/dynaedge/profiles, else
~/.config/dynaedge/profiles) overrides it: that is where `profile import` and `profile
calibrate` write, so measured numbers win over spec-sheet estimates without editing the
package.
"""

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from exporter.atomic import write_bytes
from exporter.errors import UserError, unknown_choice

PACKAGED = Path(__file__).parent / "profiles"
TARGETS = ("android", "linux-arm64", "host")
# What the latency model reads. Each is a table {value, source} in the TOML file.
NUMBERS = ("threads", "clock_ghz", "fp32_gflops", "int8_gops", "memory_gbs", "op_overhead_scale")
SOURCE_KINDS = ("spec sheet", "published benchmark", "measured", "derived", "estimate", "definition")


def config_dir(*parts: str) -> Path:
    root = os.environ.get("DYNAEDGE_CONFIG")
    if not root:
        xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        root = str(Path(xdg) / "dynaedge")
    return Path(root, *parts)


def user_profiles_dir() -> Path:
    return config_dir("profiles")


@dataclass(frozen=True)
class Sourced:
    value: float
    source: str


@dataclass(frozen=True)
class DeviceProfile:
    name: str
    description: str
    target: str
    soc: str
    models: tuple[str, ...]
    numbers: tuple[tuple[str, Sourced], ...]                 # NUMBERS, in order
    scale: tuple[tuple[tuple[str, str], Sourced], ...] = ()   # (backend, precision) -> fitted factor
    references: tuple[dict, ...] = ()                         # published figures kept beside the profile
    path: str = ""

    def number(self, key: str) -> float:
        return dict(self.numbers)[key].value

    def scale_for(self, backend: str, precision: str) -> float:
        found = dict(self.scale).get((backend, precision))
        return found.value if found else 1.0

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description, "target": self.target, "soc": self.soc,
                "models": list(self.models), "path": self.path,
                **{k: {"value": s.value, "source": s.source} for k, s in self.numbers},
                "scale": {f"{b}/{p}": {"value": s.value, "source": s.source} for (b, p), s in self.scale},
                "references": list(self.references)}


def _sourced(table: object, where: str) -> Sourced:
    if not isinstance(table, dict) or set(table) != {"value", "source"}:
        raise UserError(f"{where}: expected a table {{value = <number>, source = \"...\"}}, found {table!r}")
    value, source = table["value"], table["source"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise UserError(f"{where}: value {value!r} must be a positive number")
    if not isinstance(source, str) or not source.split(":")[0].strip() in SOURCE_KINDS:
        raise UserError(f"{where}: source {source!r} must start with one of: "
                        + ", ".join(f'"{k}:"' for k in SOURCE_KINDS))
    return Sourced(float(value), source)


def parse_profile(text: str, path: str) -> DeviceProfile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"{path}: not valid TOML ({err})") from None
    for key in ("name", "description", "target", "soc"):
        if not isinstance(data.get(key), str):
            raise UserError(f"{path}: missing string field {key!r}")
    if data["target"] not in TARGETS:
        raise unknown_choice(f"target in {path}:", data["target"], TARGETS)
    missing = [k for k in NUMBERS if k not in data]
    if missing:
        raise UserError(f"{path}: missing {', '.join(missing)} (each a table {{value, source}})")
    numbers = tuple((k, _sourced(data[k], f"{path}: {k}")) for k in NUMBERS)
    scale = tuple(((backend, precision), _sourced(table, f"{path}: scale.{backend}.{precision}"))
                  for backend, by_precision in sorted(data.get("scale", {}).items())
                  for precision, table in sorted(by_precision.items()))
    references = tuple(data.get("reference", ()))
    for i, ref in enumerate(references):
        _sourced(ref.get("ms"), f"{path}: reference[{i}].ms")
    return DeviceProfile(data["name"], data["description"], data["target"], data["soc"],
                         tuple(data.get("models", ())), numbers, scale, references, path)


def _files() -> dict[str, Path]:
    """name -> file; a user profile shadows the packaged one of the same name."""
    found = {p.stem: p for p in sorted(PACKAGED.glob("*.toml"))}
    user = user_profiles_dir()
    if user.is_dir():
        found.update({p.stem: p for p in sorted(user.glob("*.toml"))})
    return found


def profile_names() -> tuple[str, ...]:
    return tuple(sorted(_files()))


def load_profile(name: str) -> DeviceProfile:
    files = _files()
    if name not in files:
        raise unknown_choice("device profile", name, files)
    profile = parse_profile(files[name].read_text(), str(files[name]))
    if profile.name != name:
        raise UserError(f"{files[name]}: name {profile.name!r} does not match the file name {name!r}")
    return profile


def load_profiles(target: str | None = None) -> list[DeviceProfile]:
    if target is not None and target not in TARGETS:
        raise unknown_choice("target", target, TARGETS)
    profiles = [load_profile(n) for n in profile_names()]
    return [p for p in profiles if target is None or p.target == target]


def _toml_value(value) -> str:
    # JSON string/number syntax is valid TOML for the values we write.
    return json.dumps(value, ensure_ascii=False)


def to_toml(profile: DeviceProfile) -> str:
    lines = [f"{k} = {_toml_value(getattr(profile, k))}" for k in ("name", "description", "target", "soc")]
    lines.append(f"models = {_toml_value(list(profile.models))}")
    for key, s in profile.numbers:
        lines += ["", f"[{key}]", f"value = {_toml_value(s.value)}", f"source = {_toml_value(s.source)}"]
    for (backend, precision), s in profile.scale:
        lines += ["", f"[scale.{backend}.{precision}]", f"value = {_toml_value(s.value)}",
                  f"source = {_toml_value(s.source)}"]
    for ref in profile.references:
        lines += ["", "[[reference]]"]
        for key, value in ref.items():
            if isinstance(value, dict):
                inner = ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items())
                lines.append(f"{key} = {{ {inner} }}")
            else:
                lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def write_user_profile(profile: DeviceProfile) -> Path:
    """Atomically write `profile` into the user's profiles dir (it then overrides the packaged one)."""
    path = user_profiles_dir() / f"{profile.name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = to_toml(profile)
    parse_profile(text, str(path))  # never write a file we could not read back
    write_bytes(path, text.encode())
    return path
