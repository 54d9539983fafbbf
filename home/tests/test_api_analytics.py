import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import MovementKind, PaymentMethod
from inventory.tests.factories import SaleFactory, StoreFactory, back_office_user, staff_user
from settlements.services import settlement_record

pytestmark = pytest.mark.django_db

SERIES = ["sales-by-hour", "sales-trend", "stock-movements", "settlement-vs-sales"]


def url(series: str) -> str:
    return f"/api/home/analytics/{series}"


def yesterday() -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=1)


def at_ten(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(10, 0)))


def test_sales_by_hour_returns_hours(client):
    store = StoreFactory(code="HB01")
    day = yesterday()
    SaleFactory(store=store, sold_at=at_ten(day), total=Decimal("25.50"))
    client.force_login(staff_user(store))

    response = client.get(url("sales-by-hour"), {"store": store.pk, "date": day.isoformat()})
    body = response.json()

    assert response.status_code == 200
    assert body["store"]["code"] == "HB01"
    assert body["date"] == day.isoformat()
    assert body["time_zone"] == timezone.get_current_timezone_name()
    assert len(body["hours"]) == 24
    assert body["hours"][10]["label"] == "10:00"
    assert Decimal(body["hours"][10]["amount"]) == Decimal("25.50")
    assert body["hours"][10]["count"] == 1
    assert body["total_count"] == 1


def test_sales_trend_returns_seven_days(client):
    store = StoreFactory()
    day = yesterday()
    SaleFactory(store=store, sold_at=at_ten(day), total=Decimal("12.00"))
    client.force_login(staff_user(store))

    response = client.get(url("sales-trend"), {"store": store.pk, "date": day.isoformat()})
    body = response.json()

    assert response.status_code == 200
    assert len(body["days"]) == 7
    assert body["date_to"] == day.isoformat()
    assert body["days"][-1] == {"date": day.isoformat(), "amount": "12.00", "count": 1}


def test_stock_movements_lists_every_kind(client):
    store = StoreFactory()
    client.force_login(staff_user(store))

    response = client.get(url("stock-movements"), {"store": store.pk})
    body = response.json()

    assert response.status_code == 200
    assert [kind["kind"] for kind in body["kinds"]] == list(MovementKind.values)
    assert body["kinds"][0] == {
        "kind": "sale", "label": "Sale", "quantity_in": 0, "quantity_out": 0,
    }
    assert body["date_to"] == timezone.localdate().isoformat()


def test_settlement_series_returns_status(client):
    store = StoreFactory()
    day = yesterday()
    SaleFactory(store=store, sold_at=at_ten(day), payment_method=PaymentMethod.CASH,
                total=Decimal("100.00"))
    user = staff_user(store)
    settlement_record(actor=user, store=store, business_date=day,
                      counted={PaymentMethod.CASH: "105.00"})
    client.force_login(user)

    response = client.get(url("settlement-vs-sales"), {"store": store.pk, "date": day.isoformat()})
    days = response.json()["days"]

    assert response.status_code == 200
    assert days[-1] == {
        "date": day.isoformat(), "sales": "100.00", "counted": "105.00",
        "difference": "5.00", "status": "warn", "status_label": "WARN",
    }
    assert days[0]["status"] is None
    assert days[0]["status_label"] == "Not settled"


@pytest.mark.parametrize("series", SERIES)
def test_series_hides_other_stores_from_staff(client, series):
    own = StoreFactory()
    other = StoreFactory(code="ZZ99")
    SaleFactory(store=other, sold_at=timezone.now(), total=Decimal("70.00"))
    client.force_login(staff_user(own))

    response = client.get(url(series), {"store": other.pk})

    assert response.status_code == 404
    assert response.json() == {
        "code": "store_not_found",
        "message": f"Store {other.pk} was not found among your stores.",
        "field_errors": {"store": [f"Unknown store {other.pk}."]},
    }


@pytest.mark.parametrize("series", SERIES)
def test_series_serves_back_office_any_store(client, series):
    store = StoreFactory()
    client.force_login(back_office_user())

    response = client.get(url(series), {"store": store.pk})

    assert response.status_code == 200
    assert response.json()["store"]["id"] == store.pk


@pytest.mark.parametrize("series", SERIES)
def test_series_rejects_anonymous(client, series):
    store = StoreFactory()

    response = client.get(url(series), {"store": store.pk})

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("series", SERIES)
def test_series_requires_store(client, series):
    client.force_login(back_office_user())

    response = client.get(url(series))
    body = response.json()

    assert response.status_code == 400
    assert body["code"] == "store_required"
    assert "?store=" in body["message"]
    assert body["field_errors"] == {"store": ["This parameter is required."]}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("04.12.2026", "'04.12.2026' is not a date"),
        ("2999-01-01", "2999-01-01 is in the future"),
    ],
)
def test_series_rejects_bad_date(client, raw, message):
    store = StoreFactory()
    client.force_login(staff_user(store))

    response = client.get(url("sales-trend"), {"store": store.pk, "date": raw})
    body = response.json()

    assert response.status_code == 400
    assert body["code"] == "invalid_date"
    assert message in body["message"]
    assert list(body["field_errors"]) == ["date"]


@pytest.mark.parametrize("series", SERIES)
def test_series_query_count_is_capped(client, django_assert_max_num_queries, series):
    store = StoreFactory()
    for offset in range(7):
        day = timezone.localdate() - datetime.timedelta(days=offset)
        SaleFactory.create_batch(3, store=store, sold_at=at_ten(day), total=Decimal("9.00"))
    client.force_login(staff_user(store))

    # Session and user (2), the staff role check (1), the store (1), the series (1 or 2).
    with django_assert_max_num_queries(6):
        response = client.get(url(series), {"store": store.pk})

    assert response.status_code == 200
