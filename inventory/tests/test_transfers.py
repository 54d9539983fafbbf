import pytest

from inventory.errors import InventoryError, InventoryErrorCode
from inventory.models import (
    MovementKind,
    SerialStatus,
    StockBucket,
    StockLevel,
    StockMovement,
    Transfer,
    TransferStatus,
)
from inventory.services import TransferLineIn, transfer_create, transfer_receive
from inventory.tests.factories import (
    StoreFactory,
    back_office_user,
    staff_user,
    stocked_product,
    stocked_unit,
)

pytestmark = pytest.mark.django_db


def _level(store, product) -> StockLevel:
    return StockLevel.objects.get(store=store, product=product)


def _assert_nothing_written() -> None:
    assert Transfer.objects.count() == 0
    assert StockMovement.objects.count() == 0


def test_transfer_moves_quantity_to_inbound():
    source, destination = StoreFactory(), StoreFactory()
    product = stocked_product(source, on_hand=10)
    actor = staff_user(source)

    transfer = transfer_create(
        actor=actor, from_store=source, to_store=destination,
        lines=[TransferLineIn(sku=product.sku, quantity=4)], notes="Weekend promo",
    )

    assert transfer.status == TransferStatus.IN_TRANSIT
    assert transfer.notes == "Weekend promo"
    assert _level(source, product).on_hand == 6
    assert _level(destination, product).inbound == 4
    assert _level(destination, product).on_hand == 0
    movements = {(m.store_id, m.bucket): m for m in StockMovement.objects.filter(transfer=transfer)}
    assert movements[(source.pk, StockBucket.ON_HAND)].quantity == -4
    assert movements[(source.pk, StockBucket.ON_HAND)].before == 10
    assert movements[(source.pk, StockBucket.ON_HAND)].after == 6
    assert movements[(destination.pk, StockBucket.INBOUND)].after == 4
    assert movements[(source.pk, StockBucket.ON_HAND)].actor == actor


def test_transfer_ledger_kinds_follow_each_store():
    source, destination = StoreFactory(), StoreFactory()
    product = stocked_product(source, on_hand=10)

    transfer = transfer_create(
        actor=back_office_user(), from_store=source, to_store=destination,
        lines=[TransferLineIn(sku=product.sku, quantity=2)],
    )

    kinds = {
        (movement.store_id, movement.bucket): movement.kind
        for movement in StockMovement.objects.filter(transfer=transfer)
    }
    assert kinds == {
        (source.pk, StockBucket.ON_HAND): MovementKind.TRANSFER_OUT,
        (destination.pk, StockBucket.INBOUND): MovementKind.TRANSFER_IN,
    }


def test_transfer_puts_serial_in_transit():
    source, destination = StoreFactory(), StoreFactory()
    unit = stocked_unit(source)

    transfer = transfer_create(
        actor=back_office_user(), from_store=source, to_store=destination,
        lines=[TransferLineIn(serial=unit.serial)],
    )

    unit.refresh_from_db()
    assert unit.status == SerialStatus.TRANSFERRED
    assert unit.store == source
    assert transfer.lines.get().serial_unit == unit
    assert _level(source, unit.product).on_hand == 0
    assert _level(destination, unit.product).inbound == 1


def test_transfer_rejects_same_store():
    store = StoreFactory()
    product = stocked_product(store)

    with pytest.raises(InventoryError) as error:
        transfer_create(
            actor=back_office_user(), from_store=store, to_store=store,
            lines=[TransferLineIn(sku=product.sku, quantity=1)],
        )

    assert error.value.code == InventoryErrorCode.SAME_STORE
    assert store.code in error.value.message
    _assert_nothing_written()


def test_transfer_rejects_more_than_on_hand():
    source, destination = StoreFactory(), StoreFactory()
    product = stocked_product(source, on_hand=3)

    with pytest.raises(InventoryError) as error:
        transfer_create(
            actor=back_office_user(), from_store=source, to_store=destination,
            lines=[TransferLineIn(sku=product.sku, quantity=2), TransferLineIn(sku=product.sku, quantity=2)],
        )

    assert error.value.code == InventoryErrorCode.INSUFFICIENT_STOCK
    assert f"Only 3 of SKU {product.sku}" in error.value.message
    assert _level(source, product).on_hand == 3
    _assert_nothing_written()


def test_transfer_lists_every_failing_line():
    source, destination = StoreFactory(), StoreFactory()
    elsewhere = stocked_unit(StoreFactory())

    with pytest.raises(InventoryError) as error:
        transfer_create(
            actor=back_office_user(), from_store=source, to_store=destination,
            lines=[
                TransferLineIn(sku="NO-SUCH-SKU", quantity=1),
                TransferLineIn(serial="356789000000000"),
                TransferLineIn(serial=elsewhere.serial),
            ],
        )

    codes = [problem.code for problem in error.value.problems]
    assert codes == [
        InventoryErrorCode.UNKNOWN_SKU,
        InventoryErrorCode.UNKNOWN_SERIAL,
        InventoryErrorCode.SERIAL_AT_OTHER_STORE,
    ]
    assert "NO-SUCH-SKU" in error.value.message
    assert "356789000000000" in error.value.message
    _assert_nothing_written()


