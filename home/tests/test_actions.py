import datetime
import json
import re
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from home.selectors.stores import SESSION_STORE_KEY
from home.views.actions import SESSION_PAYMENT_METHOD_KEY, action_forms
from inventory.models import (
    PaymentMethod,
    Sale,
    SerialStatus,
    StockLevel,
    StockMovement,
    Transfer,
    TransferStatus,
)
from inventory.services import SaleLineIn, TransferLineIn, sale_record, transfer_create
from inventory.tests.factories import (
    PriceListEntryFactory,
    PriceListFactory,
    StoreFactory,
    back_office_user,
    staff_user,
    stocked_product,
    stocked_unit,
)
from settlements.models import Settlement
from settlements.services import settlement_record

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _done_event(response) -> dict:
    return json.loads(response["HX-Trigger"])["actions:done"]


@pytest.fixture
def store():
    return StoreFactory(code="N01", name="North")


@pytest.fixture
def other_store():
    return StoreFactory(code="S02", name="South")


@pytest.fixture
def clerk(client, store):
    user = staff_user(store, username="clerk")
    client.force_login(user)
    return user


# Home page: the section is rendered on its own, so other sections cannot break these tests.


def _actions_request(client, user):
    request = RequestFactory().get("/home/")
    request.user = user
    request.session = client.session
    return request


def test_section_shows_five_action_cards_in_order(client, clerk):
    html = render_to_string("home/partials/actions.html", request=_actions_request(client, clerk))

    titles = re.findall(r'<h3 id="action-[a-z]+-title">.*?</svg>\s*([^<]+)</h3>', html, re.S)
    assert 'id="quick-actions"' in html
    assert '<h2 id="quick-actions-title">Quick Actions</h2>' in html
    assert titles == ["New Transfer", "Record Settlement", "Find Price", "Find Stock", "Quick Sale"]


def test_section_has_one_search_shortcut_on_find_stock(client, clerk):
    html = render_to_string("home/partials/actions.html", request=_actions_request(client, clerk))

    assert html.count("data-search-shortcut") == 1
    assert re.search(r'<input [^>]*data-search-shortcut[^>]*id="stock-q"', html)


def test_section_stays_within_query_budget(client, clerk, store, other_store,
                                           django_assert_max_num_queries):
    request = _actions_request(client, clerk)

    # One of them looks up today's settlement of the selected store.
    with django_assert_max_num_queries(6):
        render_to_string("home/partials/actions.html", request=request)


def test_transfer_store_choices(client, clerk, store,
                                                                     other_store):
    closed = StoreFactory(code="X09", is_active=False)

    form = action_forms(_actions_request(client, clerk))["transfer_form"]

    assert [key for key, _label in form.fields["from_store"].choices] == ["", str(store.pk)]
    assert [key for key, _label in form.fields["to_store"].choices] == [
        "", str(store.pk), str(other_store.pk)
    ]
    assert str(closed.pk) not in dict(form.fields["to_store"].choices)


# New Transfer


def test_transfer_sends_stock_and_triggers_toast_with_link(client, clerk, store, other_store):
    product = stocked_product(store, on_hand=5, sku="CBL-1")

    response = client.post(reverse("home:action-transfer"), {
        "from_store": store.pk, "to_store": other_store.pk, "item": "CBL-1", "quantity": 2,
        "notes": "Weekend demand",
    }, **HTMX)

    transfer = Transfer.objects.get()
    event = _done_event(response)
    assert response.status_code == 200
    assert transfer.notes == "Weekend demand"
    assert StockLevel.objects.get(store=store, product=product).on_hand == 3
    assert StockLevel.objects.get(store=other_store, product=product).inbound == 2
    assert event["dialog"] == "transfer-dialog"
    assert event["link"]["href"] == f"/home/transfers/{transfer.pk}/"
    assert "N01" in event["message"]
    assert "S02" in event["message"]


def test_transfer_of_serial_sends_that_unit(client, clerk, store, other_store):
    unit = stocked_unit(store)

    response = client.post(reverse("home:action-transfer"), {
        "from_store": store.pk, "to_store": other_store.pk, "item": unit.serial, "quantity": 1,
    }, **HTMX)

    unit.refresh_from_db()
    assert response.status_code == 200
    assert unit.status == SerialStatus.TRANSFERRED
    assert Transfer.objects.get().lines.get().serial_unit == unit


