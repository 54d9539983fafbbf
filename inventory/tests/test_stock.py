import pytest
from django.db import IntegrityError, transaction

from inventory.errors import InventoryError, InventoryErrorCode
from inventory.models import MovementKind, StockLevel, StockMovement
from inventory.services import stock_level_adjust
from inventory.tests.factories import (
    StoreFactory,
    back_office_user,
    staff_user,
    stocked_product,
    stocked_unit,
)

pytestmark = pytest.mark.django_db


def test_adjust_sets_on_hand_and_writes_ledger():
    store = StoreFactory()
    product = stocked_product(store, on_hand=10)
    actor = back_office_user()

    movement = stock_level_adjust(
        actor=actor, store=store, product=product, on_hand=7, note="Count after break-in"
    )

    assert StockLevel.objects.get(store=store, product=product).on_hand == 7
    assert movement.kind == MovementKind.MANUAL_CORRECTION
    assert (movement.before, movement.quantity, movement.after) == (10, -3, 7)
    assert movement.note == "Count after break-in"
    assert movement.actor == actor


def test_adjust_to_same_quantity_writes_nothing():
    store = StoreFactory()
    product = stocked_product(store, on_hand=4)

    movement = stock_level_adjust(
        actor=back_office_user(), store=store, product=product, on_hand=4, note="Recount"
    )

    assert movement is None
    assert StockMovement.objects.count() == 0


def test_adjust_rejects_negative_quantity():
    store = StoreFactory()
    product = stocked_product(store, on_hand=4)

    with pytest.raises(InventoryError) as error:
        stock_level_adjust(actor=back_office_user(), store=store, product=product, on_hand=-1, note="")

    assert error.value.code == InventoryErrorCode.INVALID_QUANTITY
    assert StockLevel.objects.get(store=store, product=product).on_hand == 4
    assert StockMovement.objects.count() == 0


def test_adjust_rejects_serialized_product():
    store = StoreFactory()
    unit = stocked_unit(store)

    with pytest.raises(InventoryError) as error:
        stock_level_adjust(actor=back_office_user(), store=store, product=unit.product, on_hand=5, note="")

    assert error.value.code == InventoryErrorCode.SERIAL_REQUIRED
    assert StockMovement.objects.count() == 0


def test_adjust_rejects_staff_of_other_store():
    store = StoreFactory()
    product = stocked_product(store, on_hand=4)

    with pytest.raises(InventoryError) as error:
        stock_level_adjust(
            actor=staff_user(StoreFactory()), store=store, product=product, on_hand=1, note=""
        )

    assert error.value.code == InventoryErrorCode.STORE_ACCESS_DENIED
    assert StockLevel.objects.get(store=store, product=product).on_hand == 4


def test_database_rejects_negative_on_hand():
    store = StoreFactory()
    product = stocked_product(store, on_hand=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(store=store, product=product).update(on_hand=-1)


def test_database_rejects_inconsistent_ledger_row():
    store = StoreFactory()
    product = stocked_product(store, on_hand=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        StockMovement.objects.create(
            store=store, product=product, kind=MovementKind.MANUAL_CORRECTION,
            quantity=2, before=1, after=5,
        )
