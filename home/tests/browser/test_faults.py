"""Home in Chromium while Redis, the channel layer of the imports websocket, stops and starts.

The page talks to a daphne and a worker on a MariaDB and a Redis of this module's own, so
the test can stop that Redis without touching the servers other tests share.
"""

import json
import time

import pytest
import requests
from django.test import Client

from imports.tests.private_servers import private_stack  # noqa: F401 - fixture
from inventory.tests.factories import ProductFactory, StoreFactory, back_office_user
from ops_portal.tokens import api_token_create

WAIT_SECONDS = 30
HTTP_TIMEOUT_SECONDS = 30


def _wait_for(page, condition, *, what: str, timeout: float = WAIT_SECONDS) -> None:
    """Let the page run until ``condition()`` holds; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        page.wait_for_timeout(100)
    pytest.fail(f"Timed out after {timeout} s waiting for {what}.")


@pytest.mark.django_db(transaction=True)
def test_import_socket_reconnects_after_redis_restart(private_stack, browser):
    stack = private_stack
    with stack.orm():
        StoreFactory(code="B001")
        ProductFactory(sku="ACC-B1")
        user = back_office_user()
        _token, key = api_token_create(user=user, name="browser fault tests")
        login = Client()
        login.force_login(user)
        session_id = login.cookies["sessionid"].value
    context = browser.new_context(base_url=stack.portal.url)
    context.add_cookies([{"name": "sessionid", "value": session_id, "url": stack.portal.url}])
    page = context.new_page()
    sockets = []
    frames: list[tuple[int, dict]] = []

    def socket_opened(socket) -> None:
        number = len(sockets)
        sockets.append(socket)
        socket.on("framereceived", lambda payload: frames.append((number, json.loads(payload))))

    page.on("websocket", socket_opened)
    try:
        page.goto("/home/")
        _wait_for(page, lambda: frames, what="the first snapshot")

        stack.redis.stop()
        _wait_for(page, lambda: all(socket.is_closed() for socket in sockets),
                  what="the socket to close without Redis")
        opened_while_down = len(sockets)
        stack.redis.start()
        _wait_for(page, lambda: any(number >= opened_while_down for number, _ in frames),
                  what="a snapshot on a socket opened after Redis came back")
        response = requests.post(
            f"{stack.portal.url}/api/imports",
            files={"file": ("count.csv", b"store,sku,qty\nB001,ACC-B1,3\n", "text/csv")},
            data={"kind": "stock", "options": "{}"},
            headers={"Authorization": f"Bearer {key}"}, timeout=HTTP_TIMEOUT_SECONDS,
        )
        task_id = response.json()["task_id"]
        _wait_for(
            page,
            lambda: any(
                frame.get("type") == "import.event" and frame["event"]["task_id"] == task_id
                and frame["event"]["status"] == "done"
                for _, frame in frames
            ),
            what="the new import's final event",
        )
    finally:
        context.close()

    assert response.status_code == 202
    assert len(sockets) > opened_while_down
