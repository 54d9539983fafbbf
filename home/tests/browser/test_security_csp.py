"""Chromium under the portal's Content-Security-Policy: the admin, the API docs and the websocket.

The tests need MariaDB and Redis and are skipped on the embedded SQLite default.
`signed_in` fails a test whose pages raised a script error or had a resource refused
under the policy.
"""

import pytest

from inventory.tests.factories import ProductFactory, StoreFactory, back_office_user

pytestmark = pytest.mark.browser

OPEN_SOCKET = """
(url) => new Promise((resolve) => {
  let socket;
  try { socket = new WebSocket(url); } catch (error) { resolve("refused"); return; }
  const timer = setTimeout(() => resolve("timeout"), 5000);
  socket.onopen = () => { clearTimeout(timer); socket.close(); resolve("open"); };
  socket.onerror = () => { clearTimeout(timer); resolve("error"); };
})
"""


def test_admin_change_list_and_form_work_under_csp(signed_in):
    ProductFactory(sku="ACC-1", name="Charger")
    page = signed_in(back_office_user(username="office"))

    page.goto("/admin/inventory/product/")
    page.get_by_role("link", name="ACC-1").first.click()
    page.wait_for_url("**/change/")
    name_field = page.locator("#id_name")

    assert name_field.input_value() == "Charger"
    assert page.evaluate("getComputedStyle(document.querySelector('#header')).display") != "none"


def test_admin_action_checkboxes_run_scripts_under_csp(signed_in):
    user = back_office_user(username="office", is_superuser=True)
    back_office_user(username="office2")
    page = signed_in(user)

    page.goto("/admin/auth/user/")
    page.locator("#action-toggle").check()
    counter = page.locator(".action-counter")

    assert "2 of 2 selected" in counter.inner_text()


def test_api_docs_render_under_csp(signed_in):
    page = signed_in(back_office_user(username="office"))

    page.goto("/api/docs")
    page.locator(".swagger-ui .opblock").first.wait_for()

    assert page.locator(".swagger-ui .opblock-tag", has_text="imports").count() >= 1


def test_websocket_to_own_host_is_allowed(signed_in, portal_server):
    page = signed_in(back_office_user(username="office"))
    url = portal_server.url.replace("http://", "ws://") + "/ws/imports/"

    outcome = page.evaluate(OPEN_SOCKET, url)

    assert outcome == "open"


def test_websocket_to_other_host_is_refused(signed_in, portal_server, page_errors):
    StoreFactory()
    page = signed_in(back_office_user(username="office"))
    other_origin = portal_server.url.replace("http://127.0.0.1", "ws://localhost")

    outcome = page.evaluate(OPEN_SOCKET, other_origin + "/ws/imports/")
    refusals = [error for error in page_errors if error.startswith("CSP:")]
    page_errors.clear()

    assert outcome in ("error", "refused")
    assert len(refusals) == 1
    assert "connect-src" in refusals[0]
