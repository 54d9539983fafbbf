import pytest

from inventory.tests.factories import StoreFactory, back_office_user, staff_user

pytestmark = pytest.mark.django_db


def test_api_rejects_anonymous_with_json(client):
    response = client.get("/api/stores")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_store_list_shows_staff_their_stores(client):
    own = StoreFactory(code="N01")
    StoreFactory(code="S99")
    client.force_login(staff_user(own))

    response = client.get("/api/stores")

    assert response.status_code == 200
    assert [store["code"] for store in response.json()] == ["N01"]


def test_store_list_shows_back_office_every_store(client):
    StoreFactory(code="N01")
    StoreFactory(code="S99")
    client.force_login(back_office_user())

    response = client.get("/api/stores")

    assert [store["code"] for store in response.json()] == ["N01", "S99"]


def test_api_docs_require_login(client):
    anonymous = client.get("/api/docs")
    client.force_login(back_office_user())
    logged_in = client.get("/api/docs")

    assert anonymous.status_code == 302
    assert logged_in.status_code == 200