def test_transfer_from_foreign_store_rejected(client, clerk, store, other_store):
    product = stocked_product(other_store, on_hand=5, sku="CBL-1")

    response = client.post(reverse("home:action-transfer"), {
        "from_store": other_store.pk, "to_store": store.pk, "item": "CBL-1", "quantity": 1,
    }, **HTMX)

    assert response.status_code == 422
    assert response.context["form"].errors["from_store"] == [
        f"Store {other_store.pk} is not one you may choose here. Pick one from the list."
    ]
    assert Transfer.objects.count() == 0
    assert StockLevel.objects.get(store=other_store, product=product).on_hand == 5


def test_transfer_shortfall_shown_on_quantity(client, clerk, store,
                                                                    other_store):
    stocked_product(store, on_hand=1, sku="CBL-1")

    response = client.post(reverse("home:action-transfer"), {
        "from_store": store.pk, "to_store": other_store.pk, "item": "CBL-1", "quantity": 4,
    }, **HTMX)

    content = response.content.decode()
    assert response.status_code == 422
    assert "Only 1 of SKU CBL-1 in stock at store N01, but 4 requested" in content
    assert 'aria-invalid="true"' in content
    assert 'aria-describedby="transfer-quantity_error"' in content
    assert 'id="transfer-quantity_error"' in content
    assert Transfer.objects.count() == 0
    assert StockMovement.objects.count() == 0


def test_transfer_same_store_rejected(client, clerk, store):
    stocked_product(store, sku="CBL-1")

    response = client.post(reverse("home:action-transfer"), {
        "from_store": store.pk, "to_store": store.pk, "item": "CBL-1", "quantity": 1,
    }, **HTMX)

    assert response.status_code == 422
    assert "both are N01" in response.context["form"].errors["to_store"][0]
    assert Transfer.objects.count() == 0


def test_transfer_with_unknown_item_names_the_value(client, clerk, store, other_store):
    response = client.post(reverse("home:action-transfer"), {
        "from_store": store.pk, "to_store": other_store.pk, "item": "NOPE-9", "quantity": 1,
    }, **HTMX)

    assert response.status_code == 422
    assert "No product or serial matches 'NOPE-9'" in response.context["form"].errors["item"][0]
    assert Transfer.objects.count() == 0


def test_transfer_serial_quantity_above_one(client, clerk, store, other_store):
    unit = stocked_unit(store)

    response = client.post(reverse("home:action-transfer"), {
        "from_store": store.pk, "to_store": other_store.pk, "item": unit.serial, "quantity": 3,
    }, **HTMX)

    assert response.status_code == 422
    assert "single unit" in response.context["form"].errors["quantity"][0]
    assert Transfer.objects.count() == 0


def test_transfer_missing_fields_are_reported_in_place(client, clerk):
    response = client.post(reverse("home:action-transfer"), {"quantity": "x"}, **HTMX)

    errors = response.context["form"].errors
    assert response.status_code == 422
    assert errors["from_store"] == ["Choose a store."]
    assert errors["item"] == ["Enter or scan a SKU, barcode or serial."]
    assert errors["quantity"] == ["Enter a whole number of 1 or more."]


def test_negative_quantity_asks_for_units(client, clerk, store, other_store):
    response = client.post(reverse("home:action-transfer"), {
        "from_store": store.pk, "to_store": other_store.pk, "item": "ACC-1", "quantity": -4,
    }, **HTMX)

    assert response.status_code == 422
    assert response.context["form"].errors["quantity"] == [
        "Quantity 1 or more: enter how many units, such as 1."
    ]


def test_transfer_endpoint_rejects_get(client, clerk):
    response = client.get(reverse("home:action-transfer"))

    assert response.status_code == 405


# Transfer detail


def _transfer(store, other_store, actor):
    product = stocked_product(store, on_hand=5, sku="CBL-1")
    return transfer_create(
        actor=actor, from_store=store, to_store=other_store,
        lines=[TransferLineIn(sku=product.sku, quantity=2)], notes="Restock",
    )


