"""Imports under faults: lost database connections, a restarted database, a stopped Redis,
uploads that race each other, a cancel while finalizing and the attempts cap.

The tests that kill connections use the shared test database and kill only the worker's
connections to it. The tests that stop a server start a MariaDB and a Redis of their own, with a worker
and a daphne pointed at them. Without MySQL or MariaDB and Redis only the last two tests,
which need no worker, run.
"""

import json
import threading
import time
from datetime import timedelta

import psutil
import pytest
import requests
import websocket
from django.db import OperationalError, close_old_connections, connection, transaction
from django.test import Client
from django.utils import timezone

from imports.events import import_event_payload, import_event_send
from imports.models import ImportJob, ImportStatus, StagedStock
from imports.pipeline.runner import MAX_ATTEMPTS, import_job_run
from imports.pipeline.staging import staging_dir
from imports.tests.factories import ImportJobFactory
from imports.tests.private_servers import PrivateStack, private_stack  # noqa: F401 - fixture
from imports.tests.test_worker import (  # noqa: F401 - stock_count and stock_catalog are fixtures
    FILE_ROWS,
    RUN_TIMEOUT_SECONDS,
    _assert_clean_result,
    _in_phase,
    _post,
    _wait_finished,
    _wait_until,
    stock_catalog,
    stock_count,
)
from imports.tests.worker_process import WorkerProcess
from inventory.models import Product, SerialUnit, StockLevel, StockMovement, Store
from inventory.tests.factories import (
    ProductFactory,
    StoreFactory,
    back_office_user,
    operations_user,
)
from ops_portal.tokens import api_token_create


# Connection kills spread over the finalizing phase, and the pause between them.
CONNECTION_KILLS = 3
KILL_INTERVAL_SECONDS = 0.4
RECONNECT_TIMEOUT_SECONDS = 15
RACING_UPLOADS = 8
HTTP_TIMEOUT_SECONDS = 30
PRIVATE_RUN_TIMEOUT_SECONDS = 120
# The worker, daphne and the test's threads read the data on connections of their own.
TRANSACTIONAL = pytest.mark.django_db(transaction=True)


def _worker_connections_kill(worker: WorkerProcess) -> int:
    """Kill the worker's connections to the database; return how many.

    The worker's processes are found by their client ports, which the server lists as
    the host of each connection. Other connections of this process, such as those that
    earlier tests left open in thread pools, stay untouched.
    """
    parent = psutil.Process(worker.process.pid)
    database_port = int(connection.settings_dict["PORT"] or 3306)
    ports = {
        socket.laddr.port
        for process in [parent, *parent.children(recursive=True)]
        for socket in _process_sockets(process)
        if socket.raddr and socket.raddr.port == database_port
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, host FROM information_schema.processlist WHERE db = %s",
                       [connection.settings_dict["NAME"]])
        ids = [connection_id for connection_id, host in cursor.fetchall()
               if host.rpartition(":")[2].isdigit() and int(host.rpartition(":")[2]) in ports]
        for connection_id in ids:
            try:
                cursor.execute(f"KILL CONNECTION {int(connection_id)}")
            except OperationalError:
                pass  # it closed meanwhile
    return len(ids)


def _process_sockets(process: psutil.Process) -> list:
    try:
        return process.net_connections(kind="tcp")
    except psutil.NoSuchProcess:
        return []


def _log_since(worker: WorkerProcess, offset: int) -> str:
    """Return what the worker logged after ``offset`` bytes of its log."""
    with worker.log_path.open("rb") as log:
        log.seek(offset)
        return log.read().decode("utf-8", "replace")


def _kill_rounds(worker: WorkerProcess, job: ImportJob, rounds: int) -> int:
    """Kill the worker's connections ``rounds`` times, each time once it has reconnected."""
    killed_rounds = 0
    deadline = time.monotonic() + RECONNECT_TIMEOUT_SECONDS * rounds
    while killed_rounds < rounds and time.monotonic() < deadline:
        if ImportJob.objects.get(pk=job.pk).is_finished:
            break
        if _worker_connections_kill(worker):
            killed_rounds += 1
            time.sleep(KILL_INTERVAL_SECONDS)
        else:
            time.sleep(0.05)
    return killed_rounds


