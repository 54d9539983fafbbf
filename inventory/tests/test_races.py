"""Quick Actions sent at the same moment from many browsers, on MySQL or MariaDB row locks.

Each thread posts through Home's views with a test client of its own, as separate people
would. SQLite serialises writers, so these tests run only on MySQL or MariaDB.
"""

import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inventory.models import (
    Sale,
    SaleLine,
    SerialStatus,
    StockLevel,
    StockMovement,
    Transfer,
)
from inventory.tests.factories import StoreFactory, staff_user, stocked_product, stocked_unit
from settlements.models import Settlement, SettlementLine

pytestmark = [pytest.mark.django_db(transaction=True)]

HTMX = {"HTTP_HX_REQUEST": "true"}
THREAD_TIMEOUT_SECONDS = 60


def _posts_at_once(user, url: str, bodies: list[dict]) -> list:
    """Post each body from its own logged-in client, all released at once; return the responses."""
    clients = []
    for _ in bodies:
        browser = Client()
        browser.force_login(user)
        clients.append(browser)
    barrier = threading.Barrier(len(bodies))
    responses: list = [None] * len(bodies)

    def post(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            responses[index] = clients[index].post(url, bodies[index], **HTMX)
        except Exception as error:  # noqa: BLE001 - the test inspects every outcome
            responses[index] = error
        finally:
            close_old_connections()

    threads = [threading.Thread(target=post, args=(index,)) for index in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT_SECONDS)
    return responses


def _statuses(responses: list) -> list:
    return sorted(getattr(response, "status_code", repr(response)) for response in responses)


def test_concurrent_quick_sales_sell_serial_once(mysql_only):
    store = StoreFactory()
    unit = stocked_unit(store, price="599.00")
    clerk = staff_user(store)
    body = {"store": store.pk, "item": unit.serial, "quantity": 1, "payment_method": "card"}

    responses = _posts_at_once(clerk, reverse("home:action-sale"), [body] * 20)

    unit.refresh_from_db()
    assert _statuses(responses) == [200] + [422] * 19
    assert Sale.objects.count() == 1
    assert SaleLine.objects.filter(serial_unit=unit).count() == 1
    assert unit.status == SerialStatus.SOLD
    assert StockLevel.objects.get(store=store, product=unit.product).on_hand == 0
    assert StockMovement.objects.filter(serial_unit=unit).count() == 1
    rejected = [response for response in responses if response.status_code == 422]
    assert all(b"already sold" in response.content.lower() for response in rejected)


def test_concurrent_transfers_never_take_stock_below_zero(mysql_only):
    store = StoreFactory()
    destinations = [StoreFactory() for _ in range(4)]
    product = stocked_product(store, on_hand=5)
    clerk = staff_user(store)
    bodies = [
        {"from_store": store.pk, "to_store": destinations[index % 4].pk, "item": product.sku,
         "quantity": 2, "notes": ""}
        for index in range(8)
    ]

    responses = _posts_at_once(clerk, reverse("home:action-transfer"), bodies)

    level = StockLevel.objects.get(store=store, product=product)
    afters = sorted(
        StockMovement.objects.filter(store=store, product=product, bucket="on_hand")
        .values_list("after", flat=True)
    )
    inbound = sum(
        StockLevel.objects.filter(product=product, store__in=destinations)
        .values_list("inbound", flat=True)
    )
    assert _statuses(responses) == [200] * 2 + [422] * 6
    assert Transfer.objects.count() == 2
    assert level.on_hand == 1
    assert afters == [1, 3]
    assert inbound == 4


def test_settlement_saved_at_once_gives_one_settlement(mysql_only):
    store = StoreFactory()
    clerk = staff_user(store)
    today = timezone.localdate().isoformat()
    bodies = [
        {"business_date": today, "store": store.pk, "cash": amount, "notes": ""}
        for amount in ("10.00", "12.00", "14.00", "16.00")
    ]

    responses = _posts_at_once(clerk, reverse("home:action-settlement"), bodies)

    settlement = Settlement.objects.get()
    cash = SettlementLine.objects.get(settlement=settlement, payment_method="cash")
    assert _statuses(responses) == [200] * 4
    assert cash.counted_amount in {Decimal(body["cash"]) for body in bodies}
    assert settlement.counted_total == cash.counted_amount
    assert SettlementLine.objects.count() == 1


def test_settlement_dialogs_saved_at_once_keep_first(mysql_only):
    store = StoreFactory()
    clerk = staff_user(store)
    today = timezone.localdate().isoformat()
    # Four dialogs that each showed no saved settlement (version 0) post at once.
    bodies = [
        {"business_date": today, "store": store.pk, "cash": amount, "notes": "", "version": "0"}
        for amount in ("10.00", "12.00", "14.00", "16.00")
    ]

    responses = _posts_at_once(clerk, reverse("home:action-settlement"), bodies)

    settlement = Settlement.objects.get()
    assert sorted(_statuses(responses)) == [200, 422, 422, 422]
    assert settlement.version == 1
    assert SettlementLine.objects.count() == 1
