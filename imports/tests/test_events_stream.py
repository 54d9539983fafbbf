"""The Server-Sent Events stream of one import, read while another thread moves the job.

The view reads the job on other threads, so the tests commit their data (transactional
tests).
"""

import asyncio
import json
import threading
import time
from dataclasses import dataclass

import pytest
from django.db import connection
from django.utils import timezone

from imports.models import ImportJob, ImportStatus
from imports.pipeline.progress import ProgressReporter
from imports.tests.factories import ImportJobFactory
from inventory.tests.factories import StoreFactory, back_office_user, staff_user

pytestmark = pytest.mark.django_db(transaction=True)

# The stream promises at least one event per second while the job runs.
MAX_EVENT_GAP_SECONDS = 1.0
# Bounds of one read, so that a stream that never ends fails the test instead of hanging it.
CHUNK_TIMEOUT_SECONDS = 3.0
MAX_EVENTS = 200
# How long the driving thread leaves the job without a progress write.
QUIET_SECONDS = 2.5


@dataclass
class Event:
    received_at: float
    id: str | None
    name: str | None
    data: dict | None


def _event_parse(block: str, received_at: float) -> Event:
    fields: dict[str, str] = {}
    for line in block.splitlines():
        name, _, value = line.partition(": ")
        fields[name] = value
    data = json.loads(fields["data"]) if "data" in fields else None
    return Event(received_at=received_at, id=fields.get("id"), name=fields.get("event"), data=data)


def _events_read(async_client, url: str, *, first_event: threading.Event | None = None,
                 last_event_id: str | None = None) -> list[Event]:
    """Read the stream to its end, stamping each event with the time it arrived.

    ``first_event`` is set once the first job event arrived.
    """
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}

    async def read() -> list[Event]:
        response = await async_client.get(url, headers=headers)
        assert response.status_code == 200
        assert response["Content-Type"] == "text/event-stream"
        chunks = aiter(response.streaming_content)
        events: list[Event] = []
        buffer = ""
        while len(events) < MAX_EVENTS:
            try:
                chunk = await asyncio.wait_for(anext(chunks), timeout=CHUNK_TIMEOUT_SECONDS)
            except StopAsyncIteration:
                break
            buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                events.append(_event_parse(block, time.monotonic()))
            if first_event is not None and len(events) > 1:
                first_event.set()
        return events

    return asyncio.run(read())


def _progress_drive(job_pk: int, reader_started: threading.Event) -> None:
    """Move the job through validating with one long pause, then finish it. Runs in a thread."""
    try:
        reader_started.wait(timeout=10)
        reporter = ProgressReporter(ImportJob.objects.get(pk=job_pk))
        reporter.phase_start(ImportStatus.VALIDATING, total=100)
        for rows in (10, 20, 30, 40, 50):
            time.sleep(0.1)
            reporter.advance(rows, force=True)
        time.sleep(QUIET_SECONDS)
        reporter.advance(80, force=True)
        time.sleep(0.3)
        reporter.finish(ImportStatus.DONE)
    finally:
        connection.close()


def test_running_job_sends_event_every_second(async_client):
    user = back_office_user()
    job = ImportJobFactory(created_by=user, status=ImportStatus.PARSING)
    async_client.force_login(user)
    reader_started = threading.Event()
    driver = threading.Thread(target=_progress_drive, args=[job.pk, reader_started])

    driver.start()
    url = f"/api/imports/{job.task_id}/events"
    events = _events_read(async_client, url, first_event=reader_started)
    driver.join(timeout=10)

    assert not driver.is_alive()
    # The stream starts with a retry hint, which is not an event.
    assert events[0].name is None
    updates = events[1:]
    gaps = [later.received_at - earlier.received_at for earlier, later in zip(updates, updates[1:])]
    assert max(gaps) <= MAX_EVENT_GAP_SECONDS
    heartbeats = len(updates) - len({update.id for update in updates})
    assert heartbeats >= 2
    assert all(update.id for update in updates)
    assert [int(update.id) for update in updates] == sorted(int(update.id) for update in updates)
    statuses = [update.data["status"] for update in updates]
    assert list(dict.fromkeys(statuses)) == ["parsing", "validating", "done"]
    assert updates[-1].name == "import.finished"
    assert updates[-1].data["pct"] == 100
    assert {update.name for update in updates[:-1]} == {"import.progress"}


def test_reconnect_after_final_event_gets_204(client, async_client):
    user = back_office_user()
    job = ImportJobFactory(created_by=user, status=ImportStatus.DONE, finished_at=timezone.now())
    client.force_login(user)
    async_client.force_login(user)
    url = f"/api/imports/{job.task_id}/events"
    events = _events_read(async_client, url)

    reconnect = client.get(url, HTTP_LAST_EVENT_ID=events[-1].id)

    assert [event.name for event in events[1:]] == ["import.finished"]
    assert events[-1].data["status"] == "done"
    assert reconnect.status_code == 204


def test_reconnect_with_older_id_gets_final_state(async_client):
    user = back_office_user()
    job = ImportJobFactory(created_by=user, status=ImportStatus.DONE, finished_at=timezone.now())
    async_client.force_login(user)

    url = f"/api/imports/{job.task_id}/events"
    events = _events_read(async_client, url)
    older = _events_read(async_client, url, last_event_id="1")

    assert [event.id for event in older[1:]] == [events[-1].id]
    assert older[-1].name == "import.finished"


def test_events_reject_anonymous(client):
    job = ImportJobFactory()

    response = client.get(f"/api/imports/{job.task_id}/events")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_events_hide_other_store_job(client):
    own_store, other_store = StoreFactory(), StoreFactory()
    job = ImportJobFactory(created_by=back_office_user(), stores=[other_store])
    client.force_login(staff_user(own_store))

    response = client.get(f"/api/imports/{job.task_id}/events")

    assert response.status_code == 404
    assert response.json()["code"] == "import_not_found"
