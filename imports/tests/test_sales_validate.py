"""Sales rows validate the same on the column path as cell by cell."""

import pytest

from imports.pipeline.kinds import sales
from imports.tests.helpers import import_run
from inventory.models import SaleLine
from inventory.tests.factories import ProductFactory, SerialUnitFactory, StoreFactory, back_office_user

pytestmark = pytest.mark.django_db

ROWS = (
    "receipt,sold_at,store,sku,serial,qty,unit_price,discount,payment_method\n"
    "R-1,2026-03-02 10:00,S001,ACC-1,,2,5.00,,\n"
    "R-1,2026-03-02 10:00,S001,ACC-1,,-1,5.00,0.50,card\n"
    "R-2,2026-03-02 11:00,,ACC-1,,1,5.00,0,cash\n"
    "R-3,2026-03-02 12:00,S001,,358984206643275,1,199.00,0,Visa\n"
    "R-4,2026-03-02 12:30,S001,ACC-1,,0,5.00,0,cash\n"
    "R-5,2026-03-02 13:00,S001,ACC-1,,1,-5.00,0,cash\n"
    "R-6,2026-03-02 13:30,S001,ACC-1,,1,5.00,-1,cash\n"
    "R-7,2026-03-02 14:00,S001,,,1,5.00,0,cash\n"
    ",2026-03-02 14:30,S001,ACC-1,,1,5.00,0,cash\n"
    "R-9,,S001,ACC-1,,1,5.00,0,cash\n"
    "R-10,2026-03-02 15:00,S001,ACC-1,,x,5.00,0,cash\n"
    "R-11,2026-03-02 15:30,S001,ACC-1,,1,,0,cash\n"
    "R-12,2026-03-02 16:00,S001,NOPE-1,,1,5.00,0,cash\n"
    "R-13,2026-03-02 16:30,S999,ACC-1,,1,5.00,0,cash\n"
    "R-14,2026-03-02 17:00,S001,ACC-1,,1,5.00,0,cheque\n"
    "R-15,2026-03-02 17:30,S001,ACC-1,,1,5.00,9.00,cash\n"
    "R-16,2026-03-02 18:00,S001,ACC-1,999999999999999,1,5.00,0,cash\n"
)


def _outcome(tmp_path) -> tuple:
    path = tmp_path / "sales.csv"
    path.write_text(ROWS)
    job = import_run(path, kind="sales", user=back_office_user(), default_store="S001")
    errors = list(job.row_errors.order_by("row_number", "id").values_list(
        "row_number", "column", "value", "code", "message"))
    lines = sorted(SaleLine.objects.values_list(
        "sale__receipt_number", "position", "product__sku", "serial_unit__serial", "quantity",
        "unit_price", "discount", "line_total", "sale__payment_method"))
    return job.rows_ok, job.rows_bad, errors, lines


@pytest.fixture
def catalog():
    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    SerialUnitFactory(serial="358984206643275")


def test_column_path_matches_cell_path(tmp_path, catalog, monkeypatch):
    fast = _outcome(tmp_path)
    SaleLine.objects.all().delete()
    monkeypatch.setattr(sales, "_values_if_valid", lambda outcomes: None)

    slow = _outcome(tmp_path)

    assert fast == slow
    assert fast[0] == 4
    assert fast[1] == 13
