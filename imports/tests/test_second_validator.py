"""A second process that validates the later rows of a stock count beside the worker.

The worker forks it on MySQL and MariaDB outside any transaction, so these tests run
outside the test transaction too: the second process writes on its own connection.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import psutil
import pytest
from django.conf import settings
from django.db import connection

from imports.errors import ImportErrorCode
from imports.models import ImportJob, ImportStatus
from imports.pipeline import runner
from imports.pipeline.kinds.stock import StockHandler
from imports.tests.helpers import error_rows, import_run
from inventory.models import SerialUnit, StockLevel
from inventory.tests.factories import (
    ProductFactory,
    SerializedProductFactory,
    StoreFactory,
    back_office_user,
)
from ops_portal.imei import imei_with_check_digit

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the second process is Linux only")


def on_mysql(test):
    """Run the test outside the test transaction, on MySQL or MariaDB only."""
    test = pytest.mark.django_db(transaction=True)(test)
    return pytest.mark.skipif(
        connection.vendor != "mysql", reason="only MySQL and MariaDB validate with a second process"
    )(test)

IMEI_1, IMEI_2, IMEI_3 = (imei_with_check_digit(f"3500000000{number:04d}") for number in (1, 2, 3))
# Twelve data rows, lines 2 to 13. The worker validates lines 2 to 7 (55% of the rows)
# and the second process lines 8 to 13.
COUNT_LINES = [
    "S001,ACC-1,,3,",
    f"S001,PHN-1,{IMEI_1},,",
    "S001,NOPE,,1,",
    "S001,ACC-1,,2,",
    f"S001,PHN-1,{IMEI_2},,",
    "S002,ACC-2,,4,",
    f"S002,PHN-1,{IMEI_1},,",
    "S002,ACC-1,,1,",
    "S002,NOPE,,1,",
    f"S003,PHN-1,{IMEI_3},,",
    f"S003,PHN-1,{IMEI_3},,",
    "S001,ACC-1,,5,",
]


@pytest.fixture
def count_file(tmp_path, settings, monkeypatch):
    """The count above, validated in chunks of two rows by two processes."""
    for code in ("S001", "S002", "S003"):
        StoreFactory(code=code)
    ProductFactory(sku="ACC-1")
    ProductFactory(sku="ACC-2")
    SerializedProductFactory(sku="PHN-1")
    settings.IMPORT_VALIDATION_SPLIT_MIN_ROWS = 10
    monkeypatch.setattr(runner, "VALIDATE_CHUNK_ROWS", 2)
    path = tmp_path / "count.csv"
    path.write_text("store,sku,serial,qty,status\n" + "\n".join(COUNT_LINES) + "\n")
    return path


def chunks_logged(monkeypatch, log: Path, before=None) -> None:
    """Append the process id and first line of each validated chunk to ``log``.

    ``before`` runs ahead of each chunk with the process id of the test.
    """
    test_pid = os.getpid()
    validate_chunk = StockHandler.validate_chunk

    def logged(self, rows):
        with log.open("a") as handle:
            handle.write(f"{os.getpid()} {rows[0].number}\n")
        if before is not None:
            before(self, test_pid)
        return validate_chunk(self, rows)

    monkeypatch.setattr(StockHandler, "validate_chunk", logged)


def chunk_lines_by_process(log: Path) -> dict[int, list[int]]:
    lines: dict[int, list[int]] = {}
    for entry in log.read_text().split("\n"):
        if entry:
            pid, line = entry.split()
            lines.setdefault(int(pid), []).append(int(line))
    return lines


def second_pids(log: Path) -> list[int]:
    """Return the ids of the processes other than the test's that validated a chunk."""
    return [pid for pid in chunk_lines_by_process(log) if pid != os.getpid()]


