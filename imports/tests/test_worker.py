"""Imports run by a real Celery worker on MariaDB and Redis.

The worker is a separate process on the test database, so every test commits its data
(transactional tests). A job is started through the API, as a person starts it; the worker
picks it up from Redis. Without MySQL or MariaDB and Redis the tests are skipped.
"""

import asyncio
import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count
from django.utils import timezone

from imports.models import ImportJob, ImportRowError, ImportStatus, StagedStock
from imports.services import import_job_start
from imports.tasks import resume_stale_jobs
from imports.tests.worker_process import WORKER_STALE_AFTER_SECONDS
from inventory.models import Product, SerialStatus, SerialUnit, StockLevel, StockMovement, Store
from inventory.tests.factories import (
    ProductFactory,
    StoreFactory,
    back_office_user,
    operations_user,
)
from ops_portal.asgi import application
from ops_portal.imei import imei_with_check_digit

pytestmark = pytest.mark.django_db(transaction=True)

PHASES = ["queued", "parsing", "validating", "loading", "finalizing", "done"]
STORE_COUNT = 20
PLAIN_SKU_COUNT = 300
SERIALIZED_SKU_COUNT = 50
# Three of every ten rows are serial rows: 42,000 plain rows on 6,000 store and SKU pairs,
# and 18,000 serial rows. A worker on MariaDB needs seconds for most phases, but parsing
# can pass in a few tenths of a second, which is why the test polls every 20 ms.
FILE_ROWS = 60_000
POLL_SECONDS = 0.02
RUN_TIMEOUT_SECONDS = 60
MAX_SOCKET_EVENTS = 200
FINISHED = {"done", "failed", "cancelled"}


@dataclass(frozen=True)
class StockCount:
    """A generated stock count file and what importing it into empty stock must produce."""

    content: bytes
    on_hand: dict[tuple[str, str], int]
    units: set[tuple[str, str, str]]
    ledger_rows: int
    # The counts the job's summary shows once the count is done.
    summary_counts: dict[str, int]


