"""A stock count's plain pairs and serial rows applied at once on two connections.

A worker outside any transaction finalizes a count this way on MySQL and MariaDB. These
tests run outside the test transaction too, so both connections see the same rows.
"""

import threading

import pytest
from django.db import InterfaceError, connection

from imports.errors import ImportErrorCode
from imports.models import ImportJob, ImportStatus
from imports.pipeline.kinds import stock, stock_serials, stock_totals
from imports.tests.helpers import import_run
from inventory.models import Product, SerialUnit, StockLevel, StockMovement
from inventory.tests.factories import (
    ProductFactory,
    SerializedProductFactory,
    SerialUnitFactory,
    StockLevelFactory,
    StoreFactory,
    back_office_user,
)
from ops_portal.imei import imei_with_check_digit

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "mysql",
        reason="only MySQL and MariaDB apply plain pairs and serial rows on two connections",
    ),
]

SERIALS = [imei_with_check_digit(f"3500000000{number:04d}") for number in range(1, 9)]


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of two pairs and two serial rows, so each side commits several checkpoints."""
    monkeypatch.setattr(stock, "PLAIN_SQL_CHUNK", 2)
    monkeypatch.setattr(stock, "SERIAL_SQL_CHUNK", 2)


@pytest.fixture
def count_file(tmp_path):
    """A count of six plain pairs (one listed twice) and eight serial rows, interleaved."""
    StoreFactory(code="S001")
    StoreFactory(code="S002")
    for number in range(1, 7):
        ProductFactory(sku=f"ACC-{number}")
    SerializedProductFactory(sku="PHN-1")
    lines = []
    for number in range(1, 7):
        lines.append(f"S001,ACC-{number},,{number},")
        lines.append(f"S002,PHN-1,{SERIALS[number - 1]},,")
    lines += [f"S001,PHN-1,{SERIALS[6]},,", f"S001,PHN-1,{SERIALS[7]},,reserved", "S001,ACC-1,,10,"]
    path = tmp_path / "count.csv"
    path.write_text("store,sku,serial,qty,status\n" + "\n".join(lines) + "\n")
    return path


def test_count_applied_side_by_side(count_file, small_chunks, monkeypatch):
    phone = Product.objects.get(sku="PHN-1")
    old_store = StoreFactory(code="S003")
    moved = SerialUnitFactory(serial=SERIALS[0], product=phone, store=old_store)
    StockLevelFactory(store=old_store, product=phone, on_hand=1)
    threads = set()
    original = stock_serials.SerialChunks.chunk_apply

    def chunk_apply(self, **kwargs):
        threads.add(threading.current_thread().name)
        return original(self, **kwargs)

    monkeypatch.setattr(stock_serials.SerialChunks, "chunk_apply", chunk_apply)

    job = import_run(count_file, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE, job.failure_reason
    assert threads and all(name.startswith("finalize-serials") for name in threads)
    assert (job.rows_done, job.pct) == (6 + 8, 100)
    levels = dict(
        StockLevel.objects.filter(store__code="S001").values_list("product__sku", "on_hand")
    )
    assert levels == {"ACC-1": 11, "ACC-2": 2, "ACC-3": 3, "ACC-4": 4, "ACC-5": 5, "ACC-6": 6,
                      "PHN-1": 2}
    assert StockLevel.objects.get(store__code="S002", product=phone).on_hand == 6
    assert StockLevel.objects.get(store=old_store, product=phone).on_hand == 0
    moved.refresh_from_db()
    assert moved.store.code == "S002"
    assert SerialUnit.objects.get(serial=SERIALS[7]).status == "reserved"
    # One ledger row per level change: 6 plain pairs, 8 units entering an on-hand and
    # the moved unit leaving its old store.
    assert StockMovement.objects.filter(import_job_id=job.pk).count() == 6 + 8 + 1
    left = StockMovement.objects.get(import_job_id=job.pk, store=old_store)
    assert (left.quantity, left.before, left.after, left.import_row) == (-1, 1, 0, 3)
    # Each side's checkpoint survived the other's writes.
    last_pair = StockLevel.objects.get(store__code="S001", product__sku="ACC-6")
    assert job.checkpoint["plain_after"] == [last_pair.store_id, last_pair.product_id]
    assert job.checkpoint["serial_after"] == 15
    assert job.summary["units_imported"] == 8
    assert job.summary["levels_changed"] == 6


def test_serial_error_stops_plain_side(count_file, small_chunks, monkeypatch):
    serial_calls = []
    serial_failed = threading.Event()
    original = stock_serials.SerialChunks.chunk_apply

    def chunk_apply(self, **kwargs):
        serial_calls.append(threading.current_thread().name)
        if len(serial_calls) == 2:
            serial_failed.set()
            raise RuntimeError("serial chunk failed")
        return original(self, **kwargs)

    plain_calls = []
    plain_original = stock_totals.PlainTotals.chunk_apply

    def plain_chunk_apply(self, **kwargs):
        # The first plain chunk starts once the serial side has failed.
        serial_failed.wait(10)
        plain_calls.append(kwargs["last"])
        return plain_original(self, **kwargs)

    monkeypatch.setattr(stock_serials.SerialChunks, "chunk_apply", chunk_apply)
    monkeypatch.setattr(stock_totals.PlainTotals, "chunk_apply", plain_chunk_apply)

    job = import_run(count_file, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.FAILED
    assert job.failure_code == ImportErrorCode.WORKER_FAULT
    # The serial side committed its first chunk (rows 3 and 5); the plain side stopped
    # before its last of three chunks.
    assert job.checkpoint["serial_after"] == 5
    assert 1 <= len(plain_calls) < 3
    ledger = StockMovement.objects.filter(import_job_id=job.pk)
    assert ledger.filter(product__sku="PHN-1").count() == 2
    assert ledger.filter(product__sku__startswith="ACC").count() == 2 * len(plain_calls)


class RecordedEvent(threading.Event):
    """A threading.Event that records its instances, so a test can wait on the stop flag."""

    instances: list["RecordedEvent"] = []

    def __init__(self) -> None:
        super().__init__()
        self.instances.append(self)


def test_cancel_stops_both_sides(count_file, small_chunks, monkeypatch):
    RecordedEvent.instances = []
    monkeypatch.setattr(stock, "threading", type("Threading", (), {"Event": RecordedEvent}))
    serial_calls = []
    original = stock_serials.SerialChunks.chunk_apply

    def chunk_apply(self, **kwargs):
        # The serial side starts its first chunk only after the stop flag is set, so it
        # commits that chunk and no other.
        RecordedEvent.instances[0].wait(10)
        serial_calls.append(threading.current_thread().name)
        return original(self, **kwargs)

    plain_original = stock_totals.PlainTotals.chunk_apply

    def plain_chunk_apply(self, **kwargs):
        changed = plain_original(self, **kwargs)
        ImportJob.objects.filter(pk=self.job.pk).update(cancel_requested=True)
        return changed

    monkeypatch.setattr(stock_serials.SerialChunks, "chunk_apply", chunk_apply)
    monkeypatch.setattr(stock_totals.PlainTotals, "chunk_apply", plain_chunk_apply)

    job = import_run(count_file, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.CANCELLED
    assert RecordedEvent.instances[0].is_set()
    assert len(serial_calls) == 1
    assert job.checkpoint["serial_after"] == 5
    # The first plain chunk (two pairs) and the first serial chunk (two units).
    assert StockMovement.objects.filter(import_job_id=job.pk).count() == 2 + 2


@pytest.fixture
def pairs_heavy_file(tmp_path):
    """A count of eight plain pairs and one serial row, so the pairs are split."""
    StoreFactory(code="S001")
    for number in range(1, 9):
        ProductFactory(sku=f"ACC-{number}")
    SerializedProductFactory(sku="PHN-1")
    lines = [f"S001,ACC-{number},,{number}," for number in range(1, 9)]
    lines.append(f"S001,PHN-1,{SERIALS[0]},,")
    path = tmp_path / "pairs-heavy.csv"
    path.write_text("store,sku,serial,qty,status\n" + "\n".join(lines) + "\n")
    return path


def _pair(sku: str) -> list[int]:
    product = Product.objects.get(sku=sku)
    return [StockLevel.objects.get(product=product).store_id, product.pk]


def test_serial_thread_applies_last_pairs(pairs_heavy_file, small_chunks, monkeypatch):
    tail_threads = set()
    original = stock_totals.PlainTotals.chunk_apply

    def chunk_apply(self, **kwargs):
        if self.after is not None:
            tail_threads.add(threading.current_thread().name)
        return original(self, **kwargs)

    monkeypatch.setattr(stock_totals.PlainTotals, "chunk_apply", chunk_apply)

    job = import_run(pairs_heavy_file, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE, job.failure_reason
    assert tail_threads and all(name.startswith("finalize-serials") for name in tail_threads)
    assert (job.rows_done, job.pct) == (8 + 1, 100)
    levels = dict(StockLevel.objects.values_list("product__sku", "on_hand"))
    assert levels == {f"ACC-{number}": number for number in range(1, 9)} | {"PHN-1": 1}
    assert StockMovement.objects.filter(import_job_id=job.pk).count() == 8 + 1
    # Half of 8 pairs plus 1.8 pairs for the serial row: this thread applies 5 pairs.
    assert job.checkpoint["plain_split"] == _pair("ACC-5")
    assert job.checkpoint["plain_after"] == _pair("ACC-5")
    assert job.checkpoint["plain_tail_after"] == _pair("ACC-8")
    assert job.summary["levels_changed"] == 8


def test_last_pairs_resume_after_lost_connection(pairs_heavy_file, small_chunks, monkeypatch):
    monkeypatch.setattr("imports.pipeline.runner.time.sleep", lambda seconds: None)
    tail_chunks = []
    original = stock_totals.PlainTotals.chunk_apply

    def chunk_apply_losing_connection_once(self, **kwargs):
        if self.after is not None:
            tail_chunks.append(kwargs["last"])
            if len(tail_chunks) == 2:
                raise InterfaceError("connection already closed")
        return original(self, **kwargs)

    monkeypatch.setattr(
        stock_totals.PlainTotals, "chunk_apply", chunk_apply_losing_connection_once
    )

    job = import_run(pairs_heavy_file, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE, job.failure_reason
    last = tuple(_pair("ACC-8"))
    assert tail_chunks == [tuple(_pair("ACC-7")), last, last]
    levels = dict(StockLevel.objects.values_list("product__sku", "on_hand"))
    assert levels == {f"ACC-{number}": number for number in range(1, 9)} | {"PHN-1": 1}
    assert StockMovement.objects.filter(import_job_id=job.pk).count() == 8 + 1
    assert job.rows_done == 8 + 1
    assert job.summary["levels_changed"] == 8
