"""Stock count finalizing in chunks: chunk retries, serials across chunks, existing stock."""

import pytest
from django.db import IntegrityError, connection

from imports.models import ImportStatus
from imports.pipeline import live_writes
from imports.pipeline.kinds import stock, stock_totals
from imports.tests.helpers import error_rows, import_run
from inventory.models import MovementKind, Product, SerialStatus, SerialUnit, StockLevel, StockMovement
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
set_based_only = pytest.mark.skipif(
    connection.vendor != "mysql", reason="plain totals are applied by set-based SQL on MySQL and MariaDB"
)
portable_only = pytest.mark.skipif(
    connection.vendor == "mysql", reason="MySQL and MariaDB apply plain totals by set-based SQL"
)


def _count_file(tmp_path, body: str):
    path = tmp_path / "count.csv"
    path.write_text("store,sku,serial,qty,status\n" + body)
    return path


@portable_only
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


@set_based_only
def test_sql_chunk_retried_after_level_created(tmp_path, monkeypatch):
    store = StoreFactory(code="S001")
    accessory = ProductFactory(sku="ACC-1")
    ProductFactory(sku="ACC-2")
    path = _count_file(tmp_path, "S001,ACC-1,,4,\nS001,ACC-2,,0,\nS001,ACC-1,,3,\n")
    real_lock = stock_totals.PlainTotals._levels_lock
    real_write = stock.StockHandler._plain_sql_chunk_write
    attempts = []

    def write_recording(self, totals, after, last, size, insert_missing, *args):
        attempts.append(insert_missing)
        return real_write(self, totals, after, last, size, insert_missing, *args)

    def lock_then_level_appears(self, bounds):
        locked = real_lock(self, bounds)
        if len(attempts) == 1:
            # What a sale committing its new level between the lock and the insert does;
            # the rollback of the chunk removes it again.
            StockLevel.objects.create(store=store, product=accessory, on_hand=5)
        return locked

    monkeypatch.setattr(stock.StockHandler, "_plain_sql_chunk_write", write_recording)
    monkeypatch.setattr(stock_totals.PlainTotals, "_levels_lock", lock_then_level_appears)

    job = import_run(path, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE
    assert attempts == [False, True]
    assert StockLevel.objects.get(store=store, product=accessory).on_hand == 7
    assert StockLevel.objects.get(store=store, product__sku="ACC-2").on_hand == 0
    movement = StockMovement.objects.get(product=accessory)
    assert (movement.before, movement.after, movement.import_row) == (0, 7, 2)
    assert StockMovement.objects.filter(product__sku="ACC-2").count() == 0
    assert job.checkpoint["plain_after"] == [store.pk, Product.objects.get(sku="ACC-2").pk]


def test_count_updates_existing_levels_ledger(tmp_path, monkeypatch):
    store = StoreFactory(code="S001")
    unchanged, raised, lowered, new = (ProductFactory(sku=f"ACC-{n}") for n in range(1, 5))
    StockLevelFactory(store=store, product=unchanged, on_hand=6)
    StockLevelFactory(store=store, product=raised, on_hand=2)
    StockLevelFactory(store=store, product=lowered, on_hand=9, inbound=3)
    path = _count_file(
        tmp_path, "S001,ACC-1,,6,\nS001,ACC-2,,5,\nS001,ACC-3,,1,\nS001,ACC-4,,0,\nS001,ACC-2,,1,\n"
    )
    # Chunks of two pairs, so the count spans chunks and resumes from each checkpoint.
    monkeypatch.setattr(stock, "PLAIN_SQL_CHUNK", 2)
    monkeypatch.setattr(stock, "FINALIZE_CHUNK", 2)

    job = import_run(path, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE
    levels = dict(StockLevel.objects.filter(store=store).values_list("product__sku", "on_hand"))
    assert levels == {"ACC-1": 6, "ACC-2": 6, "ACC-3": 1, "ACC-4": 0}
    assert StockLevel.objects.get(store=store, product=lowered).inbound == 3
    ledger = sorted(
        StockMovement.objects.values_list("product__sku", "quantity", "before", "after", "import_row")
    )
    assert ledger == [("ACC-2", 4, 2, 6, 3), ("ACC-3", -8, 9, 1, 4)]
    assert job.summary["levels_changed"] == 2
    assert job.summary["lines_combined"] == 1


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
        .values_list("store__code", "serial_unit__serial", "quantity", "before", "after",
                     "import_row")
    )
    assert changes == [("S001", IMEI_1, -1, 1, 0, 2), ("S002", IMEI_1, 1, 0, 1, 2)]


def test_serial_ledger_follows_row_order(tmp_path):
    old_store = StoreFactory(code="S001")
    new_store = StoreFactory(code="S002")
    phone = SerializedProductFactory(sku="PHN-1")
    SerialUnitFactory(serial=IMEI_1, product=phone, store=old_store)
    StockLevelFactory(store=old_store, product=phone, on_hand=1)
    imei_3 = imei_with_check_digit("35000000000003")
    path = _count_file(
        tmp_path,
        f"S002,PHN-1,{IMEI_2},,\nS001,PHN-1,{imei_3},,reserved\nS002,PHN-1,{IMEI_1},,\n",
    )

    job = import_run(path, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE
    ledger = list(
        StockMovement.objects.order_by("import_row", "quantity")
        .values_list("store__code", "serial_unit__serial", "quantity", "before", "after",
                     "import_row")
    )
    assert ledger == [
        ("S002", IMEI_2, 1, 0, 1, 2),
        ("S001", imei_3, 1, 1, 2, 3),
        ("S001", IMEI_1, -1, 2, 1, 4),
        ("S002", IMEI_1, 1, 1, 2, 4),
    ]
    assert StockLevel.objects.get(store=old_store, product=phone).on_hand == 1
    assert StockLevel.objects.get(store=new_store, product=phone).on_hand == 2
    assert SerialUnit.objects.get(serial=imei_3).status == "reserved"
    assert job.summary["units_imported"] == 3


def test_unit_sold_meanwhile_reported(tmp_path, monkeypatch):
    store = StoreFactory(code="S001")
    phone = SerializedProductFactory(sku="PHN-1")
    unit = SerialUnitFactory(serial=IMEI_1, product=phone, store=store)
    StockLevelFactory(store=store, product=phone, on_hand=1)
    path = _count_file(tmp_path, f"S001,PHN-1,{IMEI_1},,damaged\nS001,PHN-1,{IMEI_2},,\n")
    real_finalize = stock.StockHandler.finalize

    def finalize_after_sale(self, **kwargs):
        SerialUnit.objects.filter(pk=unit.pk).update(status=SerialStatus.SOLD)
        StockLevel.objects.filter(store=store, product=phone).update(on_hand=0)
        real_finalize(self, **kwargs)

    monkeypatch.setattr(stock.StockHandler, "finalize", finalize_after_sale)

    job = import_run(path, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE
    assert (job.rows_ok, job.rows_bad) == (1, 1)
    assert error_rows(job) == {2: ["serial_sold"]}
    unit.refresh_from_db()
    assert unit.status == SerialStatus.SOLD
    assert StockLevel.objects.get(store=store, product=phone).on_hand == 1
    assert list(
        StockMovement.objects.values_list("serial_unit__serial", "quantity", "before", "after",
                                          "import_row")
    ) == [(IMEI_2, 1, 0, 1, 3)]


def test_unit_leaving_empty_level_clamped(tmp_path):
    old_store = StoreFactory(code="S001")
    new_store = StoreFactory(code="S002")
    phone = SerializedProductFactory(sku="PHN-1")
    SerialUnitFactory(serial=IMEI_1, product=phone, store=old_store)
    StockLevelFactory(store=old_store, product=phone, on_hand=0)
    path = _count_file(tmp_path, f"S002,PHN-1,{IMEI_1},,\n")

    job = import_run(path, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE
    assert job.summary["levels_clamped"] == 1
    assert StockLevel.objects.get(store=old_store, product=phone).on_hand == 0
    assert StockLevel.objects.get(store=new_store, product=phone).on_hand == 1
    assert list(StockMovement.objects.values_list("store__code", "quantity", "before", "after")) == [
        ("S002", 1, 0, 1)
    ]


@set_based_only
@pytest.mark.django_db(transaction=True)
def test_serials_join_units_of_other_collation(tmp_path):
    store = StoreFactory(code="S001")
    phone = SerializedProductFactory(sku="PHN-1")
    SerialUnitFactory(serial=IMEI_1, product=phone, store=store)
    path = _count_file(tmp_path, f"S001,PHN-1,{IMEI_1},,\nS001,PHN-1,{IMEI_2},,\n")
    table = connection.ops.quote_name(SerialUnit._meta.db_table)
    # A database upgraded from a server with another default collation keeps its old
    # tables' collation, unlike the tables this job creates.
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} MODIFY serial VARCHAR(64) "
                       "CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL")
    try:
        job = import_run(path, kind="stock", user=back_office_user())
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} MODIFY serial VARCHAR(64) "
                           "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL")

    assert job.status == ImportStatus.DONE, job.failure_reason
    assert set(SerialUnit.objects.values_list("serial", flat=True)) == {IMEI_1, IMEI_2}
    assert StockLevel.objects.get(store=store, product=phone).on_hand == 1
