"""The settlements admin: change lists at a fixed query count, the form and the
reconciliation action."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory.services import SaleLineIn, sale_record
from inventory.tests.factories import StoreFactory, UserFactory, back_office_user, stocked_product
from settlements.models import ReconciliationStatus, Settlement
from settlements.services import settlement_record

pytestmark = pytest.mark.django_db

CHANGELISTS = ["settlements_settlement", "settlements_settlementline"]
CHANGELIST_MAX_QUERIES = 10


@pytest.fixture
def superuser():
    return UserFactory(username="admin-root", is_staff=True, is_superuser=True)


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
    return client


def settlements_add(count: int, *, actor) -> None:
    today = timezone.localdate()
    for _ in range(count):
        settlement_record(
            actor=actor,
            store=StoreFactory(),
            business_date=today,
            counted={"cash": "100", "card": "250.50"},
        )


def changelist_queries(client, name: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(f"admin:{name}_changelist"))
    assert response.status_code == 200, name
    return len(queries)


def reconcile_post(client, settlements: list[Settlement]):
    return client.post(
        reverse("admin:settlements_settlement_changelist"),
        {
            "action": "reconcile_selected",
            "_selected_action": [str(settlement.pk) for settlement in settlements],
        },
        follow=True,
    )


def test_changelist_query_count_fixed(superuser_client, superuser):
    settlements_add(2, actor=superuser)
    for name in CHANGELISTS:
        superuser_client.get(reverse(f"admin:{name}_changelist"))
    with_two = {name: changelist_queries(superuser_client, name) for name in CHANGELISTS}

    settlements_add(10, actor=superuser)
    with_twelve = {name: changelist_queries(superuser_client, name) for name in CHANGELISTS}

    for name in CHANGELISTS:
        assert with_twelve[name] == with_two[name], name
        assert with_twelve[name] <= CHANGELIST_MAX_QUERIES, name


def test_changelist_formats_totals(superuser_client, superuser):
    settlements_add(1, actor=superuser)

    response = superuser_client.get(reverse("admin:settlements_settlement_changelist"))

    assert "350.50 EUR" in response.content.decode()


def test_change_form_opens(superuser_client, superuser):
    settlements_add(1, actor=superuser)
    settlement = Settlement.objects.get()

    response = superuser_client.get(
        reverse("admin:settlements_settlement_change", args=[settlement.pk])
    )

    assert response.status_code == 200


def test_add_is_rejected(superuser_client):
    response = superuser_client.get(reverse("admin:settlements_settlement_add"))

    assert response.status_code == 403


def test_reconcile_action_updates_status(superuser_client, superuser):
    store = StoreFactory()
    product = stocked_product(store, on_hand=5, price="19.99")
    settlement = settlement_record(
        actor=superuser,
        store=store,
        business_date=timezone.localdate(),
        counted={"cash": "19.99"},
    )
    assert settlement.status == ReconciliationStatus.WARN
    sale_record(
        actor=superuser,
        store=store,
        lines=[SaleLineIn(sku=product.sku)],
        payment_method="cash",
    )

    response = reconcile_post(superuser_client, [settlement])

    settlement.refresh_from_db()
    assert settlement.status == ReconciliationStatus.OK
    assert settlement.expected_total == Decimal("19.99")
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        f"Reconciled 1 settlement. Status changed: {settlement} WARN to OK."
    ]


def test_reconcile_action_reports_unchanged(superuser_client, superuser):
    settlements_add(2, actor=superuser)

    response = reconcile_post(superuser_client, list(Settlement.objects.all()))

    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "Reconciled 2 settlements. No status changed."
    ]


def test_saving_counted_amount_reconciles(superuser_client, superuser):
    settlement = settlement_record(
        actor=superuser,
        store=StoreFactory(),
        business_date=timezone.localdate(),
        counted={"cash": "5"},
    )
    line = settlement.lines.get()

    response = superuser_client.post(
        reverse("admin:settlements_settlement_change", args=[settlement.pk]),
        {
            "notes": "Recounted the till",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
            "lines-0-id": str(line.pk),
            "lines-0-settlement": str(settlement.pk),
            "lines-0-payment_method": "cash",
            "lines-0-counted_amount": "0.50",
        },
    )

    assert response.status_code == 302
    settlement.refresh_from_db()
    revision = settlement.revisions.get(version=2)
    assert settlement.counted_total == Decimal("0.50")
    assert settlement.status == ReconciliationStatus.OK
    assert settlement.notes == "Recounted the till"
    assert settlement.updated_by == superuser
    assert revision.revised_by == superuser
    assert revision.counted_before == {"cash": "5.00"}
    assert revision.counted_after == {"cash": "0.50"}
    assert revision.status_before == ReconciliationStatus.WARN


def line_change_post(client, settlement: Settlement, *, shown_version: str, amount: str):
    line = settlement.lines.get(payment_method="cash")
    return client.post(
        reverse("admin:settlements_settlement_change", args=[settlement.pk]),
        {
            "notes": "",
            "shown_version": shown_version,
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
            "lines-0-id": str(line.pk),
            "lines-0-settlement": str(settlement.pk),
            "lines-0-payment_method": "cash",
            "lines-0-counted_amount": amount,
        },
    )


def test_change_form_sends_shown_version(superuser_client, superuser):
    settlement = settlement_record(actor=superuser, store=StoreFactory(),
                                   business_date=timezone.localdate(), counted={"cash": "5"})

    response = superuser_client.get(
        reverse("admin:settlements_settlement_change", args=[settlement.pk])
    )

    assert response.context["adminform"].form["shown_version"].value() == 1
    assert 'name="shown_version" value="1"' in response.content.decode()


def test_save_at_shown_version_kept(superuser_client, superuser):
    settlement = settlement_record(actor=superuser, store=StoreFactory(),
                                   business_date=timezone.localdate(), counted={"cash": "5"})

    response = line_change_post(superuser_client, settlement, shown_version="1", amount="7")

    assert response.status_code == 302
    settlement.refresh_from_db()
    assert settlement.version == 2
    assert settlement.counted_total == Decimal("7.00")


def test_stale_version_save_rejected(superuser_client, superuser):
    store = StoreFactory(code="S-ADM")
    day = timezone.localdate()
    settlement = settlement_record(actor=superuser, store=store, business_date=day,
                                   counted={"cash": "5"})
    # A store user saves the day again while the admin's form, opened at version 1, is open.
    settlement_record(actor=back_office_user(username="till-keeper"), store=store,
                      business_date=day, counted={"cash": "9"})

    response = line_change_post(superuser_client, settlement, shown_version="1", amount="7")

    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert len(errors) == 1
    assert "by till-keeper after you opened this form" in errors[0]
    assert "Reload the page to see its counts" in errors[0]
    settlement.refresh_from_db()
    assert settlement.version == 2
    assert settlement.counted_total == Decimal("9.00")
    assert settlement.revisions.count() == 2


def test_change_form_lists_history(superuser_client, superuser):
    store = StoreFactory()
    day = timezone.localdate()
    settlement_record(actor=superuser, store=store, business_date=day,
                      counted={"cash": "100", "card": "40"})
    settlement = settlement_record(actor=back_office_user(username="recounter"), store=store,
                                   business_date=day, counted={"cash": "100"})

    response = superuser_client.get(
        reverse("admin:settlements_settlement_change", args=[settlement.pk])
    )

    content = response.content.decode()
    assert "change history" in content.lower()
    assert "Version 2" in content
    assert "by recounter: card 40.00 to not counted; status FAIL." in content
    assert "Version 1" in content
    assert "by admin-root: card not counted to 40.00, cash not counted to 100.00" in content


def test_back_office_opens_changelists(client):
    client.force_login(back_office_user())

    statuses = {
        name: client.get(reverse(f"admin:{name}_changelist")).status_code for name in CHANGELISTS
    }

    assert statuses == {name: 200 for name in CHANGELISTS}