@TRANSACTIONAL
def test_killed_connection_in_finalizing_retried(
    client, celery_worker, stock_catalog, stock_count
):
    client.force_login(operations_user())
    job = _post(client, stock_count.content)
    _wait_until(celery_worker, job, _in_phase("finalizing", 2_000), what="finalizing")

    log_offset = celery_worker.log_path.stat().st_size
    killed_rounds = _kill_rounds(celery_worker, job, CONNECTION_KILLS)
    job = _wait_finished(celery_worker, job)

    assert job.status == ImportStatus.DONE, f"{job.failure_reason}\n{celery_worker.log_tail()}"
    assert killed_rounds == CONNECTION_KILLS
    assert "import.database_retry" in _log_since(celery_worker, log_offset)
    assert job.attempts == 1
    _assert_clean_result(job, stock_count)


@TRANSACTIONAL
def test_cancel_in_finalizing_leaves_no_half_applied_chunk(
    client, celery_worker, stock_catalog, stock_count
):
    # A plain pair of the count's second chunk and a phone level of its first serial
    # chunk stay locked until the cancel is requested. Each side of finalizing waits
    # there, so the cancel comes before the last chunk whatever the machine's speed.
    locked = [
        StockLevel.objects.create(
            store=Store.objects.get(code=store), product=Product.objects.get(sku=sku), on_hand=0
        )
        for store, sku in (("T020", "ACC-0300"), ("T001", "PHN-001"))
    ]
    holder = LevelLockHolder(locked)
    client.force_login(operations_user())
    try:
        job = _post(client, stock_count.content)
        _wait_until(celery_worker, job, _in_phase("finalizing", 0), what="finalizing")
        response = client.post(f"/api/imports/{job.task_id}/cancel")
    finally:
        holder.release()
    job = _wait_finished(celery_worker, job, timeout=30)

    assert response.status_code == 202
    assert job.status == ImportStatus.CANCELLED
    ledger = StockMovement.objects.filter(import_job_id=job.pk)
    applied_rows = set(ledger.values_list("import_row", flat=True))
    # Every committed chunk moved its checkpoint in the same transaction, so the rows
    # applied are exactly the staged rows up to the checkpoint.
    checkpoint = job.checkpoint
    staged = StagedStock.objects.filter(job=job)
    plain_after = tuple(checkpoint.get("plain_after") or (0, 0))
    serial_after = int(checkpoint.get("serial_after") or 0)
    expected_plain_pairs = {
        (store_id, product_id)
        for store_id, product_id in staged.filter(serial="").values_list("store_id", "product_id")
        if (store_id, product_id) <= plain_after
    }
    applied_plain_pairs = set(
        ledger.filter(product__is_serialized=False).values_list("store_id", "product_id")
    )
    expected_serial_rows = set(
        staged.exclude(serial="").filter(row_number__lte=serial_after)
        .values_list("row_number", flat=True)
    )
    applied_serial_rows = set(
        ledger.filter(product__is_serialized=True).values_list("import_row", flat=True)
    )
    assert applied_rows, "cancel came before the first chunk; the test proves nothing"
    assert applied_plain_pairs == expected_plain_pairs
    assert applied_serial_rows == expected_serial_rows
    assert SerialUnit.objects.count() == len(applied_serial_rows)
    for level in StockLevel.objects.select_related("store", "product"):
        moved = sum(
            StockMovement.objects.filter(store=level.store, product=level.product, bucket="on_hand")
            .values_list("quantity", flat=True)
        )
        assert level.on_hand == moved, f"{level.store.code} {level.product.sku}"


class LevelLockHolder:
    """Stock levels held FOR UPDATE by a transaction on a connection of its own, until release()."""

    def __init__(self, levels: list[StockLevel]) -> None:
        self._locked = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._hold, args=([level.pk for level in levels],))
        self._thread.start()
        assert self._locked.wait(10), "the levels could not be locked"

    def _hold(self, level_ids: list[int]) -> None:
        try:
            with transaction.atomic():
                # By primary key: the default ordering would join and lock stores and products.
                list(StockLevel.objects.select_for_update().filter(pk__in=level_ids).order_by("pk"))
                self._locked.set()
                self._release.wait(RUN_TIMEOUT_SECONDS)
        finally:
            connection.close()

    def release(self) -> None:
        self._release.set()
        self._thread.join(10)


