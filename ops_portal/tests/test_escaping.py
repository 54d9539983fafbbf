"""HTML in product names, store names, notes and typed input is shown as text everywhere.

One scenario stores the same hostile text in a store's name, a product's name and category,
a price list's name and source, a transfer's notes, a sale's receipt number, a settlement's
notes and an import's file name and bad row. Typed input that pages echo back (a date, a
store id, a lookup, a form field, a next address) gets the same treatment.
Every page that shows them must escape it, and every JSON response may carry it only as
data, under a JSON content type that no browser renders as a page.
"""

import asyncio
import csv
import io
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from imports.models import ImportRowError, ImportStatus
from imports.tests.factories import ImportJobFactory
from inventory.models import PaymentMethod, PriceList, Sale, StockLevel, Store, Transfer
from inventory.services import SaleLineIn, TransferLineIn, sale_record, transfer_create
from inventory.tests.factories import (
    StoreFactory,
    back_office_user,
    operations_user,
    staff_user,
    stocked_product,
)
from settlements.models import Settlement
from settlements.services import settlement_record

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
# Tags a browser would run or load if the text reached a page unescaped.
RAW_TAGS = ("<script>alert(1)", "<img src=x onerror")
HTMX = {"HTTP_HX_REQUEST": "true"}


@dataclass(frozen=True)
class Scenario:
    store: Store
    other_store: Store
    transfer: Transfer
    inbound: Transfer
    sale: Sale
    settlement: Settlement


def _hostile_scenario() -> Scenario:
    """Create a store, a product and a price list named with HTML, a transfer each way,
    a sale and a settlement."""
    actor = back_office_user(username="sender")
    store = StoreFactory(code="N01", name=HOSTILE)
    other_store = StoreFactory(code="S02", name=HOSTILE)
    # Three units, less one transferred and one sold, leave one: under the factory's
    # threshold of 2, so the product is on the low-stock list.
    product = stocked_product(store, on_hand=3, sku="CBL-1", name=HOSTILE, category=HOSTILE)
    StockLevel.objects.create(store=other_store, product=product, on_hand=5)
    PriceList.objects.update(name=HOSTILE, source=HOSTILE)

    transfer = transfer_create(
        actor=actor, from_store=store, to_store=other_store,
        lines=[TransferLineIn(sku="CBL-1", quantity=1)], notes=HOSTILE,
    )
    inbound = transfer_create(
        actor=actor, from_store=other_store, to_store=store,
        lines=[TransferLineIn(sku="CBL-1", quantity=1)], notes=HOSTILE,
    )
    sale = sale_record(
        actor=actor, store=store, lines=[SaleLineIn(sku="CBL-1")],
        payment_method=PaymentMethod.CASH,
    )
    Sale.objects.filter(pk=sale.pk).update(receipt_number=HOSTILE)
    settlement = settlement_record(
        actor=actor, store=store, business_date=timezone.localdate(),
        counted={PaymentMethod.CASH: "1.00"}, notes=HOSTILE,
    )
    return Scenario(store, other_store, transfer, inbound, sale, settlement)


def _problems(responses: dict, *, statuses: tuple[int, ...] = (200,)) -> list[str]:
    """List what is wrong with each HTML response: status, type, raw tags, missing text."""
    problems = []
    for label, response in responses.items():
        html = response.content.decode()
        if response.status_code not in statuses:
            problems.append(f"{label}: status {response.status_code}")
        if not response["Content-Type"].startswith("text/html"):
            problems.append(f"{label}: content type {response['Content-Type']}")
        problems.extend(f"{label}: shows {tag!r} unescaped" for tag in RAW_TAGS if tag in html)
        if escape(HOSTILE) not in html:
            problems.append(f"{label}: does not show the text at all")
    return problems


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value] if isinstance(value, str) else []


# Home and its partials ----------------------------------------------------------------