def test_transfer_detail_shows_stores_lines_and_status(client, clerk, store, other_store):
    transfer = _transfer(store, other_store, clerk)

    response = client.get(reverse("home:transfer-detail", kwargs={"pk": transfer.pk}))

    content = response.content.decode()
    assert response.status_code == 200
    assert "N01 · North" in content
    assert "S02 · South" in content
    assert "CBL-1" in content
    assert "In transit" in content
    assert "Restock" in content
    assert "clerk" in content
    assert "Receive at" not in content


def test_transfer_detail_offers_receive_to_destination_staff(client, store, other_store):
    transfer = _transfer(store, other_store, back_office_user())
    client.force_login(staff_user(other_store))

    response = client.get(reverse("home:transfer-detail", kwargs={"pk": transfer.pk}))

    assert "Receive at S02" in response.content.decode()


def test_transfer_detail_hidden_from_others(client, store, other_store):
    transfer = _transfer(store, other_store, back_office_user())
    client.force_login(staff_user(StoreFactory(code="E03")))

    response = client.get(reverse("home:transfer-detail", kwargs={"pk": transfer.pk}))

    assert response.status_code == 404


def test_transfer_detail_stays_within_query_budget(client, clerk, store, other_store,
                                                   django_assert_max_num_queries):
    transfer = _transfer(store, other_store, clerk)

    with django_assert_max_num_queries(12):
        response = client.get(reverse("home:transfer-detail", kwargs={"pk": transfer.pk}))

    assert response.status_code == 200


def test_transfer_receive_moves_inbound_to_on_hand(client, store, other_store):
    transfer = _transfer(store, other_store, back_office_user())
    client.force_login(staff_user(other_store))
    url = reverse("home:transfer-receive", kwargs={"pk": transfer.pk})

    response = client.post(url, follow=True)

    transfer.refresh_from_db()
    level = StockLevel.objects.get(store=other_store, product__sku="CBL-1")
    assert transfer.status == TransferStatus.RECEIVED
    assert (level.on_hand, level.inbound) == (2, 0)
    assert f"Transfer {transfer.pk} received at S02." in response.content.decode()


def test_transfer_receive_by_source_staff_is_rejected(client, clerk, store, other_store):
    transfer = _transfer(store, other_store, clerk)
    url = reverse("home:transfer-receive", kwargs={"pk": transfer.pk})

    response = client.post(url, follow=True)

    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.IN_TRANSIT
    assert "not a member of store S02" in response.content.decode()


def test_transfer_receive_requires_post(client, clerk, store, other_store):
    transfer = _transfer(store, other_store, clerk)

    response = client.get(reverse("home:transfer-receive", kwargs={"pk": transfer.pk}))

    assert response.status_code == 405


# Quick Sale


def test_sale_of_serial_links_receipt(client, clerk, store):
    unit = stocked_unit(store, price="599.00")

    response = client.post(reverse("home:action-sale"), {
        "store": store.pk, "item": unit.serial, "quantity": 1, "payment_method": "card",
    }, **HTMX)

    sale = Sale.objects.get()
    unit.refresh_from_db()
    event = _done_event(response)
    assert response.status_code == 200
    assert sale.total == Decimal("599.00")
    assert unit.status == SerialStatus.SOLD
    assert event["dialog"] == "sale-dialog"
    assert event["link"]["href"] == f"/home/sales/{sale.pk}/"
    assert event["link"]["text"] == f"View sale {sale.pk}"
    assert client.session[SESSION_PAYMENT_METHOD_KEY] == "card"


def test_sale_of_sku_applies_quantity_and_discount(client, clerk, store):
    product = stocked_product(store, on_hand=5, price="10.00", sku="CBL-1")

    response = client.post(reverse("home:action-sale"), {
        "store": store.pk, "item": "CBL-1", "quantity": 3, "payment_method": "cash",
        "discount": "2.50",
    }, **HTMX)

    sale = Sale.objects.get()
    assert sale.total == Decimal("27.50")
    assert StockLevel.objects.get(store=store, product=product).on_hand == 2
    assert _done_event(response)["message"] == f"Sale {sale.pk} recorded at N01: 27.50 EUR by cash."


def test_sale_remembers_payment_method_for_next_sale(client, clerk, store):
    unit = stocked_unit(store)
    client.post(reverse("home:action-sale"), {
        "store": store.pk, "item": unit.serial, "quantity": 1, "payment_method": "mobile",
    }, **HTMX)

    form = action_forms(_actions_request(client, clerk))["sale_form"]

    assert form.initial["payment_method"] == "mobile"


