"""Migrations of the imports app that move rows, run forward and back on the test database."""

import datetime
from decimal import Decimal

import pytest

from inventory.tests.migration_steps import latest_migration, migrate_to

pytestmark = pytest.mark.django_db(transaction=True)

ID_KEY = ("imports", "0004_staged_rows_without_job_constraint")
JOB_ROW_KEY = ("imports", "0005_staged_rows_keyed_by_job_and_row")


def _staged_rows_add(apps) -> None:
    apps.get_model("imports", "StagedStock").objects.bulk_create([
        apps.get_model("imports", "StagedStock")(
            job_id=7, row_number=2, store_id=1, product_id=3, serial="", quantity=5, status="",
        ),
        apps.get_model("imports", "StagedStock")(
            job_id=7, row_number=3, store_id=1, product_id=4, serial="356938035643809",
            quantity=1, status="in_stock", unit_cost=Decimal("199.00"),
            received_at=datetime.date(2026, 11, 2),
        ),
    ])
    apps.get_model("imports", "StagedSale").objects.create(
        job_id=8, row_number=2, store_id=1, receipt="R-1", position=1,
        sold_at=datetime.datetime(2026, 11, 3, 10, 0, tzinfo=datetime.UTC), product_id=3,
        quantity=2, unit_price=Decimal("9.99"), discount=Decimal("0"), payment_method="cash",
    )


def _stock_rows(apps) -> list[tuple]:
    return list(
        apps.get_model("imports", "StagedStock").objects.order_by("row_number").values_list(
            "job_id", "row_number", "serial", "quantity", "unit_cost", "received_at"
        )
    )


EXPECTED_STOCK = [
    (7, 2, "", 5, None, None),
    (7, 3, "356938035643809", 1, Decimal("199.00"), datetime.date(2026, 11, 2)),
]


def test_rebuild_keeps_staged_rows():
    _staged_rows_add(migrate_to(ID_KEY))

    try:
        apps = migrate_to(JOB_ROW_KEY)
        stock = _stock_rows(apps)
        sale_keys = list(apps.get_model("imports", "StagedSale").objects.values_list("pk", flat=True))
    finally:
        migrate_to(latest_migration("imports"))

    assert stock == EXPECTED_STOCK
    assert sale_keys == [(8, 2)]


def test_reverse_rebuild_keeps_staged_rows():
    _staged_rows_add(migrate_to(JOB_ROW_KEY))

    try:
        apps = migrate_to(ID_KEY)
        stock = _stock_rows(apps)
        ids = list(apps.get_model("imports", "StagedStock").objects.values_list("id", flat=True))
        sales = apps.get_model("imports", "StagedSale").objects.count()
    finally:
        migrate_to(latest_migration("imports"))

    assert stock == EXPECTED_STOCK
    assert len(set(ids)) == 2
    assert sales == 1
