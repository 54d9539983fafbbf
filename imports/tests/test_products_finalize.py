"""Product imports finalizing SKU by SKU: the last row of a SKU wins, across chunks and resumes."""

import pytest
from django.db import InterfaceError

from imports.models import ImportStatus
from imports.pipeline.kinds import products
from imports.tests.helpers import import_run
from inventory.models import Product
from inventory.tests.factories import ProductFactory, back_office_user

pytestmark = pytest.mark.django_db

# SKUs out of order, each but ZED-1 listed twice with its later name last.
ROWS = (
    "sku,name\n"
    "MID-1,Cable old\n"
    "ZED-1,Zed\n"
    "ACC-1,Case old\n"
    "BAT-1,Battery\n"
    "MID-1,Cable\n"
    "ACC-1,Case\n"
    "BAT-1,Battery pack\n"
)


def _products_file(tmp_path, *, alias_column: bool = False):
    """Write ROWS to a file, with an 'article' column that the summary notes if ``alias_column``."""
    text = ROWS
    if alias_column:
        text = "".join(line + (",article\n" if number == 0 else ",A\n")
                       for number, line in enumerate(ROWS.splitlines()))
    path = tmp_path / "products.csv"
    path.write_text(text)
    return path


def _names() -> dict[str, str]:
    return dict(Product.objects.values_list("sku", "name"))


def test_last_row_wins_across_chunks(tmp_path, monkeypatch):
    ProductFactory(sku="ACC-1", name="Case older")
    monkeypatch.setattr(products, "FINALIZE_CHUNK", 2)

    job = import_run(_products_file(tmp_path), kind="products", user=back_office_user())

    assert job.status == ImportStatus.DONE
    assert _names() == {"ACC-1": "Case", "BAT-1": "Battery pack", "MID-1": "Cable", "ZED-1": "Zed"}
    assert job.summary["products_created"] == 3
    assert job.summary["products_updated"] == 1
    assert job.checkpoint["sku_after"] == "ZED-1"
    assert job.pct == 100.0


def test_resume_skips_applied_skus(tmp_path, monkeypatch):
    monkeypatch.setattr(products, "FINALIZE_CHUNK", 2)
    # The retry after a lost connection runs in this test's transaction, which must stay open.
    monkeypatch.setattr("imports.pipeline.runner.connection_drop", lambda: None)
    monkeypatch.setattr("imports.pipeline.runner.time.sleep", lambda seconds: None)
    real_apply = products.ProductsHandler._chunk_apply
    chunks: list[list[str]] = []

    def apply_losing_connection_once(self, rows, *, sku_after):
        chunks.append(sorted(row.sku for row in rows))
        if len(chunks) == 2:
            raise InterfaceError("connection already closed")
        real_apply(self, rows, sku_after=sku_after)

    monkeypatch.setattr(products.ProductsHandler, "_chunk_apply", apply_losing_connection_once)

    job = import_run(
        _products_file(tmp_path, alias_column=True), kind="products", user=back_office_user()
    )

    assert job.status == ImportStatus.DONE
    assert chunks == [["ACC-1", "BAT-1"], ["MID-1", "ZED-1"], ["MID-1", "ZED-1"]]
    assert _names() == {"ACC-1": "Case", "BAT-1": "Battery pack", "MID-1": "Cable", "ZED-1": "Zed"}
    assert job.rows_done == 4
    # The counts of the chunk before the lost connection, and of validation, are kept.
    assert job.summary["products_created"] == 4
    assert job.summary["products_updated"] == 0
    assert job.summary["rows_repeating_sku"] == 3
    assert job.summary["notes"] == [
        "Column C ('article') was not imported as sku because column A is named sku."
    ]