def test_sale_at_foreign_store_rejected(client, clerk, other_store):
    unit = stocked_unit(other_store)

    response = client.post(reverse("home:action-sale"), {
        "store": other_store.pk, "item": unit.serial, "quantity": 1, "payment_method": "cash",
    }, **HTMX)

    unit.refresh_from_db()
    assert response.status_code == 422
    assert "store" in response.context["form"].errors
    assert Sale.objects.count() == 0
    assert unit.status == SerialStatus.IN_STOCK


def test_sale_of_sold_serial_shows_error_on_item(client, clerk, store):
    unit = stocked_unit(store)
    sale_record(actor=clerk, store=store, lines=[SaleLineIn(serial=unit.serial)],
                payment_method=PaymentMethod.CASH)

    response = client.post(reverse("home:action-sale"), {
        "store": store.pk, "item": unit.serial, "quantity": 1, "payment_method": "cash",
    }, **HTMX)

    assert response.status_code == 422
    assert f"Serial {unit.serial} is already sold" in response.context["form"].errors["item"][0]
    assert Sale.objects.count() == 1


def test_sale_of_foreign_serial_hides_its_store(client, clerk, store, other_store):
    unit = stocked_unit(other_store)

    response = client.post(reverse("home:action-sale"), {
        "store": store.pk, "item": unit.serial, "quantity": 1, "payment_method": "cash",
    }, **HTMX)

    errors = response.context["form"].errors["item"]
    assert response.status_code == 422
    assert errors == [
        f"Serial {unit.serial} is at another store, which is not one of yours, so it is not "
        "at N01. Check the serial, or ask back office where the unit is."
    ]
    assert "S02" not in response.content.decode()
    assert Sale.objects.count() == 0


def test_sale_without_payment_method_saves_nothing(client, clerk, store):
    unit = stocked_unit(store)

    response = client.post(reverse("home:action-sale"), {
        "store": store.pk, "item": unit.serial, "quantity": 1,
    }, **HTMX)

    assert response.status_code == 422
    assert response.context["form"].errors["payment_method"] == ["Choose a payment method."]
    assert Sale.objects.count() == 0


def test_sale_discount_above_total_rejected(client, clerk, store):
    stocked_product(store, price="10.00", sku="CBL-1")

    response = client.post(reverse("home:action-sale"), {
        "store": store.pk, "item": "CBL-1", "quantity": 1, "payment_method": "cash",
        "discount": "50",
    }, **HTMX)

    assert response.status_code == 422
    assert "Lower the discount" in response.context["form"].errors["discount"][0]
    assert Sale.objects.count() == 0


def test_sale_detail_shows_receipt(client, clerk, store,
                                                         django_assert_max_num_queries):
    product = stocked_product(store, price="10.00", sku="CBL-1", name="USB cable")
    sale = sale_record(actor=clerk, store=store, lines=[SaleLineIn(sku=product.sku, quantity=2)],
                       payment_method=PaymentMethod.CARD)

    with django_assert_max_num_queries(12):
        response = client.get(reverse("home:sale-detail", kwargs={"pk": sale.pk}))

    content = response.content.decode()
    assert response.status_code == 200
    assert "USB cable" in content
    assert "20.00" in content
    assert "Card" in content


def test_sale_detail_hidden_from_others(client, store, other_store):
    product = stocked_product(store, sku="CBL-1")
    sale = sale_record(actor=back_office_user(), store=store,
                       lines=[SaleLineIn(sku=product.sku)], payment_method=PaymentMethod.CASH)
    client.force_login(staff_user(other_store))

    response = client.get(reverse("home:sale-detail", kwargs={"pk": sale.pk}))

    assert response.status_code == 404


# Record Settlement


def test_settlement_shows_reconciliation_per_method(client, clerk, store):
    product = stocked_product(store, price="100.00", sku="CBL-1")
    sale_record(actor=clerk, store=store, lines=[SaleLineIn(sku=product.sku)],
                payment_method=PaymentMethod.CASH)

    response = client.post(reverse("home:action-settlement"), {
        "business_date": timezone.localdate().isoformat(), "store": store.pk,
        "cash": "70.00", "card": "", "notes": "Till short",
    }, **HTMX)

    content = response.content.decode()
    settlement = Settlement.objects.get()
    assert response.status_code == 200
    assert settlement.status == "fail"
    assert "Reconciliation:" in content
    assert "badge-fail" in content
    assert "FAIL" in content
    assert "-30.00" in content
    assert "FAIL" in _done_event(response)["message"]
    assert "-30.00 EUR" in _done_event(response)["message"]
    # Store staff cannot open the admin, so the toast has no link there.
    assert "link" not in _done_event(response)


