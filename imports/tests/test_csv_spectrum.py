"""The reader against csv-spectrum, a public suite of CSV edge cases with expected records.

The suite stays outside the repository under settings.SHARED_DATA_DIR; its JSON files
list the records a correct parser returns, keyed by the header.
"""

import json
from pathlib import Path

import pytest
from django.conf import settings

from imports.readers import open_table

SPECTRUM_DIR = Path(settings.SHARED_DATA_DIR) / "csv-spectrum"
SPECTRUM_NAMES = sorted(path.stem for path in (SPECTRUM_DIR / "csvs").glob("*.csv"))


@pytest.mark.parametrize(
    "name",
    SPECTRUM_NAMES
    or [
        pytest.param(
            "", marks=pytest.mark.skip(reason=f"{SPECTRUM_DIR} is missing; set OPS_SHARED_DATA_DIR")
        )
    ],
)
def test_reader_returns_expected_records(name):
    expected = json.loads((SPECTRUM_DIR / "json" / f"{name}.json").read_text(encoding="utf-8"))
    table = open_table(SPECTRUM_DIR / "csvs" / f"{name}.csv")

    rows = list(table.rows_iter())
    records = [dict(zip(table.header, row.cells, strict=True)) for row in rows]

    # One file of the suite stores its single record as an object, not a list.
    assert records == (expected if isinstance(expected, list) else [expected])
    assert [row.error for row in rows] == [None] * len(rows)
