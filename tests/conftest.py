from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
FIXTURES = PROJECT_DIR / "tests" / "fixtures"
SAMPLE_LANDING = PROJECT_DIR / "data" / "sample" / "landing"
SEEDS_DIR = Path(os.environ.get("CUSTOMS_SEEDS_DIR", PROJECT_DIR / "seeds"))


@pytest.fixture
def exports_dir() -> Path:
    return FIXTURES / "exports"
