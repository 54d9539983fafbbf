import datetime
import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections
from django.utils import timezone

from inventory.errors import InventoryError, InventoryErrorCode
from inventory.models import PaymentMethod
from inventory.tests.factories import SaleFactory, StoreFactory, back_office_user, staff_user
from settlements.errors import SettlementError, SettlementErrorCode
from settlements.models import (
    ReconciliationStatus,
    Settlement,
    SettlementLine,
    SettlementRevision,
)
from settlements.services import reconciliation_status, settlement_reconcile, settlement_record


def _day_with_sales(store, **amounts_by_method) -> datetime.date:
    day = timezone.localdate() - datetime.timedelta(days=1)
    noon = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12, 0)))
    for method, amount in amounts_by_method.items():
        SaleFactory(store=store, payment_method=method, total=Decimal(amount), sold_at=noon)
    return day


@pytest.mark.parametrize(
    ("difference", "expected"),
    [
        ("0", ReconciliationStatus.OK),
        ("1.00", ReconciliationStatus.OK),
        ("-1.00", ReconciliationStatus.OK),
        ("1.01", ReconciliationStatus.WARN),
        ("-20.00", ReconciliationStatus.WARN),
        ("20.01", ReconciliationStatus.FAIL),
    ],
)
def test_reconciliation_status_thresholds(settings, difference, expected):
    settings.SETTLEMENT_TOLERANCE_OK = Decimal("1.00")
    settings.SETTLEMENT_TOLERANCE_WARN = Decimal("20.00")

    assert reconciliation_status(difference=Decimal(difference)) == expected


@pytest.mark.django_db
def test_settlement_compares_each_method_with_sales():
    store = StoreFactory()
    day = _day_with_sales(store, cash="100.00", card="250.00")

    settlement = settlement_record(
        actor=back_office_user(), store=store, business_date=day,
        counted={PaymentMethod.CASH: "100.50", PaymentMethod.CARD: "240.00"}, notes="Till 2",
    )

    lines = {line.payment_method: line for line in settlement.lines.all()}
    assert lines[PaymentMethod.CASH].expected_amount == Decimal("100.00")
    assert lines[PaymentMethod.CASH].status == ReconciliationStatus.OK
    assert lines[PaymentMethod.CARD].difference == Decimal("-10.00")
    assert lines[PaymentMethod.CARD].status == ReconciliationStatus.WARN
    assert settlement.status == ReconciliationStatus.WARN
    assert settlement.counted_total == Decimal("340.50")
    assert settlement.expected_total == Decimal("350.00")
    assert settlement.notes == "Till 2"


@pytest.mark.django_db
def test_settlement_counts_missing_method_as_zero():
    store = StoreFactory()
    day = _day_with_sales(store, cash="50.00", mobile="75.00")

    settlement = settlement_record(
        actor=back_office_user(), store=store, business_date=day,
        counted={PaymentMethod.CASH: "50.00"},
    )

    mobile = settlement.lines.get(payment_method=PaymentMethod.MOBILE)
    assert mobile.counted_amount == Decimal("0")
    assert mobile.difference == Decimal("-75.00")
    assert settlement.status == ReconciliationStatus.FAIL


@pytest.mark.django_db
def test_sales_of_other_days_do_not_count():
    store = StoreFactory()
    day = _day_with_sales(store, cash="100.00")
    before = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    SaleFactory(store=store, payment_method=PaymentMethod.CASH, total=Decimal("999"),
                sold_at=before - datetime.timedelta(seconds=1))
    SaleFactory(store=StoreFactory(), payment_method=PaymentMethod.CASH, total=Decimal("999"),
                sold_at=before + datetime.timedelta(hours=3))

    settlement = settlement_record(
        actor=back_office_user(), store=store, business_date=day,
        counted={PaymentMethod.CASH: "100"},
    )

    assert settlement.expected_total == Decimal("100.00")
    assert settlement.status == ReconciliationStatus.OK


@pytest.mark.django_db
def test_second_settlement_replaces_the_counts():
    store = StoreFactory()
    day = _day_with_sales(store, cash="100.00", card="40.00")
    actor = back_office_user()
    first = settlement_record(
        actor=actor, store=store, business_date=day,
        counted={PaymentMethod.CASH: "60.00", PaymentMethod.CARD: "40.00"}, notes="Till 1",
    )

    second = settlement_record(
        actor=actor, store=store, business_date=day,
        counted={PaymentMethod.CASH: "100.00", PaymentMethod.CARD: ""},
    )

    assert second.pk == first.pk
    assert Settlement.objects.count() == 1
    assert second.lines.get(payment_method=PaymentMethod.CASH).counted_amount == Decimal("100.00")
    assert second.lines.get(payment_method=PaymentMethod.CARD).counted_amount == Decimal("0")
    assert second.counted_total == Decimal("100.00")
    assert second.notes == ""
    assert second.status == ReconciliationStatus.FAIL


@pytest.mark.django_db
def test_replacing_drops_uncounted_method_without_sales():
    store = StoreFactory()
    day = _day_with_sales(store, cash="100.00")
    actor = back_office_user()
    settlement_record(
        actor=actor, store=store, business_date=day,
        counted={PaymentMethod.CASH: "100.00", PaymentMethod.VOUCHER: "5.00"},
    )

    settlement = settlement_record(
        actor=actor, store=store, business_date=day, counted={PaymentMethod.CASH: "100.00"},
    )

    assert list(settlement.lines.values_list("payment_method", flat=True)) == [PaymentMethod.CASH]
    assert settlement.status == ReconciliationStatus.OK