def test_settlement_toast_links_admin_for_back_office(client, store):
    client.force_login(back_office_user())

    response = client.post(reverse("home:action-settlement"), {
        "business_date": timezone.localdate().isoformat(), "store": store.pk, "cash": "0.00",
    }, **HTMX)

    settlement = Settlement.objects.get()
    assert response.status_code == 200
    assert _done_event(response)["link"] == {
        "href": reverse("admin:settlements_settlement_change", args=[settlement.pk]),
        "text": f"View settlement {settlement.pk}",
    }


def test_settlement_saved_twice_updates_the_day(client, clerk, store):
    today = timezone.localdate().isoformat()
    data = {"business_date": today, "store": store.pk, "cash": "10.00", "version": "0"}
    first = client.post(reverse("home:action-settlement"), data, **HTMX)

    response = client.post(reverse("home:action-settlement"), {
        **data, "cash": "0", "version": first.context["form"]["version"].value(),
    }, **HTMX)

    settlement = Settlement.objects.get()
    assert response.status_code == 200
    assert settlement.counted_total == Decimal("0.00")
    assert settlement.status == "ok"
    assert settlement.version == 2


def _settlement_saved(store, actor, **counted) -> Settlement:
    return settlement_record(actor=actor, store=store, business_date=timezone.localdate(),
                             counted=counted, notes="Till 1")


def test_settlement_form_shows_saved_counts(client, clerk, store):
    saved = _settlement_saved(store, staff_user(store, username="opener"), cash="100", card="40")

    response = client.get(reverse("home:action-settlement-form"), {
        "store": store.pk, "business_date": timezone.localdate().isoformat(), "cash": "5",
    }, **HTMX)

    form = response.context["form"]
    content = response.content.decode()
    saved_at = timezone.localtime(saved.updated_at)
    assert response.status_code == 200
    assert form["cash"].value() == "100.00"
    assert form["card"].value() == "40.00"
    assert form["mobile"].value() in (None, "")
    assert form["notes"].value() == "Till 1"
    assert form["version"].value() == 1
    assert f"Saving updates the settlement saved at {saved_at:%H:%M} by opener" in content
    assert "Update settlement" in content


def test_settlement_form_keeps_typed_amounts_for_new_day(client, clerk, store):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    _settlement_saved(store, clerk, cash="100")

    response = client.get(reverse("home:action-settlement-form"), {
        "store": store.pk, "business_date": yesterday.isoformat(), "cash": "5",
    }, **HTMX)

    form = response.context["form"]
    assert form["cash"].value() == "5"
    assert form["version"].value() == 0
    assert form.saved_note() == ""


def test_home_dialog_shows_todays_saved_settlement(client, clerk, store):
    _settlement_saved(store, clerk, cash="12.5")

    forms = action_forms(_actions_request(client, clerk))

    assert forms["settlement_form"]["cash"].value() == "12.50"
    assert "already has a settlement" in forms["settlement_form"].saved_note()


def test_settlement_blank_amount_replaces_saved_count(client, clerk, store):
    product = stocked_product(store, price="100.00", sku="CBL-1")
    sale_record(actor=clerk, store=store, lines=[SaleLineIn(sku=product.sku)],
                payment_method=PaymentMethod.CASH)
    saved = _settlement_saved(store, clerk, cash="100", card="40")

    response = client.post(reverse("home:action-settlement"), {
        "business_date": timezone.localdate().isoformat(), "store": store.pk,
        "cash": "100.00", "card": "", "version": saved.version,
    }, **HTMX)

    settlement = Settlement.objects.get()
    revision = settlement.revisions.get(version=2)
    assert response.status_code == 200
    assert list(settlement.lines.values_list("payment_method", "counted_amount")) == [
        ("cash", Decimal("100.00"))
    ]
    assert settlement.status == "ok"
    assert revision.revised_by == clerk
    assert revision.counted_before == {"card": "40.00", "cash": "100.00"}
    assert revision.counted_after == {"cash": "100.00"}
    assert response.context["form"]["version"].value() == 2


