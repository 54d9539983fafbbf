"""The import benchmark's checks of the retail file's outcome, which stop a wrong run."""

import pytest
from django.core.management.base import CommandError

from imports.management.commands.bench_imports import _retail_outcome_check, _retail_report
from imports.models import ImportJob, ImportKind


def _job(kind: str, ok: int, bad: int, **summary) -> ImportJob:
    return ImportJob(kind=kind, rows_total=200_000, rows_ok=ok, rows_bad=bad, summary=summary)


def test_retail_check_passes_unchanged_second_import():
    products = _job(ImportKind.PRODUCTS, 199_210, 790, products_created=3_312)
    sales = _job(ImportKind.SALES, 198_808, 1_192, lines_created=198_808)
    again = _job(ImportKind.SALES, 198_808, 1_192, lines_created=0, lines_updated=0)

    _retail_outcome_check(products, sales, again)


def test_retail_check_rejects_lost_rows():
    products = _job(ImportKind.PRODUCTS, 199_000, 790)
    sales = _job(ImportKind.SALES, 198_808, 1_192)

    with pytest.raises(CommandError, match="199000 good and 790 bad rows of 200000"):
        _retail_outcome_check(products, sales, sales)


@pytest.mark.parametrize("change", ["sales_created", "lines_created", "lines_updated", "lines_removed"])
def test_retail_check_rejects_second_import_change(change):
    products = _job(ImportKind.PRODUCTS, 199_210, 790)
    sales = _job(ImportKind.SALES, 198_808, 1_192)
    again = _job(ImportKind.SALES, 198_808, 1_192, **{change: 1})

    with pytest.raises(CommandError, match=f"'{change}': 1"):
        _retail_outcome_check(products, sales, again)


def test_retail_check_rejects_other_row_counts():
    products = _job(ImportKind.PRODUCTS, 199_210, 790)
    sales = _job(ImportKind.SALES, 198_808, 1_192)
    again = _job(ImportKind.SALES, 198_807, 1_193)

    with pytest.raises(CommandError, match="198807 good, 1193 bad"):
        _retail_outcome_check(products, sales, again)


def test_retail_report_says_why_file_missing():
    reason = "Not measured: the file was missing at `/data/online-retail/x.csv`."

    assert _retail_report(reason) == [reason]
