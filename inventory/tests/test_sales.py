import datetime
import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections
from django.utils import timezone

from inventory.errors import InventoryError, InventoryErrorCode
from inventory.models import (
    MovementKind,
    PaymentMethod,
    Sale,
    SaleLine,
    SerialStatus,
    StockLevel,
    StockMovement,
)
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


def _assert_nothing_written() -> None:
    assert Sale.objects.count() == 0
    assert SaleLine.objects.count() == 0
    assert StockMovement.objects.count() == 0


@pytest.mark.django_db
def test_sale_of_serial_marks_it_sold():
    store = StoreFactory()
    unit = stocked_unit(store, price="599.00")
    clerk = staff_user(store)

    sale = sale_record(
        actor=clerk, store=store, lines=[SaleLineIn(serial=unit.serial)],
        payment_method=PaymentMethod.CARD,
    )

    unit.refresh_from_db()
    assert unit.status == SerialStatus.SOLD
    assert sale.total == Decimal("599.00")
    assert sale.created_by == clerk
    line = sale.lines.get()
    assert line.serial_unit == unit
    assert line.unit_price == Decimal("599.00")
    assert StockLevel.objects.get(store=store, product=unit.product).on_hand == 0
    movement = StockMovement.objects.get(sale=sale)
    assert movement.kind == MovementKind.SALE
    assert (movement.before, movement.quantity, movement.after) == (1, -1, 0)
    assert movement.serial_unit == unit


@pytest.mark.django_db
def test_sale_uses_effective_price_and_discounts():
    store = StoreFactory()
    product = stocked_product(store, on_hand=5, price="10.00")
    promo = PriceListFactory(priority=10, source="Spring promo")
    PriceListEntryFactory(price_list=promo, product=product, price=Decimal("8.00"),
                          discount_percent=Decimal("25"))

    sale = sale_record(
        actor=back_office_user(), store=store,
        lines=[SaleLineIn(sku=product.sku, quantity=2, discount=Decimal("1.00"))],
        payment_method=PaymentMethod.CASH,
    )

    line = sale.lines.get()
    assert line.unit_price == Decimal("8.00")
    assert line.discount == Decimal("5.00")
    assert line.line_total == Decimal("11.00")
    assert sale.total == Decimal("11.00")
    assert StockLevel.objects.get(store=store, product=product).on_hand == 3


@pytest.mark.django_db
def test_sale_rejects_sold_serial_naming_the_sale():
    store = StoreFactory()
    unit = stocked_unit(store)
    sold_at = timezone.now() - datetime.timedelta(days=10)
    first = sale_record(
        actor=back_office_user(), store=store, lines=[SaleLineIn(serial=unit.serial)],
        payment_method=PaymentMethod.CASH, sold_at=sold_at,
    )

    with pytest.raises(InventoryError) as error:
        sale_record(
            actor=back_office_user(), store=store, lines=[SaleLineIn(serial=unit.serial)],
            payment_method=PaymentMethod.CASH,
        )

    assert error.value.code == InventoryErrorCode.SERIAL_ALREADY_SOLD
    day = f"{timezone.localtime(sold_at).day} {sold_at:%b}"
    assert error.value.message == f"Serial {unit.serial} is already sold (sale {first.pk}, {day})."
    assert Sale.objects.count() == 1
    assert StockMovement.objects.count() == 1


@pytest.mark.django_db
def test_sale_rejects_more_than_on_hand():
    store = StoreFactory()
    product = stocked_product(store, on_hand=1)

    with pytest.raises(InventoryError) as error:
        sale_record(
            actor=back_office_user(), store=store, lines=[SaleLineIn(sku=product.sku, quantity=2)],
            payment_method=PaymentMethod.CASH,
        )

    assert error.value.code == InventoryErrorCode.INSUFFICIENT_STOCK
    assert StockLevel.objects.get(store=store, product=product).on_hand == 1
    _assert_nothing_written()


@pytest.mark.django_db
def test_sale_rejects_product_without_price():
    store = StoreFactory()
    product = stocked_product(store)
    product.price_entries.all().delete()

    with pytest.raises(InventoryError) as error:
        sale_record(
            actor=back_office_user(), store=store, lines=[SaleLineIn(sku=product.sku)],
            payment_method=PaymentMethod.CASH,
        )

    assert error.value.code == InventoryErrorCode.NO_PRICE
    assert product.sku in error.value.message
    _assert_nothing_written()


@pytest.mark.django_db
@pytest.mark.parametrize("discount", [Decimal("-1"), "abc", Decimal("25.00")])
def test_sale_rejects_invalid_discount(discount):
    store = StoreFactory()
    product = stocked_product(store, price="20.00")

    with pytest.raises(InventoryError) as error:
        sale_record(
            actor=back_office_user(), store=store,
            lines=[SaleLineIn(sku=product.sku, discount=discount)],
            payment_method=PaymentMethod.CASH,
        )

    assert error.value.code == InventoryErrorCode.INVALID_DISCOUNT
    _assert_nothing_written()


@pytest.mark.django_db
def test_sale_rejects_unknown_payment_method():
    store = StoreFactory()
    product = stocked_product(store)

    with pytest.raises(InventoryError) as error:
        sale_record(
            actor=back_office_user(), store=store, lines=[SaleLineIn(sku=product.sku)],
            payment_method="bitcoin",
        )

    assert error.value.code == InventoryErrorCode.INVALID_PAYMENT_METHOD
    assert "'bitcoin'" in error.value.message
    _assert_nothing_written()


