"""Shared fixtures. Data in ../shared is read in place, never copied; tests that need it skip cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_TLE = SHARED / "data" / "tle"
SHARED_REFERENCE = SHARED / "data" / "reference"


@pytest.fixture(scope="session")
def shared_tle_dir() -> Path:
    """``../shared/data/tle`` (real TLE snapshots); skips the test when absent."""
    if not SHARED_TLE.is_dir():
        pytest.skip("../shared/data/tle is absent")
    return SHARED_TLE


@pytest.fixture(scope="session")
def shared_reference_dir() -> Path:
    """``../shared/data/reference`` (TR 38.811/38.821 tables); skips the test when absent."""
    if not SHARED_REFERENCE.is_dir():
        pytest.skip("../shared/data/reference is absent")
    return SHARED_REFERENCE
