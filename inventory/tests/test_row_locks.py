"""Rows that a sale or a transfer locks: its own, never the products' or stores' rows.

An import chunk checks each ledger row, level and unit against its store and product
rows, which takes a shared lock on them until the chunk commits. A service that locked
a product or a store row would wait for every such chunk, and the chunk for it.
"""

import threading
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from inventory.models import Product, Store
from inventory.services import TransferLineIn, transfer_create
from inventory.services import transfers as transfer_services
from inventory.services.lines import LineRequest, lines_resolve
from inventory.tests.factories import StoreFactory, back_office_user, stocked_product, stocked_unit

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "mysql", reason="reads InnoDB's row locks"),
]


def _while_held(hold: Callable[[threading.Event, threading.Event], None], write: Callable[[], int]) -> int:
    """Run ``hold`` in a thread until it has taken its locks, run ``write`` meanwhile, return its result.

    ``write`` waits at most 1 s for a lock and raises OperationalError 1205 if it would wait longer.
    """
    held = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            hold(held, release)
        except BaseException as error:
            errors.append(error)
            held.set()
        finally:
            connection.close()

    holder = threading.Thread(target=run)
    holder.start()
    try:
        assert held.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
        try:
            return write()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET SESSION innodb_lock_wait_timeout = DEFAULT")
    finally:
        release.set()
        holder.join(10)
        assert errors == []


def test_sale_lines_leave_product_unlocked():
    unit = stocked_unit(StoreFactory())

    def hold(held: threading.Event, release: threading.Event) -> None:
        with transaction.atomic():
            resolved, errors = lines_resolve(lines=[LineRequest(serial=unit.serial)])
            assert errors == []
            assert resolved[0].product.pk == unit.product_id
            held.set()
            release.wait(10)

    updated = _while_held(
        hold, lambda: Product.objects.filter(pk=unit.product_id).update(name="Renamed")
    )

    assert updated == 1


def test_transfer_receive_leaves_store_unlocked(monkeypatch):
    source, destination = StoreFactory(), StoreFactory()
    product = stocked_product(source, on_hand=5)
    user = back_office_user()
    transfer = transfer_create(
        actor=user, from_store=source, to_store=destination,
        lines=[TransferLineIn(sku=product.sku, quantity=2)],
    )
    paused = {}
    levels_lock = transfer_services.stock_levels_lock

    def levels_lock_then_pause(**kwargs):
        levels = levels_lock(**kwargs)
        paused["held"].set()
        paused["release"].wait(10)
        return levels

    def hold(held: threading.Event, release: threading.Event) -> None:
        paused.update(held=held, release=release)
        transfer_services.transfer_receive(actor=user, transfer=transfer)

    monkeypatch.setattr(transfer_services, "stock_levels_lock", levels_lock_then_pause)
    updated = _while_held(
        hold, lambda: Store.objects.filter(pk=destination.pk).update(name="Renamed")
    )

    assert updated == 1
