"""Tests of `manage.py seed_demo`: the small demo data set and the command's guards.

The small data set is loaded once for the module, in a transaction that is rolled back
at the end. Each test runs in a savepoint inside it, so its writes end with the test.
"""

import datetime
from collections import Counter
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from inventory.models import (
    ON_HAND_STATUSES,
    MovementKind,
    PriceList,
    PriceListEntry,
    Product,
    Sale,
    SaleLine,
    SerialStatus,
    SerialUnit,
    StockBucket,
    StockLevel,
    StockMovement,
    Store,
    StoreMembership,
    Transfer,
    TransferLine,
    TransferStatus,
)
from inventory.selectors import effective_price_get
from ops_portal.demo import DEMO_ACCOUNTS
from ops_portal.demo_data.catalog import ean13_check_digit
from ops_portal.demo_data.scales import HISTORY_DAYS
from ops_portal.imei import imei_is_valid
from settlements.models import ReconciliationStatus, Settlement, SettlementLine
from settlements.services import reconciliation_status, settlement_reconcile

PROJECT_APPS = ("inventory", "settlements", "auth")


@pytest.fixture(scope="module")
def seed_output(django_db_setup, django_db_blocker):
    """Load the small demo data once and return the command's output."""
    with django_db_blocker.unblock(), transaction.atomic():
        output = StringIO()
        call_command("seed_demo", "--force", stdout=output)
        yield output.getvalue()
        transaction.set_rollback(True)


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seed_output")]


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for app_label in PROJECT_APPS
        for model in apps.get_app_config(app_label).get_models()
    }


def _demo_data_delete() -> None:
    """Delete the demo data, children first, because most foreign keys protect their rows."""
    for model in (
        StockMovement, SaleLine, Sale, SettlementLine, Settlement, TransferLine, Transfer,
        SerialUnit, StockLevel, PriceListEntry, PriceList, StoreMembership, Product, Store,
    ):
        model.objects.all().delete()
    get_user_model().objects.filter(
        username__in=[account.username for account in DEMO_ACCOUNTS]
    ).delete()


def _fingerprint() -> dict[str, list]:
    """Return the seeded rows without their ids and timestamps, which differ between runs."""
    return {
        "stores": list(Store.objects.values_list("code", "name", "is_active").order_by("code")),
        "products": list(
            Product.objects.values_list(
                "sku", "name", "category", "is_serialized", "barcode", "low_stock_threshold"
            ).order_by("sku")
        ),
        "entries": list(
            PriceListEntry.objects.values_list(
                "price_list__name", "product__sku", "price", "discount_percent"
            ).order_by("price_list__name", "product__sku")
        ),
        "units": list(
            SerialUnit.objects.values_list(
                "serial", "product__sku", "store__code", "status", "cost", "received_at"
            ).order_by("serial")
        ),
        "levels": list(
            StockLevel.objects.values_list(
                "store__code", "product__sku", "on_hand", "inbound"
            ).order_by("store__code", "product__sku")
        ),
        "sales": list(
            Sale.objects.values_list(
                "store__code", "receipt_number", "payment_method", "total"
            ).order_by("store__code", "receipt_number")
        ),
        "settlements": list(
            Settlement.objects.values_list(
                "store__code", "business_date", "status", "counted_total", "expected_total"
            ).order_by("store__code", "business_date")
        ),
    }


def test_seed_prints_steps_and_logins(seed_output):
    assert "Demo data loaded in" in seed_output
    for account in DEMO_ACCOUNTS:
        assert f"{account.username} " in seed_output
        assert account.password in seed_output
    assert seed_output.rstrip().endswith("These accounts are for local use only.")


def test_seed_creates_six_stores_one_closed():
    stores = Store.objects.all()

    assert stores.count() == 6
    assert stores.filter(is_active=False).count() == 1


