import pytest

from inventory.tests.factories import back_office_user

pytestmark = pytest.mark.django_db

LONG_PART_HEADER_BODY = (
    b'--B\r\nContent-Disposition: form-data; name="kind"\r\nX-Long: ' + b"a" * 2000
    + b"\r\n\r\nstock\r\n--B--\r\n"
)


def test_unreadable_api_upload_answers_json_error(client):
    client.force_login(back_office_user())

    response = client.generic(
        "POST", "/api/imports", LONG_PART_HEADER_BODY,
        content_type="multipart/form-data; boundary=B",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert "could not be read" in response.json()["message"]


def test_unknown_api_path_answers_json_not_found(client):
    client.force_login(back_office_user())

    response = client.get("/api/no-such-endpoint")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_unknown_page_shows_portal_error_page(client):
    client.force_login(back_office_user())

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert b"Page not found" in response.content
    assert b"Back to Home" in response.content


def _view_raising(error: Exception):
    from django.contrib.auth.decorators import login_not_required

    @login_not_required
    def view(request):
        raise error

    return view


class _FailingUrls:
    """A URL configuration whose pages and API endpoint raise the error of the test."""

    handler500 = "ops_portal.error_views.server_error"

    def __init__(self, error: Exception):
        from django.urls import path

        self.urlpatterns = [
            path("home/", _view_raising(error)),
            path("api/home/overview", _view_raising(error)),
        ]


@pytest.mark.parametrize("path", ["/home/", "/api/home/overview"])
def test_lost_database_answers_service_unavailable(path, monkeypatch, settings):
    from django.db import OperationalError, connection
    from django.test import Client

    settings.ROOT_URLCONF = _FailingUrls(OperationalError(2013, "Lost connection to server"))
    monkeypatch.setattr(connection, "vendor", "mysql")

    response = Client(raise_request_exception=False).get(path)

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert b"cannot be reached" in response.content
    assert b"Traceback" not in response.content


def test_lost_database_api_error_has_json_shape(settings):
    from django.db import InterfaceError
    from django.test import Client

    settings.ROOT_URLCONF = _FailingUrls(InterfaceError("connection already closed"))

    response = Client(raise_request_exception=False).get("/api/home/overview")

    assert response.json()["code"] == "service_unavailable"
    assert response.json()["field_errors"] == {}


@pytest.mark.parametrize("path", ["/home/", "/api/home/overview"])
def test_query_error_answers_server_error(path, monkeypatch, settings):
    from django.db import OperationalError, connection
    from django.test import Client

    settings.ROOT_URLCONF = _FailingUrls(OperationalError(1054, "Unknown column 'x'"))
    monkeypatch.setattr(connection, "vendor", "mysql")

    response = Client(raise_request_exception=False).get(path)

    assert response.status_code == 500
    assert not response.has_header("Retry-After")
    assert b"try again" in response.content


def test_error_outside_except_block_probes_database(rf):
    from ops_portal.error_views import server_error

    response = server_error(rf.get("/home/"))

    assert response.status_code == 500
