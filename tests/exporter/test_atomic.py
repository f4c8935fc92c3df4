"""Atomic writes: a crash mid-write leaves the old file intact and no temp files behind."""

import pytest

from exporter import atomic


def test_crash_mid_write_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "model.pte"
    atomic.write_bytes(target, b"old contents")

    def crash(fd):
        raise OSError("simulated power loss before fsync")

    monkeypatch.setattr(atomic.os, "fsync", crash)
    with pytest.raises(OSError, match="simulated"):
        atomic.write_bytes(target, b"new contents that never land")
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pte"]


def test_interrupt_during_copy_leaves_nothing(tmp_path, monkeypatch):
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 10_000)

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.shutil, "copyfileobj", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic.copy_file(src, tmp_path / "dst.bin")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src.bin"]


def test_written_files_get_the_usual_mode_not_mkstemps_0600(tmp_path):
    import os
    import stat

    from exporter.atomic import write_bytes

    old = os.umask(0o022)
    try:
        write_bytes(tmp_path / "m.pte", b"x")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "m.pte").stat().st_mode)
    print(f"mode {mode:o}")
    assert mode == 0o644
