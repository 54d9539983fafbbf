import re

import pytest
from django.test import Client
from django.urls import reverse

from home.models import HomePreference
from home.selectors.stores import SESSION_STORE_KEY
from inventory.tests.factories import StoreFactory, back_office_user, staff_user, stocked_product

pytestmark = pytest.mark.django_db


def selector_options(content: bytes) -> list[str]:
    """Return the option labels of the top bar's store selector."""
    html = content.decode()
    select = re.search(r'<select id="store-select".*?</select>', html, re.S).group(0)
    return [label.strip() for label in re.findall(r"<option[^>]*>([^<]*)</option>", select)]


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


def test_store_selector_lists_only_own_stores(client):
    own = StoreFactory(code="OWN", name="Own Store")
    StoreFactory(code="OTH", name="Other Store")
    client.force_login(staff_user(own))

    response = client.get("/home/")

    assert selector_options(response.content) == ["OWN · Own Store"]


def test_store_selector_hides_closed_stores(client):
    StoreFactory(code="OPEN", name="Open Store")
    StoreFactory(code="SHUT", name="Shut Store", is_active=False)
    client.force_login(back_office_user())

    response = client.get("/home/")

    assert selector_options(response.content) == ["OPEN · Open Store"]


def test_store_select_rejects_store_of_others(client):
    own, other = StoreFactory(), StoreFactory(name="Other Store")
    user = staff_user(own)
    client.force_login(user)

    response = client.post(reverse("home:store-select"), {"store": other.pk})

    assert response.status_code == 404
    assert f"Store {other.pk} was not found among your stores." in response.content.decode()
    assert not HomePreference.objects.filter(user=user).exists()
    assert client.session.get(SESSION_STORE_KEY) != other.pk


def test_store_select_rejects_unknown_value(client):
    user = staff_user(StoreFactory())
    client.force_login(user)

    response = client.post(reverse("home:store-select"), {"store": "abc"})

    assert response.status_code == 404
    assert "Store abc was not found among your stores." in response.content.decode()
    assert not HomePreference.objects.exists()


def test_store_select_rejects_closed_store(client):
    closed = StoreFactory(code="SHUT", is_active=False)
    user = staff_user(StoreFactory(), closed)
    client.force_login(user)

    response = client.post(reverse("home:store-select"), {"store": closed.pk})

    assert response.status_code == 404
    assert "Store SHUT is closed." in response.content.decode()
    assert not HomePreference.objects.exists()


def test_store_select_requires_post(client):
    store = StoreFactory()
    client.force_login(staff_user(store))

    response = client.get(reverse("home:store-select"), {"store": store.pk})

    assert response.status_code == 405
    assert not HomePreference.objects.exists()


def test_store_select_saves_preference_and_returns(client):
    first, second = StoreFactory(), StoreFactory(name="Second Store")
    stocked_product(second, on_hand=7)
    user = staff_user(first, second)
    client.force_login(user)

    response = client.post(
        reverse("home:store-select"), {"store": second.pk, "next": "/home/?date=2026-01-02"}
    )
    page = client.get("/home/")

    assert response.status_code == 302
    assert response["Location"] == "/home/?date=2026-01-02"
    assert HomePreference.objects.get(user=user).store == second
    assert page.context["store"] == second
    assert page.context["kpis"].on_hand == 7


def test_store_select_ignores_offsite_next(client):
    store = StoreFactory()
    client.force_login(staff_user(store))

    response = client.post(
        reverse("home:store-select"), {"store": store.pk, "next": "https://evil.example/"}
    )

    assert response["Location"] == "/home/"


def test_store_choice_survives_logout(client):
    first, second = StoreFactory(), StoreFactory(name="Second Store")
    user = staff_user(first, second)
    client.force_login(user)
    client.post(reverse("home:store-select"), {"store": second.pk})
    client.post(reverse("logout"))

    client.force_login(user)
    response = client.get("/home/")

    assert response.context["store"] == second


def test_store_choice_applies_in_another_browser(client):
    first, second = StoreFactory(), StoreFactory(name="Second Store")
    user = staff_user(first, second)
    client.force_login(user)
    client.post(reverse("home:store-select"), {"store": second.pk})

    other_browser = Client()
    other_browser.force_login(user)
    response = other_browser.get("/home/")

    assert response.context["store"] == second


def test_store_choice_ignored_after_membership_ends(client):
    first, second = StoreFactory(), StoreFactory(name="Second Store")
    user = staff_user(first, second)
    HomePreference.objects.create(user=user, store=second)
    user.store_memberships.filter(store=second).delete()
    client.force_login(user)

    response = client.get("/home/")

    assert response.context["store"] == first


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