def test_transfer_of_serial_elsewhere_hides_foreign_store():
    source, destination = StoreFactory(code="S001"), StoreFactory(code="S002")
    unit = stocked_unit(StoreFactory(code="S003"))

    with pytest.raises(InventoryError) as error:
        transfer_create(
            actor=staff_user(source), from_store=source, to_store=destination,
            lines=[TransferLineIn(serial=unit.serial)],
        )

    assert error.value.code == InventoryErrorCode.SERIAL_AT_OTHER_STORE
    assert "S003" not in error.value.message
    assert "not one of yours" in error.value.message
    _assert_nothing_written()


def test_transfer_rejects_unit_not_in_stock():
    source, destination = StoreFactory(), StoreFactory()
    unit = stocked_unit(source, status=SerialStatus.DAMAGED)

    with pytest.raises(InventoryError) as error:
        transfer_create(
            actor=back_office_user(), from_store=source, to_store=destination,
            lines=[TransferLineIn(serial=unit.serial)],
        )

    assert error.value.code == InventoryErrorCode.SERIAL_NOT_AVAILABLE
    assert "damaged" in error.value.message
    unit.refresh_from_db()
    assert unit.status == SerialStatus.DAMAGED
    _assert_nothing_written()


def test_transfer_rejects_serialized_sku_without_serial():
    source, destination = StoreFactory(), StoreFactory()
    unit = stocked_unit(source)

    with pytest.raises(InventoryError) as error:
        transfer_create(
            actor=back_office_user(), from_store=source, to_store=destination,
            lines=[TransferLineIn(sku=unit.product.sku, quantity=1)],
        )

    assert error.value.code == InventoryErrorCode.SERIAL_REQUIRED
    _assert_nothing_written()


@pytest.mark.parametrize("quantity", [0, -2])
def test_transfer_rejects_non_positive_quantity(quantity):
    source, destination = StoreFactory(), StoreFactory()
    product = stocked_product(source)

    with pytest.raises(InventoryError) as error:
        transfer_create(
            actor=back_office_user(), from_store=source, to_store=destination,
            lines=[TransferLineIn(sku=product.sku, quantity=quantity)],
        )

    assert error.value.code == InventoryErrorCode.INVALID_QUANTITY
    _assert_nothing_written()


def test_transfer_rejects_staff_of_other_store():
    source, destination = StoreFactory(), StoreFactory()
    product = stocked_product(source)
    outsider = staff_user(destination)

    with pytest.raises(InventoryError) as error:
        transfer_create(
            actor=outsider, from_store=source, to_store=destination,
            lines=[TransferLineIn(sku=product.sku, quantity=1)],
        )

    assert error.value.code == InventoryErrorCode.STORE_ACCESS_DENIED
    _assert_nothing_written()


def test_transfer_rejects_closed_destination():
    source, destination = StoreFactory(), StoreFactory(is_active=False)
    product = stocked_product(source)

    with pytest.raises(InventoryError) as error:
        transfer_create(
            actor=back_office_user(), from_store=source, to_store=destination,
            lines=[TransferLineIn(sku=product.sku, quantity=1)],
        )

    assert error.value.code == InventoryErrorCode.STORE_INACTIVE
    _assert_nothing_written()


def test_receive_moves_inbound_to_on_hand():
    source, destination = StoreFactory(), StoreFactory()
    product = stocked_product(source, on_hand=5)
    unit = stocked_unit(source)
    actor = back_office_user()
    transfer = transfer_create(
        actor=actor, from_store=source, to_store=destination,
        lines=[TransferLineIn(sku=product.sku, quantity=2), TransferLineIn(serial=unit.serial)],
    )
    receiver = staff_user(destination)

    transfer = transfer_receive(actor=receiver, transfer=transfer)

    assert transfer.status == TransferStatus.RECEIVED
    assert transfer.received_by == receiver
    assert _level(destination, product).on_hand == 2
    assert _level(destination, product).inbound == 0
    assert _level(destination, unit.product).on_hand == 1
    unit.refresh_from_db()
    assert unit.store == destination
    assert unit.status == SerialStatus.IN_STOCK
    incoming = StockMovement.objects.filter(transfer=transfer, kind=MovementKind.TRANSFER_IN)
    # Two inbound rows written on sending, then inbound and on-hand rows of both lines.
    assert incoming.count() == 6
    assert set(incoming.values_list("store_id", flat=True)) == {destination.pk}


def test_receive_twice_is_rejected():
    source, destination = StoreFactory(), StoreFactory()
    product = stocked_product(source, on_hand=5)
    actor = back_office_user()
    transfer = transfer_create(
        actor=actor, from_store=source, to_store=destination,
        lines=[TransferLineIn(sku=product.sku, quantity=2)],
    )
    transfer_receive(actor=actor, transfer=transfer)
    movements_before = StockMovement.objects.count()

    with pytest.raises(InventoryError) as error:
        transfer_receive(actor=actor, transfer=transfer)

    assert error.value.code == InventoryErrorCode.TRANSFER_ALREADY_RECEIVED
    assert _level(destination, product).on_hand == 2
    assert StockMovement.objects.count() == movements_before


def test_receive_rejects_staff_of_source_only():
    source, destination = StoreFactory(), StoreFactory()
    product = stocked_product(source, on_hand=5)
    sender = staff_user(source)
    transfer = transfer_create(
        actor=sender, from_store=source, to_store=destination,
        lines=[TransferLineIn(sku=product.sku, quantity=2)],
    )

    with pytest.raises(InventoryError) as error:
        transfer_receive(actor=sender, transfer=transfer)

    assert error.value.code == InventoryErrorCode.STORE_ACCESS_DENIED
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.IN_TRANSIT
