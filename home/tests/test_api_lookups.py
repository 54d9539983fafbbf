import datetime
from decimal import Decimal

import pytest

from inventory.models import PaymentMethod
from inventory.services import SaleLineIn, sale_record
from inventory.tests.factories import (
    PriceListEntryFactory,
    PriceListFactory,
    StoreFactory,
    back_office_user,
    staff_user,
    stocked_product,
    stocked_unit,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return StoreFactory(code="N01", name="North")


@pytest.fixture
def other_store():
    return StoreFactory(code="S02", name="South")


def test_price_returns_effective_price_and_source(client, store):
    product = stocked_product(store, price="10.00", sku="CBL-1")
    promo = PriceListFactory(name="Spring promo", source="Marketing", priority=5)
    PriceListEntryFactory(price_list=promo, product=product, price=Decimal("12.00"),
                          discount_percent=Decimal("25"))
    client.force_login(staff_user(store))

    response = client.get("/api/home/price", {"q": "CBL-1", "store": store.pk})

    body = response.json()
    assert response.status_code == 200
    assert body["final_price"] == "9.00"
    assert body["discount_amount"] == "3.00"
    assert body["price_list"] == "Spring promo"
    assert body["source"] == "Marketing"
    assert body["store"] == "N01"


def test_price_on_past_date(client, store):
    product = stocked_product(store, price="10.00", sku="CBL-1")
    last_year = datetime.date.today() - datetime.timedelta(days=365)
    old = PriceListFactory(name="Old list", valid_from=last_year - datetime.timedelta(days=5),
                           valid_to=last_year + datetime.timedelta(days=5))
    PriceListEntryFactory(price_list=old, product=product, price=Decimal("7.00"))
    client.force_login(staff_user(store))

    response = client.get("/api/home/price", {"q": "CBL-1", "store": store.pk,
                                              "date": last_year.isoformat()})

    assert response.json()["price"] == "7.00"


def test_price_defaults_to_selected_store(client, store):
    stocked_product(store, price="10.00", sku="CBL-1")
    client.force_login(staff_user(store))

    response = client.get("/api/home/price", {"q": "CBL-1"})

    assert response.status_code == 200
    assert response.json()["store"] == "N01"


def test_price_unknown_value_is_404_naming_it(client, store):
    client.force_login(staff_user(store))

    response = client.get("/api/home/price", {"q": "NOPE-9", "store": store.pk})

    assert response.status_code == 404
    assert response.json()["code"] == "unknown_sku"
    assert "'NOPE-9'" in response.json()["message"]


def test_price_empty_query_is_400(client, store):
    client.force_login(staff_user(store))

    response = client.get("/api/home/price", {"q": " ", "store": store.pk})

    assert response.status_code == 400
    assert response.json()["field_errors"] == {"q": ["Enter a SKU, barcode or serial."]}


def test_price_at_other_store_is_rejected(client, store, other_store):
    stocked_product(other_store, sku="CBL-1")
    client.force_login(staff_user(store))

    response = client.get("/api/home/price", {"q": "CBL-1", "store": other_store.pk})

    assert response.status_code == 400
    assert response.json()["code"] == "store_not_found"


def test_price_requires_login(client):
    response = client.get("/api/home/price", {"q": "CBL-1"})

    assert response.status_code == 401


def test_stock_lists_stores_and_unit_statuses(client, store, other_store):
    unit = stocked_unit(store)
    stocked_unit(other_store, product=unit.product)
    sold = stocked_unit(store, product=unit.product)
    sale_record(actor=back_office_user(), store=store, lines=[SaleLineIn(serial=sold.serial)],
                payment_method=PaymentMethod.CASH)
    client.force_login(staff_user(store, other_store))

    response = client.get("/api/home/stock", {"q": unit.product.sku})

    body = response.json()
    assert response.status_code == 200
    assert body["serialized"] is True
    assert body["total_on_hand"] == 2
    assert [row["store"] for row in body["stores"]] == ["N01", "S02"]
    assert body["stores"][0]["units_by_status"] == {"in_stock": 1, "sold": 1}
    assert body["unit"] is None


def test_stock_of_serial_reports_the_unit(client, store):
    unit = stocked_unit(store)
    client.force_login(staff_user(store))

    response = client.get("/api/home/stock", {"q": unit.serial})

    assert response.json()["unit"] == {"serial": unit.serial, "status": "in_stock", "store": "N01"}


def test_stock_filtered_by_store_lists_only_it(client, store, other_store):
    product = stocked_product(store, on_hand=4, sku="CBL-1")
    stocked_product(other_store, on_hand=6, sku=product.sku)
    client.force_login(back_office_user())

    response = client.get("/api/home/stock", {"q": "CBL-1", "store": other_store.pk})

    body = response.json()
    assert [row["store"] for row in body["stores"]] == ["S02"]
    assert body["total_on_hand"] == 6


def test_stock_hides_serials_of_other_stores(client, store, other_store):
    unit = stocked_unit(other_store)
    client.force_login(staff_user(store))

    response = client.get("/api/home/stock", {"q": unit.serial})

    assert response.status_code == 404
    assert response.json()["code"] == "unknown_serial"


def test_stock_stays_within_query_budget(client, store, other_store,
                                         django_assert_max_num_queries):
    product = stocked_product(store, sku="CBL-1")
    for index in range(5):
        stocked_product(StoreFactory(code=f"X{index:02d}"), sku=product.sku)
    client.force_login(back_office_user())

    with django_assert_max_num_queries(8):
        response = client.get("/api/home/stock", {"q": "CBL-1"})

    assert len(response.json()["stores"]) == 6
