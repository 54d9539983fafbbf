"""The imports websocket, driven through the whole ASGI application with a session cookie.

Each test runs once on the in-memory channel layer and once on the Redis layer (the Redis
run needs REDIS_URL). The consumer reads the session, the user and the jobs on other
threads, so the tests commit their data (transactional tests).
"""

import asyncio
import os

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from channels_redis.core import RedisChannelLayer

from imports.consumers import CLOSE_NOT_AUTHENTICATED
from imports.events import import_event_send
from imports.models import ImportJob
from imports.pipeline.runner import import_job_run
from imports.services import import_job_start
from imports.tests.factories import ImportJobFactory
from inventory.tests.factories import ProductFactory, StoreFactory, back_office_user, staff_user
from ops_portal.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

# The application checks the Origin header against ALLOWED_HOSTS.
ORIGIN = (b"origin", b"http://127.0.0.1")
# Long enough for a message to cross Redis on a loaded machine.
RECEIVE_SECONDS = 3
NOTHING_SECONDS = 0.5
MAX_EVENTS = 50


@pytest.fixture(params=["in-memory", "redis"])
def channel_layer(request, settings):
    """Switch the channel layer for one test; the Redis layer gets a prefix of its own."""
    if request.param == "redis":
        if not settings.REDIS_URL:
            pytest.skip("needs Redis for the Redis channel layer; set REDIS_URL")
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [settings.REDIS_URL], "prefix": f"tests-{os.getpid()}"},
            }
        }
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return request.param


def _run(scenario) -> None:
    """Run an async scenario on a new event loop, then empty and close the channel layer."""

    async def main() -> None:
        try:
            await scenario()
        finally:
            layer = get_channel_layer()
            await layer.flush()
            if isinstance(layer, RedisChannelLayer):
                await layer.close_pools()

    asyncio.run(main())


def _session_cookie(client, user) -> tuple[bytes, bytes]:
    client.force_login(user)
    session_id = client.cookies["sessionid"].value
    return (b"cookie", f"sessionid={session_id}".encode())


def _communicator(*headers: tuple[bytes, bytes]) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, "/ws/imports/", headers=[ORIGIN, *headers])


async def _send(job) -> None:
    await sync_to_async(import_event_send)(job=job)


async def _receive_task_ids(communicator: WebsocketCommunicator, count: int) -> list[str]:
    messages = [await communicator.receive_json_from(timeout=RECEIVE_SECONDS) for _ in range(count)]
    assert {message["type"] for message in messages} == {"import.event"}
    return [message["event"]["task_id"] for message in messages]


async def _receive_events_until_quiet(communicator: WebsocketCommunicator) -> list[dict]:
    events = []
    for _ in range(MAX_EVENTS):
        if await communicator.receive_nothing(timeout=NOTHING_SECONDS):
            break
        events.append((await communicator.receive_json_from())["event"])
    return events


def test_anonymous_socket_is_closed_with_4401(channel_layer):
    closed = {}

    async def scenario() -> None:
        communicator = _communicator()
        closed["connect"] = await communicator.connect(timeout=10)
        closed["output"] = await communicator.receive_output(timeout=RECEIVE_SECONDS)
        await communicator.wait()

    _run(scenario)

    # The socket is accepted first: a close before the handshake reaches a browser as an
    # HTTP 403 without the code.
    assert closed["connect"] == (True, None)
    assert closed["output"] == {"type": "websocket.close", "code": CLOSE_NOT_AUTHENTICATED}


def test_back_office_gets_snapshot_then_events(client, channel_layer):
    user = back_office_user()
    store = StoreFactory()
    earlier = ImportJobFactory(stores=[store])
    running = ImportJobFactory(created_by=staff_user(store), stores=[store])
    cookie = _session_cookie(client, user)
    received = {}

    async def scenario() -> None:
        communicator = _communicator(cookie)
        received["connect"] = await communicator.connect()
        received["snapshot"] = await communicator.receive_json_from(timeout=RECEIVE_SECONDS)
        await _send(running)
        received["event"] = await communicator.receive_json_from(timeout=RECEIVE_SECONDS)
        received["nothing_more"] = await communicator.receive_nothing(timeout=NOTHING_SECONDS)
        await communicator.disconnect()

    _run(scenario)

    assert received["connect"] == (True, None)
    assert received["snapshot"]["type"] == "import.snapshot"
    snapshot_ids = [job["task_id"] for job in received["snapshot"]["jobs"]]
    assert snapshot_ids == [str(running.task_id), str(earlier.task_id)]
    assert received["event"]["type"] == "import.event"
    assert received["event"]["event"]["task_id"] == str(running.task_id)
    assert received["event"]["event"]["status"] == "queued"
    assert "created_by" not in received["event"]["event"]
    assert received["nothing_more"] is True


