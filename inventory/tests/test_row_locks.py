"""Rows that a sale or a transfer locks: its own, never the products' or stores' rows.

An import chunk checks each ledger row, level and unit against its store and product
rows, which takes a shared lock on them until the chunk commits. A service that locked
a product or a store row would wait for every such chunk, and the chunk for it.
"""

import threading

import pytest
from django.db import connection, transaction

from inventory.models import Product, Store
from inventory.services import TransferLineIn, transfer_create
from inventory.services import transfers as transfer_services
from inventory.services.lines import LineRequest, lines_resolve
from inventory.tests.factories import StoreFactory, back_office_user, stocked_product, stocked_unit
from inventory.tests.locking import write_while_locked

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "mysql", reason="reads InnoDB's row locks"),
]


def test_sale_lines_leave_product_unlocked():
    unit = stocked_unit(StoreFactory())

    def lock(locked: threading.Event, release: threading.Event) -> None:
        with transaction.atomic():
            resolved, errors = lines_resolve(lines=[LineRequest(serial=unit.serial)])
            assert errors == []
            assert resolved[0].product.pk == unit.product_id
            locked.set()
            release.wait(10)

    updated = write_while_locked(
        lock, lambda: Product.objects.filter(pk=unit.product_id).update(name="Renamed")
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
        paused["locked"].set()
        paused["release"].wait(10)
        return levels

    def lock(locked: threading.Event, release: threading.Event) -> None:
        paused.update(locked=locked, release=release)
        transfer_services.transfer_receive(actor=user, transfer=transfer)

    monkeypatch.setattr(transfer_services, "stock_levels_lock", levels_lock_then_pause)
    updated = write_while_locked(
        lock, lambda: Store.objects.filter(pk=destination.pk).update(name="Renamed")
    )

    assert updated == 1
