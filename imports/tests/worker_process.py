"""A real Celery worker in a process group of its own, for tests that need one."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from celery import Celery

READY_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 20
LOG_TAIL_CHARS = 4_000
QUEUES = ("imports", "default")
# A job whose worker wrote no progress for this long counts as dead. It is short, so the
# tests that kill a worker wait little, and the large-file test checks that a healthy
# worker never pauses this long.
WORKER_STALE_AFTER_SECONDS = 5


class WorkerProcess:
    """Start, kill and stop `celery worker` on the imports and default queues.

    The worker runs in a new session, so its process group contains only the main process
    and its pool child. kill() and stop() signal that group and no other process.
    """

    def __init__(self, *, env: dict[str, str], cwd: Path, log_path: Path, media_root: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.log_path = log_path
        # Where the worker reads uploads; the test process must store them there too.
        self.media_root = media_root
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start a worker and wait until it consumes; raise RuntimeError when it does not."""
        self.starts += 1
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        node = f"imports-tests-{os.getpid()}-{self.starts}@%h"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "ops_portal", "worker",
                    "-Q", ",".join(QUEUES), "-c", "1", "--pool=prefork", "-n", node,
                    "--without-mingle", "--without-gossip", "--loglevel=INFO",
                ],
                cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if " ready." in self._log_text(offset):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"The Celery worker did not start within {READY_TIMEOUT_SECONDS} s. Its log:\n"
            f"{self.log_tail()}"
        )

    def ensure_running(self) -> None:
        if not self.running:
            self.start()

    def kill(self) -> None:
        """Kill the worker and its pool child at once with SIGKILL, as a crash would."""
        if not self.running:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_SECONDS)

    def stop(self) -> None:
        """Stop the worker with SIGTERM, which lets it finish its task; SIGKILL after a while."""
        if not self.running:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self) -> str:
        return self._log_text(0)[-LOG_TAIL_CHARS:]

    def _log_text(self, offset: int) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace")


def queues_clear(app: Celery) -> None:
    """Drop waiting and unacknowledged messages of the worker's queues from the broker.

    A killed worker leaves its message unacknowledged; the Redis transport would deliver
    it again an hour later (its visibility timeout), to whichever worker then listens.
    """
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in QUEUES:
            channel.queue_purge(queue)
        channel.client.delete(channel.unacked_key, channel.unacked_index_key)
