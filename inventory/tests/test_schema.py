"""The ledger's indexes on MySQL and MariaDB: each one serves a query, none repeats another."""

import pytest
from django.db import connection

from inventory.models import StockMovement

pytestmark = pytest.mark.django_db


def _index_columns() -> dict[str, tuple[str, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s ORDER BY INDEX_NAME, SEQ_IN_INDEX",
            [StockMovement._meta.db_table],
        )
        columns: dict[str, tuple[str, ...]] = {}
        for name, column in cursor.fetchall():
            columns[name] = columns.get(name, ()) + (column,)
    return columns


def test_ledger_indexes_not_prefix_of_another():
    if connection.vendor != "mysql":
        pytest.skip("reads MySQL's and MariaDB's information_schema")
    columns = _index_columns()

    # A non-unique index whose columns begin another index only slows every ledger insert.
    repeated = sorted(
        name for name, own in columns.items()
        if name != "PRIMARY" and any(
            other != name and len(longer) > len(own) and longer[:len(own)] == own
            for other, longer in columns.items()
        )
    )
    assert repeated == []
    assert columns["movement_store_created_idx"][0] == "store_id"