def test_settlement_stale_form_shows_saved_counts(client, clerk, store):
    _settlement_saved(store, staff_user(store, username="opener"), cash="100")

    response = client.post(reverse("home:action-settlement"), {
        "business_date": timezone.localdate().isoformat(), "store": store.pk,
        "cash": "7", "version": "0",
    }, **HTMX)

    settlement = Settlement.objects.get()
    content = response.content.decode()
    assert response.status_code == 422
    assert "after you opened this form" in content
    assert "by opener" in content
    assert response.context["form"]["cash"].value() == "100.00"
    assert response.context["form"]["version"].value() == 1
    assert settlement.counted_total == Decimal("100.00")
    assert settlement.version == 1


def test_settlement_bad_amount_on_field(client, clerk, store):
    response = client.post(reverse("home:action-settlement"), {
        "business_date": timezone.localdate().isoformat(), "store": store.pk, "card": "lots",
    }, **HTMX)

    assert response.status_code == 422
    assert "'lots' is not an amount" in response.context["form"].errors["card"][0]
    assert Settlement.objects.count() == 0


def test_settlement_without_amounts_is_rejected(client, clerk, store):
    response = client.post(reverse("home:action-settlement"), {
        "business_date": timezone.localdate().isoformat(), "store": store.pk,
    }, **HTMX)

    assert response.status_code == 422
    assert response.context["form"].errors["cash"] == [
        "Enter the counted amount of at least one payment method."
    ]
    assert response.context["form"].non_field_errors() == []
    assert "Check the highlighted fields: nothing was saved." in response.content.decode()
    assert Settlement.objects.count() == 0


def test_settlement_for_future_date_is_rejected_on_date(client, clerk, store):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    response = client.post(reverse("home:action-settlement"), {
        "business_date": tomorrow.isoformat(), "store": store.pk, "cash": "1",
    }, **HTMX)

    assert response.status_code == 422
    assert "is in the future" in response.context["form"].errors["business_date"][0]
    assert Settlement.objects.count() == 0


def test_settlement_foreign_store_rejected(client, clerk, other_store):
    response = client.post(reverse("home:action-settlement"), {
        "business_date": timezone.localdate().isoformat(), "store": other_store.pk, "cash": "1",
    }, **HTMX)

    assert response.status_code == 422
    assert "store" in response.context["form"].errors
    assert Settlement.objects.count() == 0


# Find Price and Find Stock


def test_price_lookup_shows_effective_price_source_and_discount(client, clerk, store):
    product = stocked_product(store, price="10.00", sku="CBL-1")
    promo = PriceListFactory(name="Spring promo", source="Marketing", priority=5)
    PriceListEntryFactory(price_list=promo, product=product, price=Decimal("12.00"),
                          discount_percent=Decimal("25"))

    response = client.get(reverse("home:action-price"), {"q": "CBL-1"}, **HTMX)

    content = response.content.decode()
    assert response.status_code == 200
    assert "9.00 EUR" in content
    assert "Spring promo (Marketing)" in content
    assert "25% (3.00 EUR)" in content


def test_price_lookup_uses_the_selected_store(client, store, other_store):
    client.force_login(staff_user(store, other_store))
    product = stocked_product(store, price="10.00", sku="CBL-1")
    scoped = PriceListFactory(name="South only", store=other_store, priority=9)
    PriceListEntryFactory(price_list=scoped, product=product, price=Decimal("8.00"))
    session = client.session
    session[SESSION_STORE_KEY] = other_store.pk
    session.save()

    response = client.get(reverse("home:action-price"), {"q": "CBL-1"}, **HTMX)

    assert "8.00 EUR" in response.content.decode()


def test_price_lookup_not_found_names_the_value(client, clerk):
    response = client.get(reverse("home:action-price"), {"q": "NOPE-9"}, **HTMX)

    assert response.status_code == 404
    assert "No product or serial matches &#x27;NOPE-9&#x27;" in response.content.decode()


def test_price_lookup_without_query_asks_for_one(client, clerk):
    response = client.get(reverse("home:action-price"), {"q": " "}, **HTMX)

    assert response.status_code == 422
    assert "Enter or scan a SKU, barcode or serial to look up." in response.content.decode()


