"""Paths to the import case files in the repository and to the shared data sets outside it."""

from pathlib import Path

import pytest
from django.conf import settings

CASES_DIR = Path(__file__).parent / "fixtures" / "cases"


def case_path(name: str) -> Path:
    """Return the path of a case file by its number prefix, for example "06"."""
    matches = sorted(CASES_DIR.glob(f"{name}-*"))
    assert len(matches) == 1, f"expected one case file starting with {name}- in {CASES_DIR}"
    return matches[0]


def shared_data_path(*parts: str) -> Path:
    """Return a path under settings.SHARED_DATA_DIR, or skip the test when it is missing.

    The data sets stay out of the repository; OPS_SHARED_DATA_DIR points to them.
    """
    path = Path(settings.SHARED_DATA_DIR).joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is missing; set OPS_SHARED_DATA_DIR to the shared data folder")
    return path
