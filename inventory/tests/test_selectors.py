import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.errors import InventoryError, InventoryErrorCode
from inventory.models import SerialStatus
from inventory.selectors import price_find, stock_find, store_get_for_user, store_list_for_user
from inventory.tests.factories import (
    PriceListEntryFactory,
    PriceListFactory,
    ProductFactory,
    SerialUnitFactory,
    StoreFactory,
    back_office_user,
    operations_user,
    staff_user,
    stocked_product,
    stocked_unit,
)

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 15)


def _price_list(**kwargs):
    defaults = {"valid_from": TODAY - datetime.timedelta(days=10)}
    return PriceListFactory(**(defaults | kwargs))


def test_price_find_prefers_highest_priority():
    store = StoreFactory()
    product = ProductFactory()
    PriceListEntryFactory(product=product, price=Decimal("10.00"),
                          price_list=_price_list(priority=1, source="ERP"))
    PriceListEntryFactory(product=product, price=Decimal("8.50"), discount_percent=Decimal("10"),
                          price_list=_price_list(priority=5, source="Summer promo"))

    price = price_find(query=product.sku, store=store, on=TODAY)

    assert price.price == Decimal("8.50")
    assert price.source == "Summer promo"
    assert price.discount_percent == Decimal("10")
    assert price.final_price == Decimal("7.65")


def test_price_find_breaks_ties_by_newest_list():
    store = StoreFactory()
    product = ProductFactory()
    PriceListEntryFactory(product=product, price=Decimal("10.00"),
                          price_list=_price_list(priority=3, name="Older"))
    PriceListEntryFactory(product=product, price=Decimal("11.00"),
                          price_list=_price_list(priority=3, name="Newer"))

    price = price_find(query=product.sku, store=store, on=TODAY)

    assert price.price_list_name == "Newer"


def test_price_find_ignores_lists_outside_validity_or_store():
    store, other_store = StoreFactory(), StoreFactory()
    product = ProductFactory()
    PriceListEntryFactory(product=product, price=Decimal("10.00"), price_list=_price_list())
    expired = _price_list(priority=9, valid_from=TODAY - datetime.timedelta(days=30),
                          valid_to=TODAY - datetime.timedelta(days=1))
    PriceListEntryFactory(product=product, price=Decimal("1.00"), price_list=expired)
    future = _price_list(priority=9, valid_from=TODAY + datetime.timedelta(days=1))
    PriceListEntryFactory(product=product, price=Decimal("2.00"), price_list=future)
    elsewhere = _price_list(priority=9, store=other_store)
    PriceListEntryFactory(product=product, price=Decimal("3.00"), price_list=elsewhere)
    inactive = _price_list(priority=9, is_active=False)
    PriceListEntryFactory(product=product, price=Decimal("4.00"), price_list=inactive)

    assert price_find(query=product.sku, store=store, on=TODAY).price == Decimal("10.00")
    assert price_find(query=product.sku, store=other_store, on=TODAY).price == Decimal("3.00")


def test_price_find_includes_last_valid_day():
    store = StoreFactory()
    product = ProductFactory()
    PriceListEntryFactory(product=product, price=Decimal("10.00"), price_list=_price_list())
    ending = _price_list(priority=2, valid_to=TODAY)
    PriceListEntryFactory(product=product, price=Decimal("9.00"), price_list=ending)

    assert price_find(query=product.sku, store=store, on=TODAY).price == Decimal("9.00")
    tomorrow = TODAY + datetime.timedelta(days=1)
    assert price_find(query=product.sku, store=store, on=tomorrow).price == Decimal("10.00")


def test_price_find_accepts_serial_and_barcode():
    store = StoreFactory()
    unit = SerialUnitFactory(store=store, product__barcode="4006381333931")
    PriceListEntryFactory(product=unit.product, price=Decimal("699.00"), price_list=_price_list())

    by_serial = price_find(query=f" {unit.serial} ", store=store, on=TODAY)
    by_barcode = price_find(query="4006381333931", store=store, on=TODAY)

    assert by_serial.product == unit.product
    assert by_barcode.product == unit.product


