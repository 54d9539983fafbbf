import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import PaymentMethod
from inventory.services import SaleLineIn, sale_record
from inventory.tests.factories import StoreFactory, back_office_user, staff_user, stocked_product
from settlements.models import Settlement

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return StoreFactory(code="N01")


def test_settlement_create_reconciles_per_method(client, store):
    product = stocked_product(store, price="100.00", sku="CBL-1")
    sale_record(actor=back_office_user(), store=store, lines=[SaleLineIn(sku=product.sku)],
                payment_method=PaymentMethod.CASH)
    client.force_login(staff_user(store))

    response = client.post("/api/settlements", {
        "store": store.pk, "business_date": timezone.localdate().isoformat(),
        "counted": {"cash": "95.00", "card": 0}, "notes": "Short",
    }, content_type="application/json")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "warn"
    assert body["difference"] == "-5.00"
    assert {line["payment_method"]: line["status"] for line in body["lines"]} == {
        "card": "ok", "cash": "warn",
    }


def test_settlement_create_twice_updates_the_day(client, store):
    client.force_login(staff_user(store))
    payload = {"store": store.pk, "business_date": timezone.localdate().isoformat()}
    first = client.post("/api/settlements", {**payload, "counted": {"cash": "10"}},
                        content_type="application/json").json()

    second = client.post("/api/settlements", {**payload, "counted": {"cash": "0"}},
                         content_type="application/json").json()

    assert second["id"] == first["id"]
    assert Settlement.objects.get().counted_total == Decimal("0.00")


def test_settlement_create_with_bad_amount_names_it(client, store):
    client.force_login(staff_user(store))

    response = client.post("/api/settlements", {
        "store": store.pk, "business_date": timezone.localdate().isoformat(),
        "counted": {"cash": "lots"},
    }, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_amount"
    assert "'lots'" in response.json()["field_errors"]["cash"][0]
    assert Settlement.objects.count() == 0


def test_settlement_create_for_future_day_is_rejected(client, store):
    client.force_login(staff_user(store))
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    response = client.post("/api/settlements", {
        "store": store.pk, "business_date": tomorrow.isoformat(), "counted": {"cash": "1"},
    }, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "future_date"
    assert Settlement.objects.count() == 0


def test_settlement_create_at_other_store_is_rejected(client, store):
    other = StoreFactory(code="S02")
    client.force_login(staff_user(store))

    response = client.post("/api/settlements", {
        "store": other.pk, "business_date": timezone.localdate().isoformat(),
        "counted": {"cash": "1"},
    }, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "store_not_found"
    assert Settlement.objects.count() == 0