def _home_pages(scenario: Scenario) -> dict[str, str]:
    store = scenario.store.pk
    today = timezone.localdate().isoformat()
    return {
        "home": "/home/",
        "on-hand panel": f"/home/overview/on-hand/?store={store}&date={today}",
        "inbound panel": f"/home/overview/inbound/?store={store}&date={today}",
        "sold panel": f"/home/overview/sold/?store={store}&date={today}",
        "low-stock panel": f"/home/overview/low-stock/?store={store}&date={today}",
        "price lookup": "/home/actions/price/?q=CBL-1",
        "stock lookup": "/home/actions/stock/?q=CBL-1",
        "transfer detail": reverse("home:transfer-detail", kwargs={"pk": scenario.transfer.pk}),
        "sale detail": reverse("home:sale-detail", kwargs={"pk": scenario.sale.pk}),
    }


def test_home_pages_escape_stored_text(client):
    scenario = _hostile_scenario()
    client.force_login(staff_user(scenario.store, scenario.other_store, username="clerk"))

    responses = {label: client.get(url) for label, url in _home_pages(scenario).items()}

    assert _problems(responses) == []


def test_home_pages_escape_typed_input(client):
    scenario = _hostile_scenario()
    client.force_login(staff_user(scenario.store, username="clerk"))
    typed = quote(HOSTILE)

    responses = {
        "home with a bad date": client.get(f"/home/?date={typed}"),
        "panel with a bad store": client.get(f"/home/overview/on-hand/?store={typed}"),
        "panel with a bad date": client.get(
            f"/home/overview/on-hand/?store={scenario.store.pk}&date={typed}"
        ),
        "analytics with a bad store": client.get(f"/home/analytics/?store={typed}"),
        "price lookup of unknown item": client.get(f"/home/actions/price/?q={typed}"),
        "stock lookup of unknown item": client.get(f"/home/actions/stock/?q={typed}"),
        "store selection of unknown store": client.post(
            reverse("home:store-select"), {"store": HOSTILE}
        ),
        "login page with a next address": client.get(f"/accounts/login/?next={typed}"),
    }

    assert _problems(responses, statuses=(200, 400, 404, 422)) == []


def test_detail_pages_show_text_escaped(client):
    scenario = _hostile_scenario()
    client.force_login(staff_user(scenario.store, username="clerk"))
    text = escape(HOSTILE)

    transfer = client.get(reverse("home:transfer-detail", kwargs={"pk": scenario.transfer.pk}))
    sale = client.get(reverse("home:sale-detail", kwargs={"pk": scenario.sale.pk}))

    transfer_html, sale_html = transfer.content.decode(), sale.content.decode()
    assert f"<dd>{text}</dd>" in transfer_html
    assert f"<dd>N01 · {text}</dd>" in transfer_html
    assert f"<td>{text}</td>" in transfer_html
    assert f"<dd>{text}</dd>" in sale_html
    assert f"<td>{text}</td>" in sale_html


def test_quick_action_forms_escape_text(client):
    scenario = _hostile_scenario()
    client.force_login(staff_user(scenario.store, username="clerk"))
    today = timezone.localdate().isoformat()

    responses = {
        "transfer with notes": client.post(reverse("home:action-transfer"), {
            "from_store": scenario.store.pk, "to_store": scenario.other_store.pk,
            "item": "CBL-1", "quantity": 1, "notes": HOSTILE,
        }, **HTMX),
        "transfer of unknown item": client.post(reverse("home:action-transfer"), {
            "from_store": scenario.store.pk, "to_store": scenario.other_store.pk,
            "item": HOSTILE, "quantity": 1, "notes": HOSTILE,
        }, **HTMX),
        "sale of unknown item": client.post(reverse("home:action-sale"), {
            "store": scenario.store.pk, "item": HOSTILE, "quantity": 1,
            "payment_method": "cash",
        }, **HTMX),
        "settlement with notes": client.post(reverse("home:action-settlement"), {
            "business_date": today, "store": scenario.store.pk, "cash": "2.00",
            "notes": HOSTILE,
        }, **HTMX),
        "settlement with bad amount": client.post(reverse("home:action-settlement"), {
            "business_date": today, "store": scenario.store.pk, "cash": HOSTILE[:20],
            "notes": HOSTILE,
        }, **HTMX),
    }

    assert Transfer.objects.filter(notes=HOSTILE).count() == 3
    assert _problems(responses, statuses=(200, 422)) == []


# The admin ----------------------------------------------------------------------------