def test_seed_creates_serialized_and_plain_products():
    products = Product.objects.all()
    categories = set(products.values_list("category", flat=True))

    assert 250 <= products.count() <= 350
    assert 0.25 <= products.filter(is_serialized=True).count() / products.count() <= 0.4
    assert {"Phones", "Tablets", "Accessories", "Chargers", "Cases", "Audio"} <= categories
    assert set(
        products.filter(is_serialized=True).values_list("category", flat=True)
    ) == {"Phones", "Tablets"}


def test_barcodes_are_valid_ean13():
    barcodes = list(Product.objects.values_list("barcode", flat=True))

    assert len(set(barcodes)) == len(barcodes)
    assert all(len(code) == 13 and code.isdigit() for code in barcodes)
    assert all(ean13_check_digit(code[:12]) == code[12] for code in barcodes)


def test_phone_units_carry_valid_imeis():
    phone_serials = list(
        SerialUnit.objects.filter(product__category="Phones").values_list("serial", flat=True)
    )
    numeric_serials = [
        serial
        for serial in SerialUnit.objects.values_list("serial", flat=True)
        if serial.isdigit()
    ]

    assert len(phone_serials) > 500
    assert all(imei_is_valid(serial) for serial in phone_serials)
    assert all(imei_is_valid(serial) for serial in numeric_serials)


def test_units_are_mostly_in_stock_with_every_status():
    statuses = Counter(SerialUnit.objects.values_list("status", flat=True))
    unsold = sum(statuses.values()) - statuses[SerialStatus.SOLD]

    assert 1_000 <= sum(statuses.values()) <= 5_000
    assert set(statuses) == set(SerialStatus.values)
    assert statuses[SerialStatus.IN_STOCK] > 0.75 * unsold


def test_price_lists_overlap_today():
    today = timezone.localdate()
    valid_today = PriceList.objects.filter(valid_from__lte=today).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=today)
    )

    assert valid_today.filter(store__isnull=True, valid_to__isnull=True).exists()
    assert valid_today.filter(store__isnull=True, valid_to__isnull=False).exists()
    assert valid_today.filter(store__isnull=False).exists()
    assert PriceList.objects.filter(valid_to__lt=today).exists()
    assert PriceListEntry.objects.filter(
        discount_percent__gt=0, price_list__in=valid_today
    ).exists()
    assert not Product.objects.filter(price_entries__isnull=True).exists()


def test_every_active_store_sells_every_day():
    today = timezone.localdate()
    store_days = {
        (store_id, timezone.localdate(sold_at))
        for store_id, sold_at in Sale.objects.values_list("store_id", "sold_at")
    }
    expected = {
        (store_id, today - datetime.timedelta(days=offset))
        for store_id in Store.objects.filter(is_active=True).values_list("id", flat=True)
        for offset in range(HISTORY_DAYS)
    }

    assert store_days == expected
    assert not Sale.objects.filter(sold_at__gt=timezone.now()).exists()
    assert set(Sale.objects.values_list("payment_method", flat=True)) == {
        "cash", "card", "mobile", "voucher"
    }


def test_sale_totals_add_up():
    lines = SaleLine.objects.values_list(
        "sale_id", "quantity", "unit_price", "discount", "line_total"
    )
    lines_total_by_sale = Counter()
    for sale_id, _quantity, _unit_price, _discount, line_total in lines:
        lines_total_by_sale[sale_id] += line_total

    assert all(
        line_total == unit_price * quantity - discount
        for _sale_id, quantity, unit_price, discount, line_total in lines
    )
    assert dict(Sale.objects.values_list("id", "total")) == dict(lines_total_by_sale)


def test_sale_prices_follow_price_lists():
    lines = SaleLine.objects.select_related("sale__store", "product").order_by("pk")[::25]

    for line in lines:
        price = effective_price_get(
            product=line.product, store=line.sale.store, on=timezone.localdate(line.sale.sold_at)
        )
        assert line.unit_price == price.price, f"sale line {line.pk}"
        assert line.discount >= price.discount_amount * line.quantity, f"sale line {line.pk}"