@pytest.mark.django_db
def test_sale_rejects_staff_of_other_store():
    store = StoreFactory()
    product = stocked_product(store)

    with pytest.raises(InventoryError) as error:
        sale_record(
            actor=staff_user(StoreFactory()), store=store, lines=[SaleLineIn(sku=product.sku)],
            payment_method=PaymentMethod.CASH,
        )

    assert error.value.code == InventoryErrorCode.STORE_ACCESS_DENIED
    _assert_nothing_written()


@pytest.mark.django_db
def test_sale_rejects_reserved_unit():
    store = StoreFactory()
    unit = stocked_unit(store, status=SerialStatus.RESERVED)

    with pytest.raises(InventoryError) as error:
        sale_record(
            actor=back_office_user(), store=store, lines=[SaleLineIn(serial=unit.serial)],
            payment_method=PaymentMethod.CASH,
        )

    assert error.value.code == InventoryErrorCode.SERIAL_NOT_AVAILABLE
    unit.refresh_from_db()
    assert unit.status == SerialStatus.RESERVED
    _assert_nothing_written()


@pytest.mark.django_db
def test_sale_of_serial_elsewhere_names_visible_store():
    here, there = StoreFactory(code="S001"), StoreFactory(code="S002")
    unit = stocked_unit(there)

    with pytest.raises(InventoryError) as error:
        sale_record(
            actor=staff_user(here, there), store=here, lines=[SaleLineIn(serial=unit.serial)],
            payment_method=PaymentMethod.CASH,
        )

    assert error.value.code == InventoryErrorCode.SERIAL_AT_OTHER_STORE
    assert error.value.message == (
        f"Serial {unit.serial} is at store S002, not at S001. Use store S002 instead, "
        "or transfer the unit to S001 first."
    )
    assert error.value.field_errors == {"lines.0": ["At store S002, not at S001."]}
    _assert_nothing_written()


@pytest.mark.django_db
def test_sale_of_serial_elsewhere_hides_foreign_store():
    here = StoreFactory(code="S001")
    unit = stocked_unit(StoreFactory(code="S003"))

    with pytest.raises(InventoryError) as error:
        sale_record(
            actor=staff_user(here), store=here, lines=[SaleLineIn(serial=unit.serial)],
            payment_method=PaymentMethod.CASH,
        )

    assert error.value.code == InventoryErrorCode.SERIAL_AT_OTHER_STORE
    assert "S003" not in error.value.message
    assert "Find Stock" not in error.value.message
    assert "is at another store, which is not one of yours" in error.value.message
    assert "S003" not in str(error.value.field_errors)
    _assert_nothing_written()


def _race(count: int, action) -> list:
    """Run ``action`` in ``count`` threads released at once; return results or errors."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = action()
        except Exception as error:  # noqa: BLE001 - the test inspects every outcome
            results[index] = error
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_sales_of_one_serial_sell_it_once(mysql_only):
    store = StoreFactory()
    unit = stocked_unit(store)
    actor = back_office_user()

    results = _race(4, lambda: sale_record(
        actor=actor, store=store, lines=[SaleLineIn(serial=unit.serial)],
        payment_method=PaymentMethod.CASH,
    ))

    sales = [result for result in results if isinstance(result, Sale)]
    errors = [result for result in results if isinstance(result, InventoryError)]
    assert len(sales) == 1
    assert len(errors) == 3
    assert {error.code for error in errors} == {InventoryErrorCode.SERIAL_ALREADY_SOLD}
    assert SaleLine.objects.filter(serial_unit=unit).count() == 1
    assert StockLevel.objects.get(store=store, product=unit.product).on_hand == 0
    assert StockMovement.objects.filter(serial_unit=unit).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_sales_never_go_below_zero(mysql_only):
    store = StoreFactory()
    product = stocked_product(store, on_hand=3)
    actor = back_office_user()

    results = _race(5, lambda: sale_record(
        actor=actor, store=store, lines=[SaleLineIn(sku=product.sku, quantity=1)],
        payment_method=PaymentMethod.CARD,
    ))

    assert sum(isinstance(result, Sale) for result in results) == 3
    assert sum(isinstance(result, InventoryError) for result in results) == 2
    level = StockLevel.objects.get(store=store, product=product)
    assert level.on_hand == 0
    afters = sorted(StockMovement.objects.filter(product=product).values_list("after", flat=True))
    assert afters == [0, 1, 2]


@pytest.mark.django_db
def test_sale_of_sku_out_of_stock():
    store = StoreFactory(code="S001")
    product = stocked_product(store, on_hand=0)

    with pytest.raises(InventoryError) as error:
        sale_record(
            actor=back_office_user(), store=store, lines=[SaleLineIn(sku=product.sku, quantity=1)],
            payment_method=PaymentMethod.CASH,
        )

    assert error.value.message == (
        f"SKU {product.sku} is out of stock at store S001. Find Stock shows which stores have it."
    )
    _assert_nothing_written()


@pytest.mark.django_db
def test_sale_finds_sku_in_other_letter_case():
    store = StoreFactory()
    product = stocked_product(store, on_hand=5, price="10.00")

    sale = sale_record(
        actor=back_office_user(), store=store,
        lines=[SaleLineIn(sku=product.sku.lower(), quantity=1)],
        payment_method=PaymentMethod.CASH,
    )

    assert sale.lines.get().product == product
    assert StockLevel.objects.get(store=store, product=product).on_hand == 4