def _admin_pages(scenario: Scenario) -> dict[str, str]:
    sale_line = scenario.sale.lines.get()
    pages = {
        "store": ("inventory_store", scenario.store.pk),
        "product": ("inventory_product", sale_line.product_id),
        "transfer": ("inventory_transfer", scenario.transfer.pk),
        "sale": ("inventory_sale", scenario.sale.pk),
        "settlement": ("settlements_settlement", scenario.settlement.pk),
        "stock level": (
            "inventory_stocklevel",
            StockLevel.objects.get(store=scenario.store, product_id=sale_line.product_id).pk,
        ),
    }
    urls = {}
    for label, (name, pk) in pages.items():
        urls[f"{label} change list"] = reverse(f"admin:{name}_changelist")
        urls[f"{label} change form"] = reverse(f"admin:{name}_change", args=[pk])
    urls["price list change list"] = reverse("admin:inventory_pricelist_changelist")
    urls["sale line change list"] = reverse("admin:inventory_saleline_changelist")
    urls["stock movement change list"] = reverse("admin:inventory_stockmovement_changelist")
    return urls


def test_admin_pages_escape_stored_text(client):
    scenario = _hostile_scenario()
    client.force_login(back_office_user(username="office"))

    responses = {label: client.get(url) for label, url in _admin_pages(scenario).items()}

    assert _problems(responses) == []


# The JSON API -------------------------------------------------------------------------


def test_api_carries_text_as_json_data(client):
    scenario = _hostile_scenario()
    client.force_login(staff_user(scenario.store, scenario.other_store, username="clerk"))
    store = scenario.store.pk

    responses = {
        "stores": client.get("/api/stores"),
        "transfer": client.get(f"/api/transfers/{scenario.transfer.pk}"),
        "overview": client.get(f"/api/home/overview?store={store}"),
        "low stock": client.get(f"/api/home/low-stock?store={store}"),
        "stock by category": client.get(f"/api/home/stock-by-category?store={store}"),
        "price": client.get(f"/api/home/price?q=CBL-1&store={store}"),
        "stock": client.get("/api/home/stock?q=CBL-1"),
    }

    statuses = {label: response.status_code for label, response in responses.items()}
    types = {label: response["Content-Type"] for label, response in responses.items()}
    carried = {label: HOSTILE in _strings(response.json()) for label, response in responses.items()}
    assert set(statuses.values()) == {200}, statuses
    assert set(types.values()) == {"application/json; charset=utf-8"}, types
    assert all(carried.values()), carried


# Imports: the widget, the admin and the error report ----------------------------------


def _stream_text(response) -> str:
    async def collect() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return asyncio.run(collect()).decode("utf-8")


def _hostile_import(user):
    job = ImportJobFactory(
        created_by=user, status=ImportStatus.DONE, original_name=f"{HOSTILE}.csv",
        rows_total=1, rows_bad=1, pct=100, summary={"header": ["store", "sku", "qty"]},
    )
    ImportRowError.objects.create(
        job=job, row_number=2, column="sku", value=HOSTILE, code="unknown_sku",
        message=f"No product has SKU {HOSTILE}.", cells=["N01", HOSTILE, "1"],
    )
    return job


def test_import_pages_escape_file_name_and_bad_rows(client):
    user = operations_user(username="loader")
    job = _hostile_import(user)
    client.force_login(user)

    pages = {
        "imports list": client.get(reverse("home:imports")),
        "import job change list": client.get(reverse("admin:imports_importjob_changelist")),
        "import job change form": client.get(
            reverse("admin:imports_importjob_change", args=[job.pk])
        ),
    }
    detail = client.get(f"/api/imports/{job.task_id}")

    assert _problems(pages) == []
    assert detail["Content-Type"] == "application/json; charset=utf-8"
    assert detail.json()["file_name"] == f"{HOSTILE}.csv"


@pytest.mark.django_db(transaction=True)
def test_error_report_is_csv_data(client):
    # The report streams from an async view whose queries run on another thread, so the
    # rows must be committed: a transactional test.
    user = operations_user(username="loader")
    job = _hostile_import(user)
    client.force_login(user)

    response = client.get(f"/api/imports/{job.task_id}/errors.csv")
    text = _stream_text(response)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment")
    assert rows[1][:3] == ["2", "sku", HOSTILE]
    assert rows[1][5:] == ["N01", HOSTILE, "1"]