@on_mysql
def test_second_process_validates_later_rows(count_file, tmp_path, monkeypatch):
    log = tmp_path / "chunks.log"
    chunks_logged(monkeypatch, log)

    job = import_run(count_file, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE, job.failure_reason
    lines = chunk_lines_by_process(log)
    assert lines.pop(os.getpid()) == [2, 4, 6]
    assert list(lines.values()) == [[8, 10, 12]]
    assert (job.rows_total, job.rows_ok, job.rows_bad) == (12, 8, 4)
    assert error_rows(job) == {
        4: ["sku_unknown"], 8: ["serial_duplicate"], 10: ["sku_unknown"], 12: ["serial_duplicate"],
    }
    messages = dict(job.row_errors.filter(code="serial_duplicate").values_list("row_number", "message"))
    assert "row 3 lists it first" in messages[8]
    assert "row 11 lists it first" in messages[12]
    levels = {
        (level.store.code, level.product.sku): level.on_hand
        for level in StockLevel.objects.select_related("store", "product")
    }
    assert levels == {
        ("S001", "ACC-1"): 10, ("S001", "PHN-1"): 2, ("S002", "ACC-2"): 4,
        ("S002", "ACC-1"): 1, ("S003", "PHN-1"): 1,
    }
    units = dict(SerialUnit.objects.values_list("serial", "store__code"))
    assert units == {IMEI_1: "S001", IMEI_2: "S001", IMEI_3: "S003"}
    assert set(job.stores.values_list("code", flat=True)) == {"S001", "S002", "S003"}
    # The worker reaped its second process, which leaves no zombie behind.
    assert not any(psutil.pid_exists(pid) for pid in second_pids(log))


@on_mysql
def test_one_process_below_the_split_size(count_file, tmp_path, monkeypatch, settings):
    settings.IMPORT_VALIDATION_SPLIT_MIN_ROWS = 13
    log = tmp_path / "chunks.log"
    chunks_logged(monkeypatch, log)

    job = import_run(count_file, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.DONE, job.failure_reason
    assert chunk_lines_by_process(log) == {os.getpid(): [2, 4, 6, 8, 10, 12]}
    assert (job.rows_ok, job.rows_bad) == (8, 4)


@on_mysql
def test_error_in_second_process_fails_job(count_file, tmp_path, monkeypatch):
    def fail_in_second(handler, test_pid):
        if os.getpid() != test_pid:
            raise RuntimeError("validation broke")

    log = tmp_path / "chunks.log"
    chunks_logged(monkeypatch, log, before=fail_in_second)

    job = import_run(count_file, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.FAILED
    assert job.failure_code == ImportErrorCode.WORKER_FAULT
    assert StockLevel.objects.count() == 0
    assert len(second_pids(log)) == 1
    assert not any(psutil.pid_exists(pid) for pid in second_pids(log))


@on_mysql
def test_cancel_stops_second_process(count_file, tmp_path, monkeypatch):
    def cancel_while_second_waits(handler, test_pid):
        if os.getpid() == test_pid:
            ImportJob.objects.filter(pk=handler.job.pk).update(cancel_requested=True)
        else:
            time.sleep(60)

    log = tmp_path / "chunks.log"
    chunks_logged(monkeypatch, log, before=cancel_while_second_waits)
    started = time.monotonic()

    job = import_run(count_file, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.CANCELLED
    assert time.monotonic() - started < 30
    assert StockLevel.objects.count() == 0
    assert len(second_pids(log)) == 1
    assert not any(psutil.pid_exists(pid) for pid in second_pids(log))


# A worker that starts a second process whose run waits, and prints that process's id.
WORKER_SCRIPT = """
import os, sys, time
import django
django.setup()
from imports.pipeline.second_validator import SecondValidator

def run(report):
    time.sleep(120)

second = SecondValidator.start(run)
print(second.pid, flush=True)
time.sleep(120)
"""


def test_second_process_ends_when_worker_is_killed():
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT], stdout=subprocess.PIPE, text=True,
        cwd=settings.BASE_DIR, env={**os.environ, "DJANGO_SETTINGS_MODULE": "ops_portal.settings"},
    )
    try:
        second_pid = int(worker.stdout.readline())
        assert psutil.pid_exists(second_pid)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        worker.stdout.close()

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _running(second_pid):
        time.sleep(0.05)
    assert not _running(second_pid)


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# A thread forks the second process while the main thread's connection is open, as in
# import_file, which runs the job on a thread and reads its progress on the main one.
# The child collects its garbage, which frees the connections of threads it does not
# have unless the fork kept them.
THREADS_SCRIPT = """
import gc, threading
import django
django.setup()
from django.db import connection
from imports.pipeline.second_validator import SecondValidator, ValidationTally

def connection_id():
    with connection.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        return cursor.fetchone()[0]

def run(report):
    gc.collect()
    connection_id()
    return ValidationTally(rows_done=1)

def fork():
    connection.ensure_connection()
    second = SecondValidator.start(run)
    second.wait(on_file=lambda path: None, on_progress=lambda: None)
    second.stop()
    connection.close()

before = connection_id()
thread = threading.Thread(target=fork)
thread.start()
thread.join()
print(before, connection_id(), flush=True)
"""


@on_mysql
def test_other_threads_keep_connections_across_fork():
    database = connection.settings_dict
    url = (
        f"mysql://{quote(database['USER'])}:{quote(database['PASSWORD'])}@{database['HOST']}:"
        f"{database['PORT'] or 3306}/{database['NAME']}"
    )

    result = subprocess.run(
        [sys.executable, "-c", THREADS_SCRIPT], capture_output=True, text=True, timeout=60,
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "ops_portal.settings", "DATABASE_URL": url},
    )

    assert result.returncode == 0, result.stderr[-2000:]
    before, after = result.stdout.split()
    assert before == after
