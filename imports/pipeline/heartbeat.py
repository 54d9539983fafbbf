"""A thread that keeps a running job's heartbeat fresh while one step of a phase takes long.

The progress reporter writes heartbeat_at with every progress write, but a single step
can run for minutes without one. Examples are a large finalize statement, deleting a
retried job's staged rows, LOAD DATA of a chunk, and calamine reading a whole XLSX sheet.
Without a heartbeat for IMPORT_STALE_AFTER_SECONDS, the sweep would queue the job again
and a second worker would run it beside the first. This thread writes heartbeat_at on
its own database connection whenever the job row has gone without one for an interval.
"""

import datetime
import logging
import threading

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from imports.models import ImportJob, RUNNING_STATUSES
from ops_portal.database_errors import connection_drop

logger = logging.getLogger(__name__)

# The thread writes every quarter of IMPORT_STALE_AFTER_SECONDS, within these bounds, so
# even a write that waits on a lock lands well before the job would count as stale.
MIN_INTERVAL_SECONDS = 0.5
MAX_INTERVAL_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 5.0


def heartbeat_interval() -> float:
    """Return the seconds between two heartbeat writes."""
    quarter = settings.IMPORT_STALE_AFTER_SECONDS / 4
    return min(MAX_INTERVAL_SECONDS, max(MIN_INTERVAL_SECONDS, quarter))


class JobHeartbeat:
    """Write a job's heartbeat from a daemon thread until stop() is called.

    The write matches the run's attempt number and a running status, so it never marks
    a job as alive that has finished or that another worker has claimed since. A failed write is logged and tried
    again at the next interval. The thread does nothing while the progress reporter writes
    heartbeats itself, so the job row gets at most one extra write per interval.

    NOTE: the thread proves that the worker process lives, not that the run makes
    progress. A run that hangs keeps a fresh heartbeat, so the sweep never replaces it;
    cancel the job or stop the worker.
    """

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.attempt = job.attempts
        self.interval = heartbeat_interval()
        self.writes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def start_for(cls, job: ImportJob) -> "JobHeartbeat":
        """Start a heartbeat thread for the job, unless the caller is inside a transaction.

        A worker runs jobs outside any transaction. Inside one (tests that run a job in
        their own transaction) a second connection could not see the job's uncommitted
        state and would wait on its row lock, so no thread starts.
        """
        heartbeat = cls(job)
        if not connection.in_atomic_block:
            heartbeat._thread = threading.Thread(
                target=heartbeat._run, name=f"import-heartbeat-{job.pk}", daemon=True
            )
            heartbeat._thread.start()
        return heartbeat

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop the thread and wait for its last write to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT_SECONDS)

    def _run(self) -> None:
        last_write = timezone.now()
        try:
            while not self._stop.wait(self.interval):
                # The reporter sets job.heartbeat_at on each of its writes; reading the
                # attribute from this thread is safe, and a stale value only adds a write.
                latest = max(filter(None, (self.job.heartbeat_at, last_write)))
                if timezone.now() - latest < datetime.timedelta(seconds=self.interval):
                    continue
                if self._write():
                    last_write = timezone.now()
        finally:
            connection.close()

    def _write(self) -> bool:
        try:
            updated = ImportJob.objects.filter(
                pk=self.job.pk, attempts=self.attempt, status__in=RUNNING_STATUSES
            ).update(heartbeat_at=timezone.now())
        except DatabaseError as error:
            logger.warning(
                "import.heartbeat_failed task_id=%s error=%s", self.job.task_id, error
            )
            connection_drop()
            return False
        if not updated:
            # The job finished or another worker claimed it; the run notices by itself.
            self._stop.set()
            return False
        self.writes += 1
        return True