@pytest.mark.django_db
def test_each_save_adds_revision_with_before_and_after():
    store = StoreFactory()
    day = _day_with_sales(store, cash="100.00")
    first_user = back_office_user(username="first")
    second_user = back_office_user(username="second")
    settlement_record(
        actor=first_user, store=store, business_date=day,
        counted={PaymentMethod.CASH: "100.00", PaymentMethod.CARD: "20"}, notes="Till 1",
    )

    settlement = settlement_record(
        actor=second_user, store=store, business_date=day,
        counted={PaymentMethod.CASH: "90"}, notes="Recounted",
    )

    first, second = settlement.revisions.order_by("version")
    assert settlement.version == 2
    assert settlement.updated_by == second_user
    assert first.revised_by == first_user
    assert first.counted_before == {}
    assert first.counted_after == {"card": "20.00", "cash": "100.00"}
    assert first.status_before == ""
    assert first.status_after == ReconciliationStatus.WARN
    assert second.version == 2
    assert second.revised_by == second_user
    assert second.counted_before == {"card": "20.00", "cash": "100.00"}
    assert second.counted_after == {"cash": "90.00"}
    assert second.status_before == ReconciliationStatus.WARN
    assert second.status_after == ReconciliationStatus.WARN
    assert second.notes_before == "Till 1"
    assert second.notes_after == "Recounted"


@pytest.mark.django_db
def test_settlement_rejects_stale_version():
    store = StoreFactory()
    day = _day_with_sales(store, cash="100.00")
    actor = back_office_user(username="first")
    settlement_record(actor=actor, store=store, business_date=day,
                      counted={PaymentMethod.CASH: "100.00"}, expected_version=0)

    with pytest.raises(SettlementError) as error:
        settlement_record(actor=back_office_user(), store=store, business_date=day,
                          counted={PaymentMethod.CASH: "1.00"}, expected_version=0)

    settlement = Settlement.objects.get()
    assert error.value.code == SettlementErrorCode.STALE_VERSION
    assert "after you opened this form" in error.value.message
    assert "by first" in error.value.message
    assert settlement.counted_total == Decimal("100.00")
    assert settlement.version == 1
    assert SettlementRevision.objects.count() == 1


@pytest.mark.django_db
def test_settlement_accepts_current_version():
    store = StoreFactory()
    day = _day_with_sales(store, cash="100.00")
    actor = back_office_user()
    first = settlement_record(actor=actor, store=store, business_date=day,
                              counted={PaymentMethod.CASH: "100.00"}, expected_version=0)

    second = settlement_record(actor=actor, store=store, business_date=day,
                               counted={PaymentMethod.CASH: "99.00"},
                               expected_version=first.version)

    assert second.version == 2
    assert second.counted_total == Decimal("99.00")


@pytest.mark.django_db
def test_reconcile_picks_up_later_sales():
    store = StoreFactory()
    day = _day_with_sales(store, cash="100.00")
    settlement = settlement_record(
        actor=back_office_user(), store=store, business_date=day,
        counted={PaymentMethod.CASH: "100.00"},
    )
    _day_with_sales(store, cash="30.00")

    settlement = settlement_reconcile(settlement=settlement)

    assert settlement.expected_total == Decimal("130.00")
    assert settlement.status == ReconciliationStatus.FAIL


@pytest.mark.django_db
def test_settlement_rejects_future_date():
    store = StoreFactory()
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    with pytest.raises(SettlementError) as error:
        settlement_record(
            actor=back_office_user(), store=store, business_date=tomorrow,
            counted={PaymentMethod.CASH: "10"},
        )

    assert error.value.code == SettlementErrorCode.FUTURE_DATE
    assert "business_date" in error.value.field_errors
    assert Settlement.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["-5", "ten", "NaN", "1e20"])
def test_settlement_rejects_invalid_amount(amount):
    store = StoreFactory()

    with pytest.raises(SettlementError) as error:
        settlement_record(
            actor=back_office_user(), store=store, business_date=timezone.localdate(),
            counted={PaymentMethod.CASH: amount},
        )

    assert error.value.code == SettlementErrorCode.INVALID_AMOUNT
    assert repr(amount) in error.value.field_errors[PaymentMethod.CASH][0]
    assert Settlement.objects.count() == 0


@pytest.mark.django_db
def test_settlement_rejects_empty_count():
    with pytest.raises(SettlementError) as error:
        settlement_record(
            actor=back_office_user(), store=StoreFactory(), business_date=timezone.localdate(),
            counted={PaymentMethod.CASH: "", PaymentMethod.CARD: None},
        )

    assert error.value.code == SettlementErrorCode.NO_AMOUNTS
    assert Settlement.objects.count() == 0


@pytest.mark.django_db
def test_settlement_rejects_staff_of_other_store():
    store = StoreFactory()

    with pytest.raises(InventoryError) as error:
        settlement_record(
            actor=staff_user(StoreFactory()), store=store, business_date=timezone.localdate(),
            counted={PaymentMethod.CASH: "10"},
        )

    assert error.value.code == InventoryErrorCode.STORE_ACCESS_DENIED
    assert Settlement.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_settlements_make_one(mysql_only):
    store = StoreFactory()
    day = _day_with_sales(store, cash="100.00")
    actor = back_office_user()
    barrier = threading.Barrier(4)
    errors: list[Exception] = []

    def record(amount: str) -> None:
        try:
            barrier.wait(timeout=10)
            settlement_record(actor=actor, store=store, business_date=day,
                              counted={PaymentMethod.CASH: amount})
        except Exception as error:  # noqa: BLE001 - the test asserts there were none
            errors.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=record, args=(f"{100 + i}.00",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert Settlement.objects.filter(store=store, business_date=day).count() == 1
    assert SettlementLine.objects.filter(payment_method=PaymentMethod.CASH).count() == 1
    assert sorted(SettlementRevision.objects.values_list("version", flat=True)) == [1, 2, 3, 4]