def test_price_find_without_price_names_the_sku():
    store = StoreFactory()
    ProductFactory(sku="CASE-42")

    with pytest.raises(InventoryError) as error:
        price_find(query="CASE-42", store=store, on=TODAY)

    assert error.value.code == InventoryErrorCode.NO_PRICE
    assert "SKU CASE-42 has no valid price" in error.value.message


def test_price_find_unknown_query():
    with pytest.raises(InventoryError) as error:
        price_find(query="nothing-like-this", store=StoreFactory(), on=TODAY)

    assert error.value.code == InventoryErrorCode.UNKNOWN_SKU
    assert "'nothing-like-this'" in error.value.message


def test_stock_find_lists_quantity_per_store():
    first, second, third = StoreFactory(), StoreFactory(), StoreFactory()
    product = stocked_product(first, on_hand=4)
    stocked_product(second, on_hand=0, sku=product.sku)

    result = stock_find(query=product.sku, user=back_office_user())

    assert [(row.store, row.on_hand, row.sellable) for row in result.stores] == [(first, 4, 4)]
    assert result.total_on_hand == 4
    assert third not in [row.store for row in result.stores]


def test_stock_find_counts_units_by_status():
    store = StoreFactory()
    unit = stocked_unit(store)
    stocked_unit(store, product=unit.product, status=SerialStatus.DAMAGED)

    result = stock_find(query=unit.product.sku, user=operations_user())

    row = result.stores[0]
    assert row.on_hand == 2
    assert row.sellable == 1
    assert row.units_by_status == {SerialStatus.IN_STOCK: 1, SerialStatus.DAMAGED: 1}


def test_stock_find_by_serial_returns_unit():
    store = StoreFactory()
    unit = stocked_unit(store)

    result = stock_find(query=unit.serial, user=staff_user(store))

    assert result.unit == unit
    assert result.unit.status == SerialStatus.IN_STOCK
    assert result.unit.store == store


def test_stock_find_hides_other_stores_from_staff():
    own, other = StoreFactory(), StoreFactory()
    product = stocked_product(own, on_hand=2)
    stocked_product(other, on_hand=9, sku=product.sku)
    foreign_unit = stocked_unit(other)
    clerk = staff_user(own)

    result = stock_find(query=product.sku, user=clerk)

    assert [row.store for row in result.stores] == [own]
    with pytest.raises(InventoryError) as error:
        stock_find(query=foreign_unit.serial, user=clerk)
    assert error.value.code == InventoryErrorCode.UNKNOWN_SERIAL


def test_store_list_for_staff_is_their_stores():
    own, other, closed = StoreFactory(), StoreFactory(), StoreFactory(is_active=False)
    clerk = staff_user(own, closed)

    assert list(store_list_for_user(user=clerk)) == [own]
    assert set(store_list_for_user(user=back_office_user())) == {own, other}


def test_store_get_for_user_hides_other_stores():
    own, other = StoreFactory(), StoreFactory()
    clerk = staff_user(own)

    assert store_get_for_user(user=clerk, store_id=own.pk) == own
    with pytest.raises(InventoryError) as error:
        store_get_for_user(user=clerk, store_id=other.pk)
    assert error.value.code == InventoryErrorCode.STORE_NOT_FOUND
    with pytest.raises(InventoryError):
        store_get_for_user(user=clerk, store_id="not-a-number")


def test_user_without_role_sees_no_store():
    from inventory.tests.factories import UserFactory

    StoreFactory()

    assert list(store_list_for_user(user=UserFactory())) == []


def test_price_find_today_from_general_list():
    store = StoreFactory()
    product = stocked_product(store, price="5.00")

    price = price_find(query=product.sku, store=store, on=timezone.localdate())

    assert price.price == Decimal("5.00")


@pytest.mark.django_db
def test_price_find_matches_sku_in_any_case():
    store = StoreFactory()
    product = ProductFactory(sku="CASE-Ab1")
    PriceListEntryFactory(product=product, price=Decimal("5.00"), price_list=_price_list())

    found = price_find(query="case-aB1", store=store, on=TODAY)

    assert found.product == product
