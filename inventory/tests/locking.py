"""Test helper: a write run while another connection holds row locks in an open transaction."""

import threading
from collections.abc import Callable

from django.db import connection


def write_while_locked(
    lock: Callable[[threading.Event, threading.Event], None], write: Callable[[], int]
) -> int:
    """Run ``write`` while ``lock`` holds its locks in a thread of its own; return its result.

    ``lock`` takes its locks inside a transaction, sets its first event and waits for the
    second. ``write`` waits at most 1 s for a lock and raises OperationalError 1205 if it
    would wait longer.
    """
    locked = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            lock(locked, release)
        except BaseException as error:
            errors.append(error)
            locked.set()
        finally:
            connection.close()

    holder = threading.Thread(target=run)
    holder.start()
    try:
        assert locked.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
        try:
            return write()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET SESSION innodb_lock_wait_timeout = DEFAULT")
    finally:
        release.set()
        holder.join(10)
        assert errors == []
