import pytest

from inventory.tests.factories import StoreFactory, back_office_user, staff_user

pytestmark = pytest.mark.django_db

EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; "
    "object-src 'none'"
)
EXPECTED_HEADERS = {
    "Content-Security-Policy": EXPECTED_CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "X-Content-Type-Options": "nosniff",
}


def _assert_security_headers(response) -> None:
    for name, value in EXPECTED_HEADERS.items():
        assert response.get(name) == value, f"{name} on {response.request['PATH_INFO']}"


def test_login_page_has_security_headers(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    _assert_security_headers(response)


def test_home_page_has_security_headers(client):
    client.force_login(staff_user(StoreFactory()))

    response = client.get("/home/")

    assert response.status_code == 200
    _assert_security_headers(response)


def test_api_has_security_headers(client):
    client.force_login(back_office_user())

    response = client.get("/api/imports")

    assert response.status_code == 200
    _assert_security_headers(response)


def test_api_error_has_security_headers(client):
    response = client.get("/api/imports")

    assert response.status_code == 401
    _assert_security_headers(response)


def test_admin_pages_have_security_headers(client):
    client.force_login(back_office_user())

    index = client.get("/admin/")
    changelist = client.get("/admin/inventory/product/")

    assert index.status_code == 200
    assert changelist.status_code == 200
    _assert_security_headers(index)
    _assert_security_headers(changelist)


def test_admin_login_has_security_headers(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    _assert_security_headers(response)


def test_api_docs_load_swagger_from_portal(client):
    client.force_login(back_office_user())

    response = client.get("/api/docs")
    text = response.content.decode()

    assert response.status_code == 200
    _assert_security_headers(response)
    assert "/static/ninja/swagger-ui-bundle.js" in text
    # The random CSRF token may contain any letters, so look for an address, not a word.
    assert "https://" not in text
    assert "cdn.jsdelivr" not in text


def test_portal_templates_have_no_inline_script(client):
    client.force_login(staff_user(StoreFactory()))

    text = client.get("/home/").content.decode()

    assert "<script>" not in text
    assert " onclick=" not in text
    assert ' style="' not in text
