"""A second process that validates the later rows of a file while the worker validates the rest.

Validation is Python work, so one process keeps one core busy. For a kind whose chunks
validate without the chunks before them (a stock count), the worker forks a child before
validating. The child validates the rows from a split point on. It writes their staging
files and error rows on its own database connection, and reports over a pipe: each
staging file it finishes, its row counts after each chunk, and its stores at the end.
The worker hands the child's files to its loader, adds the child's counts to its own,
and stops the child on a cancel request or an error.

Linux only: the child sets PR_SET_PDEATHSIG, so the kernel kills it when the worker dies
and a killed worker never leaves a child writing rows for a job that runs again elsewhere.
"""

import ctypes
import logging
import os
import pickle
import signal
import sys
import time
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, Pipe
from pathlib import Path

from django.db import connections
from django.db.backends.signals import connection_created

from imports.errors import ImportJobFailed
from imports.problems import ImportErrorCode, ImportFileError

logger = logging.getLogger(__name__)

# prctl() option that sends the calling process a signal when its parent ends.
PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.25
# A child that reports nothing for this long is stuck: a chunk of 5,000 rows takes about a
# second on a busy 2-core machine (measured with the import benchmark's files).
SILENT_LIMIT_SECONDS = 300
# Signals that Celery's pool process handles. The child restores their default action.
RESET_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGUSR1)

# Database connections that the child inherited from the worker. The child never uses,
# closes or frees them: closing one would end the worker's session on the server.
_inherited_connections: list[object] = []
# Every database connection of this process, on any thread. Django keeps a thread's
# connections in thread-local storage, which a forked child drops for all threads but
# the one that forked. The child's garbage collector would then free those connections,
# and freeing a MySQL connection sends the server the worker's QUIT.
_process_connections: "weakref.WeakSet[object]" = weakref.WeakSet()


def _connection_remember(sender, connection, **kwargs) -> None:
    _process_connections.add(connection)


connection_created.connect(_connection_remember, dispatch_uid="imports.second_validator")


@dataclass
class ValidationTally:
    """Rows that one process has validated, and how they came out."""

    rows_done: int = 0
    rows_ok: int = 0
    rows_bad: int = 0
    store_ids: set[int] = field(default_factory=set)


class SecondValidatorFailed(Exception):
    """The second validating process ended without reporting its result."""


class SecondValidator:
    """The worker's handle on the child that validates the later rows."""

    def __init__(self, pid: int, receiver: Connection) -> None:
        self.pid = pid
        self.receiver = receiver
        self.tally = ValidationTally()
        self.finished = False
        self.reported_at = time.monotonic()

    @staticmethod
    def usable() -> bool:
        return sys.platform == "linux"

    @classmethod
    def start(cls, run: Callable[[Callable[[tuple], None]], ValidationTally]) -> "SecondValidator":
        """Fork the child, which calls ``run`` with a function that reports to the worker.

        ``run`` validates the child's rows and returns its tally; whatever it raises is
        raised again in the worker by poll().
        """
        receiver, sender = Pipe(duplex=False)
        worker_pid = os.getpid()
        # Referenced across the fork, so the child keeps every thread's connection.
        thread_connections = list(_process_connections)
        with warnings.catch_warnings():
            # Python warns that another thread may hold a lock at fork time, which the
            # child would then wait for forever. The child opens its own database
            # connection and logs through logging, whose handler locks Python renews in a
            # forked child. NOTE: a lock of an output stream that the heartbeat thread held
            # at that moment would still stop the child. wait() ends such a child after
            # SILENT_LIMIT_SECONDS.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            receiver.close()
            _inherited_connections.extend(thread_connections)
            _child_main(sender, run, worker_pid)
        del thread_connections
        sender.close()
        logger.info("import.second_validator_started pid=%s", pid)
        return cls(pid, receiver)

    def poll(self, on_file: Callable[[Path], None], timeout: float = 0) -> None:
        """Handle the child's reports, and raise the child's error if it failed."""
        while not self.finished and self.receiver.poll(timeout):
            timeout = 0
            self.reported_at = time.monotonic()
            try:
                kind, payload = self.receiver.recv()
            except EOFError:
                self._reap()
                raise SecondValidatorFailed(
                    f"The second validating process (pid {self.pid}) exited without a result; "
                    "the worker log shows why."
                ) from None
            if kind == "file":
                on_file(payload)
            elif kind == "tally":
                self.tally = payload
            elif kind == "done":
                self.tally = payload
                self.finished = True
                self._reap()
            else:
                self._reap()
                raise _error_rebuild(payload)

    def wait(self, on_file: Callable[[Path], None], on_progress: Callable[[], None]) -> None:
        """Handle reports until the child is done, calling ``on_progress`` between them."""
        while not self.finished:
            if time.monotonic() - self.reported_at > SILENT_LIMIT_SECONDS:
                raise SecondValidatorFailed(
                    f"The second validating process (pid {self.pid}) reported nothing for "
                    f"{SILENT_LIMIT_SECONDS} s, so it was stopped."
                )
            self.poll(on_file, timeout=POLL_SECONDS)
            on_progress()

    def stop(self) -> None:
        """End the child if it still runs, and release its pipe."""
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap()
        self.receiver.close()

    def _reap(self) -> None:
        if self.pid:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                # The worker ignores SIGCHLD, so the kernel has reaped the child already.
                pass
            self.pid = 0


def _child_main(sender: Connection, run: Callable, worker_pid: int) -> None:
    """Run in the forked child: validate, report the outcome, and exit without cleanup."""
    status = 0
    try:
        _die_with_worker(worker_pid)
        for signum in RESET_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        _connections_detach()
        tally = run(lambda message: sender.send(message))
        sender.send(("done", tally))
    except BaseException as error:
        status = 1
        if not isinstance(error, (ImportFileError, ImportJobFailed)):
            logger.exception("import.second_validator_fault pid=%s", os.getpid())
        try:
            sender.send(("failed", _error_report(error)))
        except OSError:
            pass
    finally:
        try:
            connections.close_all()
        finally:
            # Exit without running finalizers, which would close the inherited
            # connections, and without Celery's or pytest's exit handlers.
            os._exit(status)


def _die_with_worker(worker_pid: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    # The worker may have died before prctl() took effect.
    if os.getppid() != worker_pid:
        os._exit(1)


def _connections_detach() -> None:
    """Make Django open new database connections in the child instead of sharing the worker's."""
    for wrapper in connections.all(initialized_only=True):
        if wrapper.connection is not None:
            _inherited_connections.append(wrapper.connection)
            wrapper.connection = None


def _error_report(error: BaseException) -> tuple:
    """Return what the worker needs to raise the error again, in a form that pickles.

    The pipeline's own errors take keyword arguments, which pickling an exception loses.
    """
    if isinstance(error, ImportFileError):
        return ("file", str(error.code), error.message)
    if isinstance(error, ImportJobFailed):
        return ("job", str(error.code), error.message)
    try:
        return ("other", pickle.loads(pickle.dumps(error)))
    except Exception:
        return ("other", SecondValidatorFailed(f"{type(error).__name__}: {error}"))


def _error_rebuild(report: tuple) -> BaseException:
    kind, *details = report
    if kind == "file":
        code, message = details
        return ImportFileError(ImportErrorCode(code), message)
    if kind == "job":
        code, message = details
        return ImportJobFailed(message, code=code)
    return details[0]
