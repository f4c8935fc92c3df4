"""Fixtures for the offline APK tests (the fake bundle lives in android_fake_bundle.py)."""

from pathlib import Path

import pytest

from android_fake_bundle import make_fake_bundle


@pytest.fixture
def fake_bundle(tmp_path) -> Path:
    return make_fake_bundle(tmp_path / "bundle")