def test_sold_units_have_one_sale_line():
    serial_lines = SaleLine.objects.filter(serial_unit__isnull=False)
    sold_unit_ids = set(
        SerialUnit.objects.filter(status=SerialStatus.SOLD).values_list("id", flat=True)
    )
    lines_per_unit = Counter(serial_lines.values_list("serial_unit_id", flat=True))

    assert sold_unit_ids
    assert set(lines_per_unit) == sold_unit_ids
    assert max(lines_per_unit.values()) == 1
    assert not serial_lines.exclude(quantity=1).exists()
    assert not serial_lines.exclude(sale__store=F("serial_unit__store")).exists()


def test_serialized_stock_matches_units():
    unit_counts = {
        (row["store_id"], row["product_id"]): row["units"]
        for row in SerialUnit.objects.filter(status__in=ON_HAND_STATUSES)
        .values("store_id", "product_id")
        .annotate(units=Count("id"))
    }
    levels = {
        (store_id, product_id): on_hand
        for store_id, product_id, on_hand in StockLevel.objects.filter(
            product__is_serialized=True
        ).values_list("store_id", "product_id", "on_hand")
    }

    assert levels
    assert levels == unit_counts


def test_ledger_explains_stock_levels():
    ledger = {
        (row["store_id"], row["product_id"], row["bucket"]): row["total"]
        for row in StockMovement.objects.values("store_id", "product_id", "bucket")
        .annotate(total=Sum("quantity"))
    }
    openings = Counter(
        StockMovement.objects.filter(
            kind=MovementKind.MANUAL_CORRECTION, note="Opening stock from demo data", before=0
        ).values_list("store_id", "product_id")
    )

    for level in StockLevel.objects.all():
        key = (level.store_id, level.product_id)
        assert ledger.get((*key, StockBucket.ON_HAND), 0) == level.on_hand, f"level {key}"
        assert ledger.get((*key, StockBucket.INBOUND), 0) == level.inbound, f"level {key}"
        assert openings[key] == 1, f"level {key}"


def test_some_stock_is_below_threshold():
    below = StockLevel.objects.filter(on_hand__lt=F("product__low_stock_threshold"))

    assert below.filter(product__is_serialized=True).exists()
    assert below.filter(product__is_serialized=False).exists()
    assert below.count() < StockLevel.objects.count() / 2


def test_in_transit_transfers_match_inbound():
    in_transit = TransferLine.objects.filter(transfer__status=TransferStatus.IN_TRANSIT)
    shipped = {
        (row["transfer__to_store_id"], row["product_id"]): row["quantity"]
        for row in in_transit.values("transfer__to_store_id", "product_id")
        .annotate(quantity=Sum("quantity"))
    }
    inbound = {
        (store_id, product_id): quantity
        for store_id, product_id, quantity in StockLevel.objects.filter(
            inbound__gt=0
        ).values_list("store_id", "product_id", "inbound")
    }
    transferred_units = SerialUnit.objects.filter(status=SerialStatus.TRANSFERRED)

    assert shipped
    assert inbound == shipped
    assert set(transferred_units.values_list("id", flat=True)) == set(
        in_transit.filter(serial_unit__isnull=False).values_list("serial_unit_id", flat=True)
    )
    assert not transferred_units.exclude(
        store=F("transfer_lines__transfer__from_store")
    ).exists()


def test_settlements_cover_each_past_day():
    today = timezone.localdate()
    active_stores = Store.objects.filter(is_active=True).count()
    statuses = set(Settlement.objects.values_list("status", flat=True))

    assert Settlement.objects.count() == active_stores * (HISTORY_DAYS - 1)
    assert not Settlement.objects.filter(business_date__gte=today).exists()
    assert not Settlement.objects.filter(store__is_active=False).exists()
    assert statuses == {
        ReconciliationStatus.OK, ReconciliationStatus.WARN, ReconciliationStatus.FAIL
    }