def test_stock_lookup_lists_stores_and_statuses(client, store, other_store):
    client.force_login(staff_user(store, other_store))
    unit = stocked_unit(store)
    stocked_unit(other_store, product=unit.product)
    sold = stocked_unit(store, product=unit.product)
    sale_record(actor=back_office_user(), store=store, lines=[SaleLineIn(serial=sold.serial)],
                payment_method=PaymentMethod.CASH)

    response = client.get(reverse("home:action-stock"), {"q": unit.product.sku}, **HTMX)

    content = response.content.decode()
    assert response.status_code == 200
    assert "<strong>2</strong> on hand" in content
    assert "N01" in content
    assert "S02" in content
    assert "unit-in_stock" in content
    assert "unit-sold" in content


def test_stock_lookup_of_serial_shows_its_status(client, clerk, store, other_store):
    unit = stocked_unit(store)
    transfer_create(actor=clerk, from_store=store, to_store=other_store,
                    lines=[TransferLineIn(serial=unit.serial)])

    response = client.get(reverse("home:action-stock"), {"q": unit.serial}, **HTMX)

    content = response.content.decode()
    assert f"Serial {unit.serial}:" in content
    assert "In transit</span> from N01" in content


def test_stock_lookup_hides_serials_of_other_stores(client, clerk, other_store):
    unit = stocked_unit(other_store)

    response = client.get(reverse("home:action-stock"), {"q": unit.serial}, **HTMX)

    assert response.status_code == 404
    assert "in your stores" in response.content.decode()


def test_stock_lookup_stays_within_query_budget(client, clerk, store, other_store,
                                                django_assert_max_num_queries):
    product = stocked_product(store, sku="CBL-1")
    stocked_product(other_store, sku=product.sku)

    with django_assert_max_num_queries(8):
        response = client.get(reverse("home:action-stock"), {"q": "CBL-1"}, **HTMX)

    assert response.status_code == 200


# Refreshing the overview and the charts after an action


@pytest.mark.parametrize("action", ["transfer", "sale", "settlement"])
def test_saved_action_triggers_home_changed(client, clerk, store, other_store, action):
    stocked_product(store, on_hand=5, price="10.00", sku="CBL-1")
    today = timezone.localdate().isoformat()
    data = {
        "transfer": {"from_store": store.pk, "to_store": other_store.pk, "item": "CBL-1",
                     "quantity": 1},
        "sale": {"store": store.pk, "item": "CBL-1", "quantity": 1, "payment_method": "cash"},
        "settlement": {"store": store.pk, "business_date": today, "cash": "10", "version": 0},
    }[action]

    response = client.post(reverse(f"home:action-{action}"), data, **HTMX)

    events = json.loads(response["HX-Trigger"])
    assert response.status_code == 200
    assert events["home:changed"] == {}
    assert "actions:done" in events


def test_rejected_action_triggers_nothing(client, clerk, store):
    response = client.post(reverse("home:action-sale"), {"store": store.pk}, **HTMX)

    assert response.status_code == 422
    assert "HX-Trigger" not in response


def test_overview_section_shows_kpis_after_sale(client, clerk, store):
    product = stocked_product(store, on_hand=5, price="10.00", sku="CBL-1")
    url = reverse("home:overview-section")
    query = {"store": store.pk, "date": timezone.localdate().isoformat()}
    before = client.get(url, query, **HTMX)
    sale_record(actor=clerk, store=store, lines=[SaleLineIn(sku=product.sku)],
                payment_method=PaymentMethod.CASH)

    after = client.get(url, query, **HTMX)

    content = after.content.decode()
    assert before.context["kpis"].on_hand == 5
    assert after.status_code == 200
    assert after.context["kpis"].on_hand == 4
    assert after.context["kpis"].sales == 1
    assert 'hx-trigger="home:changed from:body"' in content
    assert 'id="stock-overview"' in content


def test_overview_section_hides_foreign_store(client, clerk, other_store):
    response = client.get(reverse("home:overview-section"), {"store": other_store.pk}, **HTMX)

    assert response.status_code == 404
    assert "stock-overview" not in response.content.decode()


def test_analytics_section_reloads_on_home_changed(client, clerk, store):
    response = client.get(reverse("home:analytics-section"), {"store": store.pk}, **HTMX)

    assert 'hx-trigger="home:changed from:body"' in response.content.decode()