def test_staff_gets_events_of_own_store_jobs_only(client, channel_layer):
    own_store, other_store = StoreFactory(), StoreFactory()
    user = staff_user(own_store)
    back_office = back_office_user()
    own_store_job = ImportJobFactory(created_by=back_office, stores=[own_store])
    other_store_job = ImportJobFactory(created_by=back_office, stores=[other_store])
    mixed_job = ImportJobFactory(created_by=back_office, stores=[own_store, other_store])
    no_store_job = ImportJobFactory(created_by=back_office)
    created_job = ImportJobFactory(created_by=user)
    cookie = _session_cookie(client, user)
    received = {}

    async def scenario() -> None:
        communicator = _communicator(cookie)
        await communicator.connect()
        received["snapshot"] = await communicator.receive_json_from(timeout=RECEIVE_SECONDS)
        for job in (other_store_job, mixed_job, no_store_job, own_store_job, created_job):
            await _send(job)
        received["events"] = await _receive_task_ids(communicator, 2)
        received["nothing_more"] = await communicator.receive_nothing(timeout=NOTHING_SECONDS)
        await communicator.disconnect()

    _run(scenario)

    snapshot_ids = {job["task_id"] for job in received["snapshot"]["jobs"]}
    assert snapshot_ids == {str(own_store_job.task_id), str(created_job.task_id)}
    assert sorted(received["events"]) == sorted(
        [str(own_store_job.task_id), str(created_job.task_id)]
    )
    assert received["nothing_more"] is True


def test_staff_gets_each_event_once_across_groups(client, channel_layer):
    # The creator's group and both store groups all carry this job's events.
    first_store, second_store = StoreFactory(), StoreFactory()
    user = staff_user(first_store, second_store)
    job = ImportJobFactory(created_by=user, stores=[first_store, second_store])
    cookie = _session_cookie(client, user)
    received = {}

    async def scenario() -> None:
        communicator = _communicator(cookie)
        await communicator.connect()
        await communicator.receive_json_from(timeout=RECEIVE_SECONDS)
        await _send(job)
        await _send(job)
        received["events"] = await _receive_task_ids(communicator, 2)
        received["nothing_more"] = await communicator.receive_nothing(timeout=NOTHING_SECONDS)
        await communicator.disconnect()

    _run(scenario)

    assert received["events"] == [str(job.task_id), str(job.task_id)]
    assert received["nothing_more"] is True


def test_client_message_gets_fresh_snapshot(client, channel_layer):
    user = back_office_user()
    cookie = _session_cookie(client, user)
    received = {}

    async def scenario() -> None:
        communicator = _communicator(cookie)
        await communicator.connect()
        received["first"] = await communicator.receive_json_from(timeout=RECEIVE_SECONDS)
        job = await sync_to_async(ImportJobFactory)(created_by=user)
        received["task_id"] = str(job.task_id)
        await communicator.send_json_to({"type": "resync"})
        received["second"] = await communicator.receive_json_from(timeout=RECEIVE_SECONDS)
        await communicator.disconnect()

    _run(scenario)

    assert received["first"] == {"type": "import.snapshot", "jobs": []}
    assert received["second"]["type"] == "import.snapshot"
    assert [job["task_id"] for job in received["second"]["jobs"]] == [received["task_id"]]


def test_pipeline_run_pushes_progress_to_socket(client, channel_layer):
    store = StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    user = back_office_user()
    upload = SimpleUploadedFile("count.csv", b"store,sku,qty\nS001,ACC-1,5\nS001,ACC-1,x\n")
    job = import_job_start(actor=user, kind="stock", upload=upload, dispatch=False).job
    cookie = _session_cookie(client, user)
    events = []

    async def scenario() -> None:
        communicator = _communicator(cookie)
        await communicator.connect()
        await communicator.receive_json_from(timeout=RECEIVE_SECONDS)
        await sync_to_async(import_job_run, thread_sensitive=False)(job_id=job.pk)
        events.extend(await _receive_events_until_quiet(communicator))
        await communicator.disconnect()

    _run(scenario)

    job.refresh_from_db()
    statuses = [event["status"] for event in events]
    assert statuses[0] == "parsing"
    assert statuses[-1] == "done"
    assert [status for status in dict.fromkeys(statuses)] == [
        "parsing", "validating", "loading", "finalizing", "done",
    ]
    percents = [event["pct"] for event in events]
    assert percents == sorted(percents)
    assert events[-1]["pct"] == 100
    assert (events[-1]["rows_ok"], events[-1]["rows_bad"]) == (1, 1)
    assert events[-1]["error_report_url"] == f"/api/imports/{job.task_id}/errors.csv"
    assert events[-1]["updated_at"] == job.updated_at.isoformat()
    assert list(job.stores.values_list("pk", flat=True)) == [store.pk]