@TRANSACTIONAL
def test_same_idempotency_key_at_once_creates_one_job(mysql_only, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    user = operations_user()
    barrier = threading.Barrier(RACING_UPLOADS)
    responses: list = [None] * RACING_UPLOADS

    def upload(index: int) -> None:
        browser = Client()
        browser.force_login(user)
        try:
            barrier.wait(timeout=10)
            responses[index] = browser.post(
                "/api/imports",
                {"file": _csv_upload(), "kind": "stock", "options": "{}"},
                headers={"Idempotency-Key": "count-2026-12-05"},
            )
        finally:
            close_old_connections()

    threads = [threading.Thread(target=upload, args=(index,)) for index in range(RACING_UPLOADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = [response.status_code for response in responses]
    task_ids = {response.json()["task_id"] for response in responses}
    assert statuses == [202] * RACING_UPLOADS, [response.content for response in responses]
    assert len(task_ids) == 1
    assert ImportJob.objects.count() == 1
    assert ImportJob.objects.get().idempotency_key == "count-2026-12-05"
    stored = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(stored) == 1, f"uploads of the losing requests were left behind: {stored}"


def _csv_upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("count.csv", b"store,sku,qty\nS001,ACC-1,5\n", content_type="text/csv")


# A worker and a web server on a MariaDB and a Redis of this module's own.


def _private_user_setup(stack: PrivateStack, user_factory, stock_count_data) -> tuple[str, str]:
    """Create the catalog and a user in the private database; return a bearer key and a session id."""
    with stack.orm():
        from inventory.models import Product, Store

        store_codes = sorted({store for store, _ in stock_count_data.on_hand})
        for code in store_codes:
            Store.objects.get_or_create(code=code, defaults={"name": f"Store {code}"})
        serialized = {sku for _, _, sku in stock_count_data.units}
        for sku in sorted({sku for _, sku in stock_count_data.on_hand}):
            Product.objects.get_or_create(
                sku=sku, defaults={"name": f"Product {sku}", "is_serialized": sku in serialized}
            )
        user = user_factory()
        _token, key = api_token_create(user=user, name="fault tests")
        browser = Client()
        browser.force_login(user)
        session_id = browser.cookies["sessionid"].value
    return key, session_id


def _private_post(stack: PrivateStack, key: str, content: bytes) -> str:
    response = requests.post(
        f"{stack.portal.url}/api/imports",
        files={"file": ("count.csv", content, "text/csv")},
        data={"kind": "stock", "options": json.dumps({})},
        headers={"Authorization": f"Bearer {key}"},
        timeout=HTTP_TIMEOUT_SECONDS,
    )
    assert response.status_code == 202, response.text
    return response.json()["task_id"]


def _private_job(stack: PrivateStack, task_id: str) -> ImportJob | None:
    """Return the job from the private database, or None while that database is away."""
    try:
        with stack.orm():
            return ImportJob.objects.get(task_id=task_id)
    except OperationalError:
        return None


def _private_wait(stack: PrivateStack, task_id: str, condition, *, what: str,
                  timeout: float = PRIVATE_RUN_TIMEOUT_SECONDS) -> ImportJob:
    deadline = time.monotonic() + timeout
    job = None
    while time.monotonic() < deadline:
        job = _private_job(stack, task_id)
        if job is not None and condition(job):
            return job
        time.sleep(0.05)
    status = job.status if job else "unknown"
    pytest.fail(f"Import {task_id} did not reach {what} within {timeout} s; it is {status}.\n"
                f"{stack.logs()}")


def _private_stock_state(stack: PrivateStack, task_id: str) -> tuple[ImportJob, dict]:
    with stack.orm():
        from imports.tests.test_worker import _stock_state

        job = ImportJob.objects.get(task_id=task_id)
        return job, _stock_state(job)


@TRANSACTIONAL
def test_database_restart_in_finalizing_survived(
    private_stack, stock_count
):
    stack = private_stack
    key, session_id = _private_user_setup(stack, operations_user, stock_count)
    task_id = _private_post(stack, key, stock_count.content)
    _private_wait(
        stack, task_id, lambda job: job.status == "finalizing" and job.rows_done >= 1_000,
        what="finalizing",
    )

    log_offset = stack.worker.log_path.stat().st_size
    stack.database.kill()
    home = requests.get(
        f"{stack.portal.url}/home/", cookies={"sessionid": session_id}, timeout=HTTP_TIMEOUT_SECONDS
    )
    api = requests.get(
        f"{stack.portal.url}/api/imports/{task_id}", headers={"Authorization": f"Bearer {key}"},
        timeout=HTTP_TIMEOUT_SECONDS,
    )
    stack.database.start()
    job = _private_wait(stack, task_id, lambda job: job.is_finished, what="its end")
    job, state = _private_stock_state(stack, task_id)

    assert home.status_code == 503, home.text[:500]
    assert home.headers["Retry-After"] == "30"
    assert "Traceback" not in home.text
    assert "Try again" in home.text
    assert api.status_code == 503, api.text[:500]
    assert "Traceback" not in api.text
    assert api.json()["code"] == "service_unavailable"
    assert job.status == ImportStatus.DONE, f"{job.failure_reason}\n{stack.logs()}"
    assert "import.database_retry" in _log_since(stack.worker, log_offset)
    assert job.attempts == 1
    assert (job.rows_total, job.rows_ok, job.rows_bad) == (FILE_ROWS, FILE_ROWS, 0)
    assert state["on_hand"] == stock_count.on_hand
    assert state["units"] == stock_count.units
    assert state["ledger_rows"] == stock_count.ledger_rows
    assert state["duplicate_ledger_keys"] == 0


def _socket_open(stack: PrivateStack, session_id: str) -> websocket.WebSocket:
    socket = websocket.create_connection(
        f"ws://127.0.0.1:{stack.portal.port}/ws/imports/",
        origin=stack.portal.url,
        cookie=f"sessionid={session_id}",
        timeout=HTTP_TIMEOUT_SECONDS,
    )
    return socket


def _socket_messages_until_done(socket: websocket.WebSocket, task_id: str, *,
                                max_messages: int = 500) -> list[dict]:
    messages = []
    for _ in range(max_messages):
        message = json.loads(socket.recv())
        messages.append(message)
        if message["type"] == "import.event" and message["event"]["task_id"] == task_id \
                and message["event"]["status"] in {"done", "failed", "cancelled"}:
            break
    return messages


def _first_sse_event(stack: PrivateStack, key: str, task_id: str) -> dict:
    """Open the job's event stream and return the data of its first event."""
    with requests.get(
        f"{stack.portal.url}/api/imports/{task_id}/events",
        headers={"Authorization": f"Bearer {key}"}, stream=True, timeout=HTTP_TIMEOUT_SECONDS,
    ) as response:
        assert response.status_code == 200, response.text[:500]
        for line in response.iter_lines(decode_unicode=True):
            if line.startswith("data: "):
                return json.loads(line.removeprefix("data: "))
    pytest.fail("The event stream ended without an event.")


@TRANSACTIONAL
def test_redis_stop_during_import_survived(
    private_stack, stock_count
):
    stack = private_stack
    key, session_id = _private_user_setup(stack, back_office_user, stock_count)
    task_id = _private_post(stack, key, stock_count.content)
    _private_wait(
        stack, task_id, lambda job: job.status in {"validating", "loading", "finalizing"},
        what="validating",
    )

    stack.redis.stop()
    detail_while_down = requests.get(
        f"{stack.portal.url}/api/imports/{task_id}", headers={"Authorization": f"Bearer {key}"},
        timeout=HTTP_TIMEOUT_SECONDS,
    )
    event_while_down = _first_sse_event(stack, key, task_id)
    home_while_down = requests.get(
        f"{stack.portal.url}/home/", cookies={"sessionid": session_id}, timeout=HTTP_TIMEOUT_SECONDS
    )
    _private_wait(stack, task_id, lambda job: job.is_finished, what="its end")
    job, state = _private_stock_state(stack, task_id)
    stack.redis.start()
    socket = _socket_open(stack, session_id)
    try:
        snapshot = json.loads(socket.recv())
        later_task_id = _private_post(stack, key, b"store,sku,qty\nT001,ACC-0001,9\n")
        messages = _socket_messages_until_done(socket, later_task_id)
    finally:
        socket.close()

    assert detail_while_down.status_code == 200, detail_while_down.text[:500]
    assert detail_while_down.json()["status"] in {"validating", "loading", "finalizing", "done"}
    assert event_while_down["task_id"] == task_id
    assert event_while_down["pct"] >= detail_while_down.json()["pct"]
    assert home_while_down.status_code == 200, home_while_down.text[:500]
    assert "Traceback" not in home_while_down.text
    assert job.status == ImportStatus.DONE, f"{job.failure_reason}\n{stack.logs()}"
    assert (job.rows_total, job.rows_ok, job.rows_bad) == (FILE_ROWS, FILE_ROWS, 0)
    assert state["on_hand"] == stock_count.on_hand
    assert state["duplicate_ledger_keys"] == 0
    assert snapshot["type"] == "import.snapshot"
    assert {"task_id": task_id, "status": "done"}.items() <= next(
        item for item in snapshot["jobs"] if item["task_id"] == task_id
    ).items()
    assert messages[-1]["event"]["task_id"] == later_task_id
    assert messages[-1]["event"]["status"] == "done"


# The attempts cap, on any database.


@pytest.mark.django_db
def test_attempts_cap_sends_final_event(
    settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    settings.VAR_DIR = tmp_path
    job = ImportJobFactory(
        status=ImportStatus.FINALIZING, attempts=MAX_ATTEMPTS,
        heartbeat_at=timezone.now() - timedelta(seconds=settings.IMPORT_STALE_AFTER_SECONDS + 1),
    )
    staging = staging_dir(job)
    staging.mkdir(parents=True)
    (staging / "chunk-0001.tsv").write_text("1\t2\n")
    sent: list[dict] = []
    monkeypatch.setattr(
        "imports.events.import_event_send", lambda *, job: sent.append(import_event_payload(job=job))
    )

    with django_capture_on_commit_callbacks(execute=True):
        import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.attempts == MAX_ATTEMPTS
    assert job.finished_at is not None
    assert "started 5 times" in job.failure_reason
    assert [event["status"] for event in sent] == ["failed"]
    assert sent[0]["failure_reason"] == job.failure_reason
    assert not staging.exists()


class _FailingLayer:
    """A channel layer whose sends fail, as Redis does while it is stopped."""

    def __init__(self) -> None:
        self.sends = 0

    async def group_send(self, group: str, message: dict) -> None:
        self.sends += 1
        raise ConnectionRefusedError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.mark.django_db
def test_event_sends_pause_after_layer_failure(monkeypatch):
    layer = _FailingLayer()
    monkeypatch.setattr("imports.events.get_channel_layer", lambda: layer)
    monkeypatch.setattr("imports.events._layer_failed_at", None)
    running = ImportJobFactory(status=ImportStatus.FINALIZING)
    finished = ImportJobFactory(status=ImportStatus.DONE)

    for _ in range(10):
        import_event_send(job=running)
    sends_while_running = layer.sends
    import_event_send(job=finished)
    sends_with_final_state = layer.sends
    monkeypatch.setattr("imports.events.LAYER_RETRY_AFTER_SECONDS", 0.0)
    import_event_send(job=running)

    assert sends_while_running == 1
    assert sends_with_final_state == 2
    assert layer.sends == 3


def _phases_failing_once(error: Exception):
    calls = []

    def run(job, reporter) -> None:
        calls.append(job.checkpoint)
        if len(calls) == 1:
            raise error
        reporter.finish(ImportStatus.DONE, summary=job.summary)

    return run, calls


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "runs", "status"),
    [(2013, 2, ImportStatus.DONE), (1927, 2, ImportStatus.DONE), (1054, 1, ImportStatus.FAILED)],
)
def test_lost_connection_retried_other_errors_not(monkeypatch, settings, tmp_path, code, runs,
                                                  status):
    settings.VAR_DIR = tmp_path
    job = ImportJobFactory(status=ImportStatus.QUEUED)
    ImportJob.objects.filter(pk=job.pk).update(checkpoint={"phase": "finalizing", "plain_after": [1, 2]})
    run, calls = _phases_failing_once(OperationalError(code, "Lost connection to server during query"))
    monkeypatch.setattr("imports.pipeline.runner._phases_run", run)
    monkeypatch.setattr("imports.pipeline.runner.time.sleep", lambda seconds: None)
    # The test's own transaction uses the connection, which must stay open.
    monkeypatch.setattr("imports.pipeline.runner.connection_drop", lambda: None)
    monkeypatch.setattr(connection, "vendor", "mysql")

    import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert len(calls) == runs
    assert calls[-1] == {"phase": "finalizing", "plain_after": [1, 2]}
    assert job.status == status
    assert job.attempts == 1
