"""The back-office admin: change lists at a fixed query count, forms, read-only models,
the receive action and who may open the admin."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory.admin import PriceListAdmin
from inventory.models import (
    MovementKind,
    PriceList,
    Sale,
    SaleLine,
    SerialUnit,
    StockLevel,
    StockMovement,
    Store,
    StoreMembership,
    Transfer,
    TransferLine,
    TransferStatus,
)
from inventory.services import SaleLineIn, TransferLineIn, sale_record, transfer_create
from inventory.tests.factories import (
    PriceListEntryFactory,
    PriceListFactory,
    ProductFactory,
    SaleFactory,
    SerialUnitFactory,
    StockLevelFactory,
    StoreFactory,
    UserFactory,
    back_office_user,
    operations_user,
    staff_user,
    stocked_product,
    stocked_unit,
)
from settlements.services import settlement_record

pytestmark = pytest.mark.django_db

# Every change list of the portal's admin. The cap is one above the highest count
# measured, 11 on MariaDB for the stock movements: session, user, store selector, store
# filter, table-row estimate, count, page, and one query for each of 4 prefetched relations.
CHANGELISTS = [
    "auth_user",
    "inventory_store",
    "inventory_storemembership",
    "inventory_product",
    "inventory_serialunit",
    "inventory_stocklevel",
    "inventory_stockmovement",
    "inventory_transfer",
    "inventory_transferline",
    "inventory_sale",
    "inventory_saleline",
    "inventory_pricelist",
    "inventory_pricelistentry",
    "settlements_settlement",
    "settlements_settlementline",
]
CHANGELIST_MAX_QUERIES = 12


@pytest.fixture
def superuser():
    return UserFactory(username="admin-root", is_staff=True, is_superuser=True)


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
    return client


def rows_add(count: int, *, actor) -> None:
    """Add ``count`` rows to every table the admin shows, written through the services."""
    today = timezone.localdate()
    for _ in range(count):
        store, other = StoreFactory(), StoreFactory()
        staff_user(store)
        product = stocked_product(store, on_hand=5, price="10.00")
        unit = stocked_unit(store)
        transfer_create(
            actor=actor,
            from_store=store,
            to_store=other,
            lines=[TransferLineIn(sku=product.sku, quantity=1)],
        )
        sale_record(
            actor=actor, store=store, lines=[SaleLineIn(serial=unit.serial)], payment_method="card"
        )
        settlement_record(actor=actor, store=store, business_date=today, counted={"card": "599"})


def changelist_queries(client, name: str) -> int:
    url = reverse(f"admin:{name}_changelist")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, name
    return len(queries)


def action_post(client, model: str, action: str, pks: list[int]):
    return client.post(
        reverse(f"admin:inventory_{model}_changelist"),
        {"action": action, "_selected_action": [str(pk) for pk in pks]},
        follow=True,
    )


def test_changelist_query_count_fixed(superuser_client, superuser):
    rows_add(2, actor=superuser)
    for name in CHANGELISTS:
        superuser_client.get(reverse(f"admin:{name}_changelist"))
    with_two = {name: changelist_queries(superuser_client, name) for name in CHANGELISTS}

    rows_add(10, actor=superuser)
    with_twelve = {name: changelist_queries(superuser_client, name) for name in CHANGELISTS}

    for name in CHANGELISTS:
        assert with_twelve[name] == with_two[name], name
        assert with_twelve[name] <= CHANGELIST_MAX_QUERIES, name


def test_changelist_shows_rows(superuser_client, superuser):
    rows_add(1, actor=superuser)
    unit = SerialUnit.objects.get()

    response = superuser_client.get(reverse("admin:inventory_serialunit_changelist"))

    assert response.status_code == 200
    assert unit.serial in response.content.decode()


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("inventory_serialunit", {"q": "serial"}),
        ("inventory_serialunit", {"q": "sku"}),
        ("inventory_serialunit", {"store__id__exact": "store"}),
        ("inventory_serialunit", {"status__exact": "status"}),
        ("inventory_stocklevel", {"q": "sku"}),
        ("inventory_stockmovement", {"q": "serial"}),
        ("inventory_sale", {"q": "serial"}),
        ("inventory_saleline", {"q": "sku"}),
        ("inventory_saleline", {"sale__store__id__exact": "store"}),
        ("inventory_pricelistentry", {"q": "sku"}),
    ],
)
def test_filtered_changelist_finds_unit_rows(superuser_client, superuser, name, params):
    rows_add(3, actor=superuser)
    unit = SerialUnit.objects.order_by("pk").last()
    stocked_unit(StoreFactory())
    values = {
        "serial": unit.serial,
        "sku": unit.product.sku,
        "store": str(unit.store_id),
        "status": unit.status,
    }
    query = {key: values[value] for key, value in params.items()}

    response = superuser_client.get(reverse(f"admin:{name}_changelist"), query)

    assert response.status_code == 200
    results = response.context["cl"].result_list
    assert len(results) >= 1
    assert len(results) < response.context["cl"].model.objects.count()


def test_search_without_match_shows_nothing(superuser_client, superuser):
    rows_add(2, actor=superuser)

    response = superuser_client.get(
        reverse("admin:inventory_serialunit_changelist"), {"q": "no-such-serial"}
    )

    assert response.status_code == 200
    assert response.context["cl"].result_count == 0


def test_sale_search_matches_receipt(superuser_client):
    sale = SaleFactory(receipt_number="R-0042")
    SaleFactory(store=sale.store, receipt_number="R-0043")

    response = superuser_client.get(reverse("admin:inventory_sale_changelist"), {"q": "R-0042"})

    assert list(response.context["cl"].result_list) == [sale]


@pytest.mark.parametrize("term", ["{id}", "#{id}"])
def test_sale_search_matches_sale_id(superuser_client, term):
    sale = SaleFactory(receipt_number=None)
    SaleFactory(store=sale.store, receipt_number=None)

    response = superuser_client.get(
        reverse("admin:inventory_sale_changelist"), {"q": term.format(id=sale.pk)}
    )

    assert list(response.context["cl"].result_list) == [sale]


def test_sale_search_matches_id_or_receipt(superuser_client):
    by_id = SaleFactory(receipt_number=None)
    by_receipt = SaleFactory(store=by_id.store, receipt_number=str(by_id.pk))
    SaleFactory(store=by_id.store, receipt_number=None)

    response = superuser_client.get(
        reverse("admin:inventory_sale_changelist"), {"q": str(by_id.pk)}
    )

    assert set(response.context["cl"].result_list) == {by_id, by_receipt}


@pytest.mark.parametrize("term", ["99999999999999999999", "-5", "0", "٣"])
def test_sale_search_ignores_invalid_id(superuser_client, term):
    SaleFactory(receipt_number=None)

    response = superuser_client.get(reverse("admin:inventory_sale_changelist"), {"q": term})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 0


def test_ledger_transfer_in_filter_finds_inbound_entry(superuser_client, superuser):
    source, destination = StoreFactory(), StoreFactory()
    product = stocked_product(source, on_hand=5)
    transfer = transfer_create(
        actor=superuser, from_store=source, to_store=destination,
        lines=[TransferLineIn(sku=product.sku, quantity=2)],
    )

    response = superuser_client.get(
        reverse("admin:inventory_stockmovement_changelist"),
        {"kind__exact": MovementKind.TRANSFER_IN, "store__id__exact": destination.pk},
    )

    rows = list(response.context["cl"].result_list)
    assert response.status_code == 200
    assert [(row.transfer_id, row.bucket, row.quantity) for row in rows] == [
        (transfer.pk, "inbound", 2)
    ]
    assert "Transfer in" in response.content.decode()


def test_changelist_escapes_product_name(superuser_client):
    ProductFactory(name="<script>alert('x')</script>")

    response = superuser_client.get(reverse("admin:inventory_product_changelist"))

    content = response.content.decode()
    assert "<script>alert(" not in content
    assert "&lt;script&gt;alert(" in content


def test_changelist_formats_money(superuser_client):
    PriceListEntryFactory(price=Decimal("1234.50"))

    response = superuser_client.get(reverse("admin:inventory_pricelistentry_changelist"))

    assert "1,234.50 EUR" in response.content.decode()


def test_change_forms_open(superuser_client, superuser):
    rows_add(1, actor=superuser)
    plain_level = StockLevel.objects.filter(product__is_serialized=False).first()
    objects = {
        "auth_user": get_user_model().objects.filter(is_superuser=False).first(),
        "inventory_store": Store.objects.first(),
        "inventory_storemembership": StoreMembership.objects.first(),
        "inventory_product": plain_level.product,
        "inventory_serialunit": SerialUnit.objects.first(),
        "inventory_stocklevel": plain_level,
        "inventory_transfer": Transfer.objects.first(),
        "inventory_pricelist": PriceList.objects.first(),
        "inventory_pricelistentry": plain_level.product.price_entries.first(),
    }

    for name, obj in objects.items():
        response = superuser_client.get(reverse(f"admin:{name}_change", args=[obj.pk]))
        assert response.status_code == 200, name


@pytest.mark.parametrize(
    "name",
    [
        "auth_user",
        "inventory_store",
        "inventory_storemembership",
        "inventory_product",
        "inventory_stocklevel",
        "inventory_pricelist",
        "inventory_pricelistentry",
    ],
)
def test_add_form_opens(superuser_client, name):
    response = superuser_client.get(reverse(f"admin:{name}_add"))

    assert response.status_code == 200


@pytest.mark.parametrize("model", ["stockmovement", "sale", "saleline", "transferline"])
def test_read_only_model_rejects_add_change_delete(superuser_client, superuser, model):
    rows_add(1, actor=superuser)
    obj = {
        "stockmovement": StockMovement,
        "sale": Sale,
        "saleline": SaleLine,
        "transferline": TransferLine,
    }[model].objects.first()
    movements_before = StockMovement.objects.count()

    changelist = superuser_client.get(reverse(f"admin:inventory_{model}_changelist"))
    add = superuser_client.get(reverse(f"admin:inventory_{model}_add"))
    change = superuser_client.post(reverse(f"admin:inventory_{model}_change", args=[obj.pk]), {})
    delete = superuser_client.post(
        reverse(f"admin:inventory_{model}_delete", args=[obj.pk]), {"post": "yes"}
    )

    assert changelist.status_code == 200
    assert reverse(f"admin:inventory_{model}_add") not in changelist.content.decode()
    assert changelist.context["cl"].model_admin.get_actions(changelist.wsgi_request) == {}
    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert StockMovement.objects.count() == movements_before


def test_ledger_view_shows_row_read_only(superuser_client, superuser):
    rows_add(1, actor=superuser)
    movement = StockMovement.objects.first()

    response = superuser_client.get(
        reverse("admin:inventory_stockmovement_change", args=[movement.pk])
    )

    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert 'name="_save"' not in response.content.decode()


def test_receive_action_moves_inbound_to_on_hand(superuser_client, superuser):
    source, destination = StoreFactory(), StoreFactory()
    product = stocked_product(source, on_hand=5)
    transfer = transfer_create(
        actor=superuser,
        from_store=source,
        to_store=destination,
        lines=[TransferLineIn(sku=product.sku, quantity=3)],
    )

    response = action_post(superuser_client, "transfer", "receive_selected", [transfer.pk])

    transfer.refresh_from_db()
    level = StockLevel.objects.get(store=destination, product=product)
    assert transfer.status == TransferStatus.RECEIVED
    assert transfer.received_by == superuser
    assert level.on_hand == 3
    assert level.inbound == 0
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        f"Received 1 transfer: {transfer.pk}."
    ]


def test_receive_action_reports_received_transfer(superuser_client, superuser):
    source, destination = StoreFactory(), StoreFactory()
    product = stocked_product(source, on_hand=5)
    done = transfer_create(
        actor=superuser,
        from_store=source,
        to_store=destination,
        lines=[TransferLineIn(sku=product.sku, quantity=1)],
    )
    action_post(superuser_client, "transfer", "receive_selected", [done.pk])
    done.refresh_from_db()
    pending = transfer_create(
        actor=superuser,
        from_store=source,
        to_store=destination,
        lines=[TransferLineIn(sku=product.sku, quantity=2)],
    )
    movements_before = StockMovement.objects.count()

    response = action_post(
        superuser_client, "transfer", "receive_selected", [done.pk, pending.pk]
    )

    messages = [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]
    received_on = f"{timezone.localtime(done.received_at):%-d %b %Y %H:%M}"
    assert response.status_code == 200
    assert ("error", f"Transfer {done.pk} was already received on {received_on}.") in messages
    assert ("success", f"Received 1 transfer: {pending.pk}.") in messages
    assert "Traceback" not in response.content.decode()
    level = StockLevel.objects.get(store=destination, product=product)
    assert level.on_hand == 3
    assert level.inbound == 0
    # Only the pending transfer wrote ledger rows: inbound out and on-hand in.
    assert StockMovement.objects.count() == movements_before + 2
    received_at = done.received_at
    done.refresh_from_db()
    assert done.received_at == received_at


def test_stock_level_correction_writes_ledger(superuser_client, superuser):
    store = StoreFactory()
    level = StockLevelFactory(store=store, on_hand=10)

    response = superuser_client.post(
        reverse("admin:inventory_stocklevel_change", args=[level.pk]),
        {"on_hand": "7", "note": "Shelf count after inventory"},
    )

    assert response.status_code == 302
    level.refresh_from_db()
    movement = StockMovement.objects.get(store=store, product=level.product)
    assert level.on_hand == 7
    assert movement.kind == MovementKind.MANUAL_CORRECTION
    assert movement.quantity == -3
    assert movement.actor == superuser
    assert movement.note == "Shelf count after inventory"


def test_stock_level_picker_skips_serialized(superuser_client):
    plain = ProductFactory(sku="CASE-1")
    SerialUnitFactory(product__sku="CASE-PHONE")

    response = superuser_client.get(
        reverse("admin:autocomplete"),
        {
            "term": "CASE",
            "app_label": "inventory",
            "model_name": "stocklevel",
            "field_name": "product",
        },
    )

    assert [result["id"] for result in response.json()["results"]] == [str(plain.pk)]


def test_stock_level_correction_rejects_negative(superuser_client):
    level = StockLevelFactory(on_hand=10)

    response = superuser_client.post(
        reverse("admin:inventory_stocklevel_change", args=[level.pk]),
        {"on_hand": "-1", "note": "typo"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["on_hand"]
    level.refresh_from_db()
    assert level.on_hand == 10
    assert not StockMovement.objects.exists()


def test_serialized_stock_level_is_view_only(superuser_client):
    unit = stocked_unit(StoreFactory())
    level = StockLevel.objects.get(store=unit.store, product=unit.product)

    response = superuser_client.post(
        reverse("admin:inventory_stocklevel_change", args=[level.pk]),
        {"on_hand": "5", "note": "wrong"},
    )

    assert response.status_code == 403
    level.refresh_from_db()
    assert level.on_hand == 1
    assert not StockMovement.objects.exists()


def test_large_price_list_links_to_entries(superuser_client, monkeypatch):
    price_list = PriceListFactory()
    PriceListEntryFactory.create_batch(3, price_list=price_list)
    monkeypatch.setattr(PriceListAdmin, "inline_entries_max", 2)

    response = superuser_client.get(reverse("admin:inventory_pricelist_change", args=[price_list.pk]))

    assert response.status_code == 200
    assert response.context["inline_admin_formsets"] == []
    assert f"?price_list__id__exact={price_list.pk}" in response.content.decode()


def test_back_office_opens_changelists(client):
    client.force_login(back_office_user())

    statuses = {
        name: client.get(reverse(f"admin:{name}_changelist")).status_code for name in CHANGELISTS
    }

    assert statuses == {name: 200 for name in CHANGELISTS}


def test_back_office_cannot_grant_superuser(client):
    client.force_login(back_office_user())
    other = UserFactory(is_staff=True)

    response = client.get(reverse("admin:auth_user_change", args=[other.pk]))

    form = response.context["adminform"].form
    assert response.status_code == 200
    assert "is_superuser" not in form.fields
    assert "user_permissions" not in form.fields
    assert "groups" in form.fields


def test_back_office_cannot_change_superuser(client, superuser):
    client.force_login(back_office_user())

    response = client.post(reverse("admin:auth_user_change", args=[superuser.pk]), {})

    assert response.status_code == 403
    superuser.refresh_from_db()
    assert superuser.is_superuser


def test_operations_cannot_add(client):
    client.force_login(operations_user())

    changelist = client.get(reverse("admin:inventory_product_changelist"))
    add = client.get(reverse("admin:inventory_product_add"))

    assert changelist.status_code == 200
    assert add.status_code == 403


def test_store_staff_cannot_open_admin(client):
    client.force_login(staff_user(StoreFactory()))

    response = client.get(reverse("admin:inventory_product_changelist"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_user_changelist_lists_store_codes(superuser_client):
    store = StoreFactory(code="NORTH1")
    staff_user(store, username="clerk")

    response = superuser_client.get(reverse("admin:auth_user_changelist"), {"q": "clerk"})

    assert "NORTH1" in response.content.decode()


def test_sale_list_shows_total(superuser_client, superuser):
    store = StoreFactory()
    product = stocked_product(store, on_hand=5, price="1250.00")
    sale_record(
        actor=superuser,
        store=store,
        lines=[SaleLineIn(sku=product.sku, quantity=2)],
        payment_method="cash",
        sold_at=timezone.now() - datetime.timedelta(minutes=5),
    )

    response = superuser_client.get(reverse("admin:inventory_sale_changelist"))

    assert "2,500.00 EUR" in response.content.decode()