def _stock_count_build() -> StockCount:
    stores = [f"T{number:03d}" for number in range(1, STORE_COUNT + 1)]
    plain_skus = [f"ACC-{number:04d}" for number in range(1, PLAIN_SKU_COUNT + 1)]
    phones = [f"PHN-{number:03d}" for number in range(1, SERIALIZED_SKU_COUNT + 1)]
    lines = ["store,sku,serial,qty"]
    on_hand: Counter[tuple[str, str]] = Counter()
    plain_pairs: set[tuple[str, str]] = set()
    units: set[tuple[str, str, str]] = set()
    plain = serial = 0
    for row in range(FILE_ROWS):
        if row % 10 < 7:
            store = stores[plain % STORE_COUNT]
            sku = plain_skus[(plain // STORE_COUNT) % PLAIN_SKU_COUNT]
            quantity = plain % 5 + 1
            lines.append(f"{store},{sku},,{quantity}")
            on_hand[store, sku] += quantity
            plain_pairs.add((store, sku))
            plain += 1
        else:
            store = stores[serial % STORE_COUNT]
            sku = phones[(serial // STORE_COUNT) % SERIALIZED_SKU_COUNT]
            imei = imei_with_check_digit(f"35{serial:012d}")
            lines.append(f"{store},{sku},{imei},")
            on_hand[store, sku] += 1
            units.add((imei, store, sku))
            serial += 1
    # Starting from no stock, each plain pair gets one ledger row and each unit one.
    return StockCount(
        content=("\n".join(lines) + "\n").encode(),
        on_hand=dict(on_hand),
        units=units,
        ledger_rows=len(plain_pairs) + len(units),
        summary_counts={
            "levels_changed": len(plain_pairs),
            "lines_combined": plain - len(plain_pairs),
            "units_imported": len(units),
        },
    )


@pytest.fixture(scope="module")
def stock_count() -> StockCount:
    return _stock_count_build()


@pytest.fixture
def stock_catalog(stock_count):
    """Create the stores and SKUs that the stock count names, with no stock."""
    store_codes = sorted({store for store, _ in stock_count.on_hand})
    Store.objects.bulk_create([Store(code=code, name=f"Store {code}") for code in store_codes])
    serialized = {sku for _, _, sku in stock_count.units}
    Product.objects.bulk_create(
        [
            Product(sku=sku, name=f"Product {sku}", is_serialized=sku in serialized)
            for sku in sorted({sku for _, sku in stock_count.on_hand})
        ]
    )


def _post(client, content: bytes, name: str = "count.csv") -> ImportJob:
    upload = SimpleUploadedFile(name, content, content_type="text/csv")
    response = client.post(
        "/api/imports", {"file": upload, "kind": "stock", "options": json.dumps({})}
    )
    assert response.status_code == 202, response.content
    return ImportJob.objects.get(task_id=response.json()["task_id"])


def _wait_until(worker, job: ImportJob, condition, *, what: str,
                timeout: float = RUN_TIMEOUT_SECONDS, seen: list | None = None) -> ImportJob:
    """Poll the job row until ``condition`` holds; fail with the job's state and worker log.

    ``seen`` collects the status, pct and heartbeat of every poll.
    """
    deadline = time.monotonic() + timeout
    current = job
    while time.monotonic() < deadline:
        current = ImportJob.objects.get(pk=job.pk)
        if seen is not None:
            seen.append((current.status, current.pct, current.heartbeat_at))
        if condition(current):
            return current
        time.sleep(POLL_SECONDS)
    pytest.fail(
        f"Import {job.task_id} did not reach {what} within {timeout} s: status {current.status}, "
        f"rows_done {current.rows_done}, attempts {current.attempts}.\n{worker.log_tail()}"
    )


def _wait_finished(worker, job: ImportJob, *, timeout: float = RUN_TIMEOUT_SECONDS,
                   seen: list | None = None) -> ImportJob:
    return _wait_until(
        worker, job, lambda current: current.is_finished, what="its end", timeout=timeout,
        seen=seen,
    )


def _in_phase(phase: str, min_rows_done: int):
    """Return a condition that is true once the job is in ``phase`` with enough rows done.

    The condition fails the test when the job is already past the phase, so a file too
    small for the machine fails at once instead of after the timeout.
    """

    def condition(job: ImportJob) -> bool:
        if job.is_finished or PHASES.index(job.status) > PHASES.index(phase):
            pytest.fail(
                f"Import {job.task_id} passed {phase} before the test saw it; it is {job.status}."
            )
        return job.status == phase and job.rows_done >= min_rows_done

    return condition


def _stock_state(job: ImportJob) -> dict:
    levels = StockLevel.objects.exclude(on_hand=0).values_list(
        "store__code", "product__sku", "on_hand"
    )
    units = SerialUnit.objects.values_list("serial", "store__code", "product__sku", "status")
    duplicates = (
        StockMovement.objects.values("import_job_id", "import_row", "store", "product", "bucket")
        .annotate(copies=Count("id")).filter(copies__gt=1)
    )
    return {
        "on_hand": {(store, sku): quantity for store, sku, quantity in levels},
        "units": {(serial, store, sku) for serial, store, sku, _ in units},
        "unit_statuses": {status for *_, status in units},
        "ledger_rows": StockMovement.objects.filter(import_job_id=job.pk).count(),
        "other_ledger_rows": StockMovement.objects.exclude(import_job_id=job.pk).count(),
        "duplicate_ledger_keys": duplicates.count(),
        "row_errors": ImportRowError.objects.filter(job=job).count(),
    }


def _assert_clean_result(job: ImportJob, stock_count: StockCount) -> None:
    state = _stock_state(job)
    assert job.status == ImportStatus.DONE, job.failure_reason
    assert (job.rows_total, job.rows_ok, job.rows_bad) == (FILE_ROWS, FILE_ROWS, 0)
    assert job.pct == 100
    assert state["on_hand"] == stock_count.on_hand
    assert state["units"] == stock_count.units
    assert state["unit_statuses"] == {SerialStatus.IN_STOCK}
    assert state["ledger_rows"] == stock_count.ledger_rows
    assert state["other_ledger_rows"] == 0
    assert state["duplicate_ledger_keys"] == 0
    assert state["row_errors"] == 0
    assert {name: job.summary.get(name) for name in stock_count.summary_counts} == (
        stock_count.summary_counts
    )
    assert _staged_rows_after_cleanup(job) == 0


def _staged_rows_after_cleanup(job: ImportJob, timeout: float = 15) -> int:
    """Return the job's staged rows once the worker deleted them, which it does after done."""
    deadline = time.monotonic() + timeout
    while (count := StagedStock.objects.filter(job=job).count()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return count


def test_worker_runs_posted_job_through_every_phase(client, celery_worker):
    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    client.force_login(operations_user())

    job = _post(client, b"store,sku,qty\nS001,ACC-1,5\nS001,ACC-1,x\n")
    job = _wait_finished(celery_worker, job)

    assert job.status == ImportStatus.DONE
    assert set(job.phase_timings) == {"parsing", "validating", "loading", "finalizing"}
    assert job.pct == 100
    assert (job.rows_total, job.rows_ok, job.rows_bad) == (2, 1, 1)
    assert job.attempts == 1
    assert StockLevel.objects.get(store__code="S001", product__sku="ACC-1").on_hand == 5


def test_worker_imports_large_count_with_rising_progress(
    client, celery_worker, stock_catalog, stock_count
):
    client.force_login(operations_user())
    seen: list[tuple[str, float, object]] = []

    job = _post(client, stock_count.content)
    job = _wait_finished(celery_worker, job, seen=seen)

    _assert_clean_result(job, stock_count)
    statuses = list(dict.fromkeys(status for status, _, _ in seen))
    assert statuses == [status for status in PHASES if status in statuses]
    assert {"validating", "finalizing", "done"} <= set(statuses)
    percents = [pct for _, pct, _ in seen]
    assert percents == sorted(percents)
    heartbeats = sorted({beat for _, _, beat in seen if beat is not None})
    pauses = [later - earlier for earlier, later in zip(heartbeats, heartbeats[1:])]
    assert max(pauses) < timedelta(seconds=WORKER_STALE_AFTER_SECONDS)
    assert job.attempts == 1


def _worker_restart_when_stale(worker, job: ImportJob) -> None:
    """Wait until the killed worker's job counts as stale, then start a new worker."""
    heartbeat_at = ImportJob.objects.get(pk=job.pk).heartbeat_at
    stale_at = heartbeat_at + timedelta(seconds=WORKER_STALE_AFTER_SECONDS + 0.5)
    time.sleep(max(0.0, (stale_at - timezone.now()).total_seconds()))
    worker.start()


# Only a kill while finalizing leaves live rows behind, which the resumed run must skip.
@pytest.mark.parametrize(
    ("phase", "min_rows_done", "ledger_rows_at_kill"),
    [
        ("parsing", 0, "none"),
        # Any point of validating: the row may show no rows done before it ends.
        ("validating", 0, "none"),
        ("loading", 0, "none"),
        ("finalizing", 2_000, "some"),
    ],
)
def test_worker_killed_in_phase_resumes_to_clean_result(
    client, celery_worker, stock_catalog, stock_count, phase, min_rows_done, ledger_rows_at_kill
):
    client.force_login(operations_user())
    job = _post(client, stock_count.content)
    _wait_until(celery_worker, job, _in_phase(phase, min_rows_done), what=phase)
    seen: list[tuple[str, float, object]] = []

    celery_worker.kill()
    killed = ImportJob.objects.get(pk=job.pk)
    ledger_rows = StockMovement.objects.filter(import_job_id=job.pk).count()
    _worker_restart_when_stale(celery_worker, job)
    resume_stale_jobs.apply_async()
    job = _wait_finished(celery_worker, job, seen=seen)

    assert killed.status == phase
    assert ("some" if ledger_rows else "none") == ledger_rows_at_kill
    assert job.attempts == 2
    _assert_clean_result(job, stock_count)
    assert min(pct for _, pct, _ in seen) >= killed.pct


def test_cancel_stops_running_job_and_worker_moves_on(
    client, celery_worker, stock_catalog, stock_count
):
    client.force_login(operations_user())
    job = _post(client, stock_count.content)
    # Any point of validating will do. Progress is written at most every 0.25 s, and on a
    # fast machine the row may show no rows done before validating ends.
    _wait_until(celery_worker, job, _in_phase("validating", 0), what="validating")

    response = client.post(f"/api/imports/{job.task_id}/cancel")
    job = _wait_finished(celery_worker, job, timeout=30)
    later = _post(client, b"store,sku,qty\nT001,ACC-0001,4\n", name="later.csv")
    later = _wait_finished(celery_worker, later, timeout=30)

    assert response.status_code == 202
    assert response.json()["task_id"] == str(job.task_id)
    assert job.status == ImportStatus.CANCELLED
    assert job.finished_at is not None
    assert StockMovement.objects.filter(import_job_id=job.pk).count() == 0
    assert later.status == ImportStatus.DONE
    assert StockLevel.objects.get(store__code="T001", product__sku="ACC-0001").on_hand == 4


def test_staging_clear_queued_behind_waiting_job(
    client, celery_worker, stock_catalog, stock_count
):
    client.force_login(operations_user())
    log_offset = celery_worker.log_path.stat().st_size
    first = _post(client, stock_count.content)
    second = _post(client, b"store,sku,qty\nT001,ACC-0001,4\n", name="second.csv")
    first = _wait_finished(celery_worker, first)
    second = _wait_finished(celery_worker, second)

    assert first.status == ImportStatus.DONE
    assert second.status == ImportStatus.DONE
    assert _staged_rows_after_cleanup(first) == 0
    assert _staged_rows_after_cleanup(second) == 0
    with celery_worker.log_path.open("rb") as log:
        log.seek(log_offset)
        log_text = log.read().decode("utf-8", "replace")
    received = re.findall(r"Task imports\.(run_job|clear_staging)\[[^\]]+\] received", log_text)
    # The first job's staged rows wait until the second job, queued meanwhile, has run.
    assert received == ["run_job", "run_job", "clear_staging", "clear_staging"]


def test_cancel_while_worker_dead_ends_cancelled(
    client, celery_worker, stock_catalog, stock_count
):
    client.force_login(operations_user())
    job = _post(client, stock_count.content)
    # Any point of validating will do, as in the test above.
    _wait_until(celery_worker, job, _in_phase("validating", 0), what="validating")
    celery_worker.kill()

    response = client.post(f"/api/imports/{job.task_id}/cancel")
    _worker_restart_when_stale(celery_worker, job)
    resume_stale_jobs.apply_async()
    job = _wait_finished(celery_worker, job, timeout=30)

    assert response.status_code == 202
    assert job.status == ImportStatus.CANCELLED
    assert job.attempts == 2
    assert StockMovement.objects.filter(import_job_id=job.pk).count() == 0


def test_resume_runs_queued_job_whose_message_was_lost(celery_worker):
    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    upload = SimpleUploadedFile("count.csv", b"store,sku,qty\nS001,ACC-1,5\n")
    # Without dispatch no message is sent, as when the broker lost it.
    job = import_job_start(actor=operations_user(), kind="stock", upload=upload, dispatch=False).job
    queued_at = timezone.now() - timedelta(seconds=WORKER_STALE_AFTER_SECONDS + 1)
    ImportJob.objects.filter(pk=job.pk).update(updated_at=queued_at)

    resume_stale_jobs.apply_async()
    job = _wait_finished(celery_worker, job, timeout=30)

    assert job.status == ImportStatus.DONE
    assert job.attempts == 1
    assert StockLevel.objects.get(store__code="S001", product__sku="ACC-1").on_hand == 5


async def _socket_events_until_finished(communicator: WebsocketCommunicator) -> list[dict]:
    events: list[dict] = []
    for _ in range(MAX_SOCKET_EVENTS):
        message = await communicator.receive_json_from(timeout=RUN_TIMEOUT_SECONDS)
        events.append(message["event"])
        if message["event"]["status"] in FINISHED:
            break
    return events


def test_worker_progress_reaches_socket_through_redis(client, celery_worker, settings):
    # The worker process publishes on the Redis channel layer and this process's consumer
    # reads it, as between a worker host and a web host.
    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    client.force_login(back_office_user())
    cookie = (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
    received = {}

    async def scenario() -> None:
        communicator = WebsocketCommunicator(
            application, "/ws/imports/", headers=[(b"origin", b"http://127.0.0.1"), cookie]
        )
        await communicator.connect()
        await communicator.receive_json_from(timeout=5)
        job = await sync_to_async(_post)(client, b"store,sku,qty\nS001,ACC-1,5\n")
        received["task_id"] = str(job.task_id)
        received["events"] = await _socket_events_until_finished(communicator)
        await communicator.disconnect()
        await get_channel_layer().close_pools()

    asyncio.run(scenario())

    events = received["events"]
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert {event["task_id"] for event in events} == {received["task_id"]}
    assert events[-1]["status"] == "done"
    assert "finalizing" in [event["status"] for event in events]
    assert [event["pct"] for event in events] == sorted(event["pct"] for event in events)
