"""Sales history imported again: changed lines are updated in place, unchanged ones kept."""

from decimal import Decimal

import pytest

from imports.models import ImportStatus
from imports.tests.helpers import import_run
from inventory.models import Sale, SaleLine
from inventory.tests.factories import ProductFactory, StoreFactory, back_office_user

pytestmark = pytest.mark.django_db

HEADER = "receipt,sold_at,store,sku,qty,unit_price,discount,payment_method\n"


@pytest.fixture
def catalog():
    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    ProductFactory(sku="ACC-2")
    ProductFactory(sku="ACC-3")


def _lines(receipt: str) -> list[tuple]:
    return list(
        SaleLine.objects.filter(sale__receipt_number=receipt).order_by("position").values_list(
            "position", "product__sku", "quantity", "unit_price", "discount", "line_total"
        )
    )


def test_changed_lines_updated_in_place(tmp_path, catalog):
    first = tmp_path / "day.csv"
    first.write_text(
        HEADER
        + "R-1,2026-03-02 10:00,S001,ACC-1,2,5.00,0,cash\n"
        + "R-1,2026-03-02 10:00,S001,ACC-2,1,9.50,0,cash\n"
        + "R-2,2026-03-02 11:00,S001,ACC-3,-1,4.00,0,cash\n"
    )
    second = tmp_path / "day-fixed.csv"
    second.write_text(
        HEADER
        + "R-1,2026-03-02 10:00,S001,ACC-1,3,5.00,1.00,cash\n"
        + "R-1,2026-03-02 10:00,S001,ACC-3,1,9.50,0,cash\n"
        + "R-2,2026-03-02 11:00,S001,ACC-3,-1,4.00,0,cash\n"
    )
    user = back_office_user()
    import_run(first, kind="sales", user=user)
    line_ids = dict(SaleLine.objects.values_list("position", "id").filter(sale__receipt_number="R-1"))

    job = import_run(second, kind="sales", user=user)

    assert job.status == ImportStatus.DONE
    assert job.summary["lines_updated"] == 2
    assert job.summary["lines_created"] == 0
    assert job.summary["lines_removed"] == 0
    assert _lines("R-1") == [
        (1, "ACC-1", 3, Decimal("5.00"), Decimal("1.00"), Decimal("14.00")),
        (2, "ACC-3", 1, Decimal("9.50"), Decimal("0.00"), Decimal("9.50")),
    ]
    assert dict(SaleLine.objects.values_list("position", "id").filter(sale__receipt_number="R-1")) == line_ids
    assert Sale.objects.get(receipt_number="R-1").total == Decimal("23.50")
    assert _lines("R-2") == [(1, "ACC-3", -1, Decimal("4.00"), Decimal("0.00"), Decimal("-4.00"))]


def test_same_file_again_changes_nothing(tmp_path, catalog):
    path = tmp_path / "day.csv"
    path.write_text(
        HEADER
        + "R-1,2026-03-02 10:00,S001,ACC-1,2,5.00,0.50,card\n"
        + "R-1,2026-03-02 10:00,S001,ACC-2,-1,9.50,0,card\n"
    )
    user = back_office_user()
    import_run(path, kind="sales", user=user)
    before = _lines("R-1")

    job = import_run(path, kind="sales", user=user)

    assert job.status == ImportStatus.DONE
    assert job.summary["sales_created"] == 0
    assert job.summary["lines_created"] == 0
    assert job.summary["lines_updated"] == 0
    assert job.summary["lines_removed"] == 0
    assert _lines("R-1") == before
    assert Sale.objects.get(receipt_number="R-1").total == Decimal("0.00")
