"""Property tests: arbitrary cells never break a kind's row validation, and the error report
gives back each bad row's cells.
"""

import asyncio
import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imports.columns import KIND_FIELDS
from imports.csv_safety import csv_safe_cell
from imports.models import ImportJob, ImportKind, ImportRowError, ImportStatus
from imports.pipeline.kinds import handler_for_job
from imports.problems import ImportFileError
from imports.readers import FormulaWithoutValue, RawRow
from imports.readers.table import Table
from imports.tests.factories import ImportJobFactory
from imports.reports import REPORT_COLUMNS
from inventory.tests.factories import (
    ProductFactory,
    SerializedProductFactory,
    StoreFactory,
    back_office_user,
)
from ops_portal.imei import imei_with_check_digit

pytestmark = pytest.mark.django_db

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Values that pass the first checks of some field, so that examples reach the later ones,
# mixed with values that trouble parsers.
NEAR_VALID = [
    "S001", "ACC-1", "PHN-1", imei_with_check_digit("35000000000001"), "5", "0", "-1", "1,5",
    "1.234,56", "1e9", "99999999999999", "12.50", "10%", "2026-01-31", "31/01/2026",
    "01/31/2026", "45000", "in_stock", "sold", "damaged", "card", "cash", "EUR", "yes",
    "=1+1", "@SUM(A1)", "+1", "-", "'quoted", "\t5", "NaN", "Infinity", "",
]  # fmt: skip

# Text a reader can return: any character but NUL and lone surrogates.
any_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=40,
)
cell = st.one_of(st.sampled_from(NEAR_VALID), any_text)
# Cells as the XLSX reader returns them: typed, or None when empty.
typed_cell = st.one_of(
    cell, st.none(), st.booleans(), st.integers(), st.floats(), st.dates(), st.datetimes(),
    st.times(), st.timedeltas(), st.builds(FormulaWithoutValue, formula=st.just("=A1+1")),
)


class RowsTable(Table):
    """A table of generated rows, read as a CSV reader would return them."""

    format = "csv"

    def __init__(self, header: list[str], rows: list[list[str]]) -> None:
        self.path = Path("generated.csv")
        self.header = header
        self._rows = rows

    def rows_iter(self) -> Iterator[RawRow]:
        for index, cells in enumerate(self._rows):
            yield RawRow(number=index + 2, cells=list(cells))


@pytest.fixture
def catalog(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    SerializedProductFactory(sku="PHN-1")
    return back_office_user()


def _rows(kind: str, cells=cell):
    width = len(KIND_FIELDS[kind])
    return st.lists(st.lists(cells, min_size=width, max_size=width), min_size=1, max_size=12)


def _validated(kind: str, actor, rows: list[list[str]]):
    """Parse and validate the generated rows; return the job and the result, None when formats conflict."""
    job = ImportJobFactory(kind=kind, created_by=actor, status=ImportStatus.VALIDATING)
    handler = handler_for_job(job)
    table = RowsTable([spec.name for spec in KIND_FIELDS[kind]], rows)
    handler.columns_bind(table)
    for raw in table.rows_iter():
        handler.observe(raw)
    try:
        handler.formats_decide()
    except ImportFileError:
        return job, None
    return job, handler.validate_chunk(list(table.rows_iter()))


@pytest.mark.parametrize("kind", ImportKind.values)
def test_validation_of_any_cells_gives_row_errors_only(catalog, kind):
    @PROPERTY_SETTINGS
    @given(rows=_rows(kind, typed_cell))
    def check(rows):
        _job, result = _validated(kind, catalog, rows)
        if result is None:
            return
        bad_rows = {error.row_number for error in result.errors}

        assert result.rows_ok + result.rows_bad == len(rows)
        assert len(result.staged) == result.rows_ok
        assert len(bad_rows) == result.rows_bad
        assert bad_rows <= set(range(2, len(rows) + 2))
        for error in result.errors:
            assert error.message
            assert len(error.cells) == len(rows[error.row_number - 2])
            assert len(error.value) <= 500

    check()


def _report_rows(client, job: ImportJob) -> list[list[str]]:
    """Download the job's error report and split it into rows of cells."""
    response = client.get(f"/api/imports/{job.task_id}/errors.csv")
    assert response.status_code == 200

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    text = asyncio.run(collect()).decode("utf-8")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def _neutralisation_undone(text: str) -> str:
    """Return a report cell as it was in the file, for cells that did not start with an apostrophe."""
    if text.startswith("'") and csv_safe_cell(text[1:]) == text:
        return text[1:]
    return text


# The report's queries run on another thread, so the rows are committed.
@pytest.mark.django_db(transaction=True)
def test_error_report_gives_back_bad_rows_cells(client, catalog):
    client.force_login(catalog)

    @PROPERTY_SETTINGS
    @given(rows=_rows(ImportKind.STOCK))
    def check(rows):
        job, result = _validated(ImportKind.STOCK, catalog, rows)
        if result is None or not result.errors:
            return
        ImportRowError.objects.bulk_create(result.errors)
        header = [spec.name for spec in KIND_FIELDS[ImportKind.STOCK]]
        job.summary = {"header": header}
        job.status = ImportStatus.DONE
        job.rows_bad = result.rows_bad
        job.save()

        report = _report_rows(client, job)
        first_error_of_row = {}
        for line in report[1:]:
            first_error_of_row.setdefault(int(line[0]), line[len(REPORT_COLUMNS):])

        assert report[0] == REPORT_COLUMNS + header
        assert set(first_error_of_row) == {error.row_number for error in result.errors}
        for row_number, cells in first_error_of_row.items():
            original = rows[row_number - 2]
            assert cells == [csv_safe_cell(value) for value in original]
            restored = [_neutralisation_undone(value) for value in cells]
            assert [
                value for value, before in zip(restored, original) if not before.startswith("'")
            ] == [before for before in original if not before.startswith("'")]

    check()
