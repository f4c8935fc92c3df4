"""Directory versions: staging beside the target, one-step swap, leftovers of dead runs removed."""

import os

import pytest

import exporter.atomic as atomic
from exporter.atomic import previous_dir, staging_dir, swap_dir


def _version(directory, text):
    (directory / "a").write_text(text)
    (directory / "b").write_text(text)


def test_first_version_is_renamed_into_place(tmp_path):
    target = tmp_path / "bundle"
    stage = staging_dir(target)
    assert stage.parent == tmp_path and stage.name.startswith(".bundle.staging-")
    _version(stage, "one")
    swap_dir(stage, target)
    assert (target / "a").read_text() == "one" and not stage.exists()


def test_swap_exchanges_and_removes_the_old_version(tmp_path):
    target = tmp_path / "bundle"
    target.mkdir()
    _version(target, "old")
    (target / "stale-only-in-old").write_text("x")
    stage = staging_dir(target)
    _version(stage, "new")
    swap_dir(stage, target)
    assert sorted(p.name for p in target.iterdir()) == ["a", "b"]  # nothing of the old version mixed in
    assert (target / "a").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]


def test_without_rename_exchange_the_two_rename_fallback_ends_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    target = tmp_path / "bundle"
    target.mkdir()
    _version(target, "old")
    stage = staging_dir(target)
    _version(stage, "new")
    swap_dir(stage, target)
    assert (target / "a").read_text() == "new" and not previous_dir(target).exists()


def test_staging_removes_leftovers_of_dead_runs_only(tmp_path):
    target = tmp_path / "bundle"
    dead = tmp_path / ".bundle.staging-999999999"   # no such pid
    alive = tmp_path / f".bundle.staging-{os.getppid()}"  # a running process's
    dead.mkdir()
    alive.mkdir()
    staging_dir(target)
    assert not dead.exists() and alive.exists()


def test_other_swap_errors_are_raised(tmp_path):
    with pytest.raises(OSError, match="cannot swap"):
        atomic._exchange(tmp_path / "missing-a", tmp_path / "missing-b")
