import datetime

import pytest
from django.utils import timezone

from home.tests.overview_data import store_day_build
from inventory.tests.factories import staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def day():
    return store_day_build()


def test_overview_returns_kpis(client, day, django_assert_max_num_queries):
    client.force_login(day.staff)

    with django_assert_max_num_queries(8):
        response = client.get("/api/home/overview", {"store": day.here.pk})

    body = response.json()
    assert response.status_code == 200
    assert body["store"] == {"id": day.here.pk, "code": "HERE", "name": "Here Store"}
    assert body["date"] == timezone.localdate().isoformat()
    assert body["on_hand"] == 43
    assert body["inbound"] == 5
    assert body["sold_amount"] == "59.97"
    assert body["sold_units"] == 3
    assert body["sales"] == 1
    assert body["low_stock"] == 2


def test_overview_follows_date(client, day):
    client.force_login(day.staff)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)

    body = client.get(
        "/api/home/overview", {"store": day.here.pk, "date": yesterday.isoformat()}
    ).json()

    assert body["date"] == yesterday.isoformat()
    assert body["sold_units"] == 1


def test_overview_defaults_to_selected_store(client, day):
    client.force_login(day.staff)

    body = client.get("/api/home/overview").json()

    assert body["store"]["code"] == "HERE"


def test_overview_rejects_bad_date(client, day):
    client.force_login(day.staff)

    response = client.get("/api/home/overview", {"store": day.here.pk, "date": "04/12/2026"})

    body = response.json()
    assert response.status_code == 400
    assert body["code"] == "invalid_date"
    assert body["message"].startswith("'04/12/2026' is not a date. Enter it as YYYY-MM-DD")
    assert body["field_errors"] == {"date": [body["message"]]}


def test_overview_rejects_store_of_others(client, day):
    client.force_login(day.staff)

    response = client.get("/api/home/overview", {"store": day.spare.pk})

    assert response.status_code == 404
    assert response.json() == {
        "code": "store_not_found",
        "message": f"Store {day.spare.pk} was not found among your stores.",
        "field_errors": {"store": [f"Unknown store {day.spare.pk}."]},
    }


def test_overview_rejects_non_numeric_store(client, day):
    client.force_login(day.staff)

    response = client.get("/api/home/overview", {"store": "HERE; DROP"})

    assert response.status_code == 404
    assert response.json()["code"] == "store_not_found"


def test_overview_for_user_without_stores_is_404(client):
    client.force_login(staff_user())

    response = client.get("/api/home/overview")

    assert response.status_code == 404
    assert response.json()["message"].startswith("You are not a member of any store.")


def test_overview_requires_login(client, day):
    response = client.get("/api/home/overview", {"store": day.here.pk})

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_low_stock_lists_rows_with_source(client, day, django_assert_max_num_queries):
    client.force_login(day.staff)

    with django_assert_max_num_queries(8):
        response = client.get("/api/home/low-stock", {"store": day.here.pk})

    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 2
    charger, case = body["items"]
    assert charger == {
        "sku": "CHG-1",
        "name": "Charger",
        "category": "Accessories",
        "on_hand": 2,
        "inbound": 5,
        "threshold": 5,
        "transfer_from": {
            "store_id": day.sister.pk,
            "store_code": "SISTER",
            "surplus": 4,
            "quantity": 4,
            "user_may_act": True,
        },
    }
    assert case["sku"] == "CASE-1"
    assert case["transfer_from"] is None


def test_low_stock_rejects_store_of_others(client, day):
    client.force_login(day.staff)

    response = client.get("/api/home/low-stock", {"store": day.spare.pk})

    assert response.status_code == 404
    assert response.json()["code"] == "store_not_found"


def test_stock_by_category_returns_rows_and_total(client, day, django_assert_max_num_queries):
    client.force_login(day.back_office)

    with django_assert_max_num_queries(8):
        response = client.get("/api/home/stock-by-category", {"store": day.here.pk})

    body = response.json()
    assert response.status_code == 200
    assert [row["category"] for row in body["categories"]] == ["Accessories", "Cables", "Phones"]
    assert body["categories"][0] == {
        "category": "Accessories", "skus": 2, "on_hand": 5, "inbound": 5, "low_stock": 2,
    }
    assert body["total"] == {
        "category": "Total", "skus": 5, "on_hand": 43, "inbound": 5, "low_stock": 2,
    }


def test_stock_by_category_rejects_store_of_others(client, day):
    client.force_login(day.staff)

    response = client.get("/api/home/stock-by-category", {"store": day.spare.pk})

    assert response.status_code == 404
    assert response.json()["code"] == "store_not_found"
