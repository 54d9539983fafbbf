"""Stock count finalizing in chunks: chunk retries, serials across chunks, existing stock."""

import pytest
from django.db import IntegrityError

from imports.models import ImportStatus
from imports.pipeline import live_writes
from imports.pipeline.kinds import stock
from imports.tests.helpers import error_rows, import_run
from inventory.models import MovementKind, SerialUnit, StockLevel, StockMovement
from inventory.tests.factories import (
    ProductFactory,
    SerializedProductFactory,
    SerialUnitFactory,
    StockLevelFactory,
    StoreFactory,
    back_office_user,
)
from ops_portal.imei import imei_with_check_digit

pytestmark = pytest.mark.django_db

IMEI_1 = imei_with_check_digit("35000000000001")
IMEI_2 = imei_with_check_digit("35000000000002")


def _count_file(tmp_path, body: str):
    path = tmp_path / "count.csv"
    path.write_text("store,sku,serial,qty,status\n" + body)
    return path


def test_chunk_retried_after_concurrent_level_insert(tmp_path, monkeypatch):
    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    ProductFactory(sku="ACC-2")
    path = _count_file(tmp_path, "S001,ACC-1,,4,\nS001,ACC-2,,0,\nS001,ACC-1,,3,\n")
    real_levels_save = live_writes.levels_save
    calls = []

    def levels_save_failing_once(levels):
        calls.append([level.id for level in levels])
        if len(calls) == 1:
            raise IntegrityError("duplicate entry for the level another transaction created")
        real_levels_save(levels)

    monkeypatch.setattr(stock, "levels_save", levels_save_failing_once)

    job = import_run(path, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE
    assert len(calls) == 2
    assert calls[0] == [None, None]
    assert None not in calls[1]
    assert StockLevel.objects.get(store__code="S001", product__sku="ACC-1").on_hand == 7
    assert StockLevel.objects.get(store__code="S001", product__sku="ACC-2").on_hand == 0
    movement = StockMovement.objects.get(product__sku="ACC-1")
    assert (movement.before, movement.after, movement.import_row) == (0, 7, 2)
    assert StockMovement.objects.filter(product__sku="ACC-2").count() == 0


def test_serial_repeated_in_later_chunk_rejected(tmp_path, monkeypatch):
    StoreFactory(code="S001")
    SerializedProductFactory(sku="PHN-1")
    path = _count_file(
        tmp_path, f"S001,PHN-1,{IMEI_1},,\nS001,PHN-1,{IMEI_2},,\nS001,PHN-1,{IMEI_1},,\n"
    )
    monkeypatch.setattr("imports.pipeline.runner.VALIDATE_CHUNK_ROWS", 2)

    job = import_run(path, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE
    assert (job.rows_ok, job.rows_bad) == (2, 1)
    assert error_rows(job) == {4: ["serial_duplicate"]}
    error = job.row_errors.get()
    assert "row 2 lists it first" in error.message
    assert SerialUnit.objects.count() == 2


def test_count_moves_existing_unit_and_sets_levels(tmp_path):
    old_store = StoreFactory(code="S001")
    new_store = StoreFactory(code="S002")
    phone = SerializedProductFactory(sku="PHN-1")
    accessory = ProductFactory(sku="ACC-1")
    unit = SerialUnitFactory(serial=IMEI_1, product=phone, store=old_store)
    StockLevelFactory(store=old_store, product=phone, on_hand=1)
    StockLevelFactory(store=old_store, product=accessory, on_hand=9)
    path = _count_file(tmp_path, f"S002,PHN-1,{IMEI_1},,\nS001,ACC-1,,9,\n")

    job = import_run(path, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE
    unit.refresh_from_db()
    assert unit.store == new_store
    assert StockLevel.objects.get(store=old_store, product=phone).on_hand == 0
    assert StockLevel.objects.get(store=new_store, product=phone).on_hand == 1
    assert StockLevel.objects.get(store=old_store, product=accessory).on_hand == 9
    changes = sorted(
        StockMovement.objects.filter(kind=MovementKind.IMPORT_ADJUSTMENT)
        .values_list("store__code", "quantity", "before", "after", "import_row")
    )
    assert changes == [("S001", -1, 1, 0, 2), ("S002", 1, 0, 1, 2)]