def test_settlements_are_mostly_ok():
    statuses = Counter(Settlement.objects.values_list("status", flat=True))

    assert statuses[ReconciliationStatus.OK] > sum(statuses.values()) / 2
    assert statuses[ReconciliationStatus.WARN] > statuses[ReconciliationStatus.FAIL] / 2


def test_settlement_lines_match_sales():
    lines = SettlementLine.objects.select_related("settlement")
    sales = Counter()
    for store_id, sold_at, method, total in Sale.objects.values_list(
        "store_id", "sold_at", "payment_method", "total"
    ):
        sales[(store_id, timezone.localdate(sold_at), method)] += total

    for line in lines:
        settlement = line.settlement
        key = (settlement.store_id, settlement.business_date, line.payment_method)
        assert line.expected_amount == sales[key], f"settlement line {line.pk}"
        assert line.difference == line.counted_amount - line.expected_amount
        assert line.status == reconciliation_status(difference=line.difference)


def test_settlements_agree_with_reconcile_service():
    settlements = list(Settlement.objects.order_by("pk")[::20])
    stored = [
        (settlement.status, settlement.counted_total, settlement.expected_total)
        for settlement in settlements
    ]

    reconciled = [
        settlement_reconcile(settlement=settlement) for settlement in settlements
    ]

    assert [
        (settlement.status, settlement.counted_total, settlement.expected_total)
        for settlement in reconciled
    ] == stored


def test_demo_users_have_roles_and_stores():
    users = {
        user.username: user
        for user in get_user_model().objects.filter(
            username__in=[account.username for account in DEMO_ACCOUNTS]
        )
    }
    staff_store_codes = list(
        StoreMembership.objects.filter(user=users["staff"])
        .values_list("store__code", flat=True)
        .order_by("store__code")
    )

    for account in DEMO_ACCOUNTS:
        assert users[account.username].check_password(account.password)
        assert list(users[account.username].groups.values_list("name", flat=True)) == [
            account.role
        ]
    assert staff_store_codes == ["S001", "S002"]
    assert not users["staff"].is_staff
    assert users["backoffice"].is_staff
    assert users["operations"].is_staff


def test_second_run_changes_no_counts():
    before = _row_counts()

    output = StringIO()
    call_command("seed_demo", "--force", stdout=output)

    assert _row_counts() == before
    assert "already loaded" in output.getvalue()


def test_second_run_resets_demo_password():
    user = get_user_model().objects.get(username="staff")
    user.set_password("changed-by-hand")
    user.save()
    StoreMembership.objects.filter(user=user).delete()

    call_command("seed_demo", "--force", stdout=StringIO())

    user.refresh_from_db()
    assert user.check_password("demo-staff-pass")
    assert StoreMembership.objects.filter(user=user).count() == 2


def test_seed_repeats_same_data():
    first = _fingerprint()
    _demo_data_delete()

    call_command("seed_demo", "--force", stdout=StringIO())

    second = _fingerprint()
    for table in first:
        assert second[table] == first[table], table


def test_seed_refuses_without_debug(settings):
    settings.DEBUG = False
    _demo_data_delete()

    with pytest.raises(CommandError, match="DJANGO_DEBUG=1"):
        call_command("seed_demo", stdout=StringIO())

    assert not Store.objects.exists()
    assert not get_user_model().objects.filter(username="staff").exists()


def test_if_empty_skips_when_stores_exist():
    before = _row_counts()

    output = StringIO()
    call_command("seed_demo", "--if-empty", stdout=output)

    assert "added nothing" in output.getvalue()
    assert _row_counts() == before


def test_seed_rejects_other_stores():
    before = _row_counts()

    with pytest.raises(CommandError, match="manage.py flush"):
        call_command("seed_demo", "--scale", "large", "--force", stdout=StringIO())

    assert _row_counts() == before
