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
