"""Packaged profiles: they parse, every number has a source, user overrides win, bad files are named."""

import tomllib

import pytest

from exporter.devices.profile import (NUMBERS, PACKAGED, SOURCE_KINDS, load_profile, load_profiles, parse_profile,
                                      profile_names, to_toml, write_user_profile)
from exporter.errors import UserError


def test_required_profiles_exist():
    android = {p.name for p in load_profiles("android")}
    assert len(android) >= 6
    assert {"budget-a53", "pixel-6a", "galaxy-a54", "pixel-8", "galaxy-s23", "kirin-990"} <= android
    assert [p.name for p in load_profiles("linux-arm64")] == ["linux-arm64"]
    assert [p.name for p in load_profiles("host")] == ["host"]


@pytest.mark.parametrize("path", sorted(PACKAGED.glob("*.toml")), ids=lambda p: p.stem)
def test_every_number_has_a_source(path):
    data = tomllib.loads(path.read_text())
    profile = parse_profile(path.read_text(), str(path))
    assert profile.name == path.stem

    def walk(node, where):
        if isinstance(node, dict):
            if "value" in node:
                assert isinstance(node.get("source"), str), f"{where}: number without a source"
                assert node["source"].split(":")[0] in SOURCE_KINDS, f"{where}: {node['source']!r}"
                assert len(node["source"].split(":", 1)[1].strip()) > 10, f"{where}: source says nothing"
                return
            for k, v in node.items():
                walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            raise AssertionError(f"{where}: bare number {node} without a source")

    walk(data, path.stem)
    for key in NUMBERS:
        assert profile.number(key) > 0


def test_android_profiles_order_low_to_high_end():
    # A sanity check on the data: the budget phone is the slowest, flagships the fastest.
    peaks = {p.name: p.number("fp32_gflops") for p in load_profiles("android")}
    assert min(peaks, key=peaks.get) == "budget-a53"
    assert peaks["galaxy-s23"] > peaks["galaxy-a54"] > peaks["budget-a53"]


def test_unknown_profile_lists_the_profiles(config_dir):
    with pytest.raises(UserError) as err:
        load_profile("pixel-77")
    assert "'pixel-77'" in str(err.value)
    for name in profile_names():
        assert name in str(err.value)


def test_user_profile_overrides_packaged(config_dir):
    base = load_profile("pixel-8")
    from dataclasses import replace
    write_user_profile(replace(base, description="my pixel"))
    assert load_profile("pixel-8").description == "my pixel"
    assert str(config_dir) in load_profile("pixel-8").path


def test_round_trip_through_toml():
    for p in load_profiles():
        again = parse_profile(to_toml(p), p.path)
        assert again.numbers == p.numbers and again.references == p.references and again.models == p.models


@pytest.mark.parametrize("bad, message", [
    ('[threads]\nvalue = 4\n', "expected a table"),
    ('[threads]\nvalue = 4\nsource = "my guess"\n', "must start with one of"),
    ('[threads]\nvalue = -1\nsource = "estimate: x"\n', "must be a positive number"),
])
def test_bad_numbers_are_named(bad, message):
    text = (PACKAGED / "pixel-8.toml").read_text()
    start = text.index("[threads]")
    end = text.index("[clock_ghz]")
    with pytest.raises(UserError, match=message) as err:
        parse_profile(text[:start] + bad + "\n" + text[end:], "x.toml")
    assert "threads" in str(err.value)
