import pytest
from django.urls import reverse

from home.selectors.stores import SESSION_STORE_KEY
from inventory.tests.factories import StoreFactory, back_office_user, staff_user, stocked_product

pytestmark = pytest.mark.django_db


def test_home_requires_login(client):
    response = client.get("/home/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/home/"


def test_root_redirects_to_home(client):
    client.force_login(back_office_user())

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/home/"


def test_login_leads_to_home(client):
    store = StoreFactory(name="Harbour Street")
    staff_user(store, username="clerk", password="s3cret-pass-word")

    response = client.post(
        reverse("login"), {"username": "clerk", "password": "s3cret-pass-word"}, follow=True
    )

    assert response.redirect_chain[-1][0] == "/home/"
    assert b"Harbour Street" in response.content


def test_login_with_wrong_password_shows_error(client):
    staff_user(StoreFactory(), username="clerk", password="s3cret-pass-word")

    response = client.post(reverse("login"), {"username": "clerk", "password": "wrong"})

    assert response.status_code == 200
    assert b"did not match" in response.content


def test_logout_requires_post_and_ends_session(client):
    client.force_login(back_office_user())

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert client.get("/home/").status_code == 302


def test_staff_selector_lists_only_their_stores(client):
    own = StoreFactory(name="Own Store")
    StoreFactory(name="Other Store")
    client.force_login(staff_user(own))

    response = client.get("/home/")

    assert b"Own Store" in response.content
    assert b"Other Store" not in response.content


def test_staff_cannot_select_other_store(client):
    own, other = StoreFactory(), StoreFactory(name="Other Store")
    client.force_login(staff_user(own))

    response = client.get("/home/", {"store": other.pk})

    assert response.status_code == 404
    assert client.session.get(SESSION_STORE_KEY) is None


def test_selected_store_is_remembered(client):
    first, second = StoreFactory(), StoreFactory(name="Second Store")
    stocked_product(second, on_hand=7)
    client.force_login(staff_user(first, second))

    client.get("/home/", {"store": second.pk})
    response = client.get("/home/")

    assert client.session[SESSION_STORE_KEY] == second.pk
    assert response.context["store"] == second
    assert response.context["overview"]["on_hand"] == 7


def test_user_without_stores_sees_hint(client):
    client.force_login(staff_user())

    response = client.get("/home/")

    assert response.status_code == 200
    assert b"not a member of any store" in response.content


def test_staff_cannot_open_admin(client):
    client.force_login(staff_user(StoreFactory()))

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_healthz_needs_no_login(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
