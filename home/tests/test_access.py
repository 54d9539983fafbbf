"""Access to every API operation, Home page and stream: anonymous callers and other stores.

The anonymous tests walk the registered API operations and URL patterns, so a new
endpoint is tested the day it is added. Every API operation must also appear in
CROSS_STORE_TESTS with the test that proves a clerk cannot reach another store's data
through it. The websocket's rules are tested in imports/tests/test_consumers.py.
"""

import json
import re
import uuid
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from home.urls import urlpatterns as home_urlpatterns
from imports.models import ImportJob, ImportRowError, ImportStatus
from imports.tests.factories import ImportJobFactory
from imports.urls import urlpatterns as import_stream_urlpatterns
from inventory.models import PaymentMethod, Sale, StockLevel, Transfer, TransferStatus
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
from ops_portal.api import api
from settlements.models import Settlement
from settlements.services import settlement_record

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
REJECTED = {400, 403, 404}
PATH_VALUES = {"int": "1", "uuidstr": str(uuid.uuid4()), "uuid": str(uuid.uuid4()), "str": "stock"}

# Every API operation, by method and path, and the test that keeps other stores' data
# out of its reach. test_every_api_operation_has_cross_store_test fails for a new one.
CROSS_STORE_TESTS = {
    ("GET", "/stores"): "test_store_list_names_own_stores_only",
    ("POST", "/transfers"): "test_api_transfer_from_other_store_rejected",
    ("GET", "/transfers/{int:transfer_id}"): "test_api_transfer_of_other_stores_hidden",
    ("POST", "/transfers/{int:transfer_id}/receive"): "test_api_receive_for_other_store_rejected",
    ("POST", "/sales"): "test_api_sale_at_other_store_rejected",
    ("GET", "/sales/{int:sale_id}"): "test_api_sale_of_other_store_hidden",
    ("POST", "/settlements"): "test_api_settlement_of_other_store_rejected",
    ("POST", "/imports"): "test_api_import_for_other_store_rejected",
    ("GET", "/imports"): "test_api_import_list_hides_other_store_jobs",
    ("GET", "/imports/{uuidstr:task_id}"): "test_api_import_of_other_store_hidden",
    ("POST", "/imports/{uuidstr:task_id}/retry"): "test_api_import_actions_on_other_store_rejected",
    ("POST", "/imports/{uuidstr:task_id}/cancel"): "test_api_import_actions_on_other_store_rejected",
    ("POST", "/imports/{uuidstr:task_id}/rerun"): "test_api_import_actions_on_other_store_rejected",
    ("GET", "/imports/templates/{str:kind}"): "test_api_import_template_has_no_store_data",
    ("GET", "/home/overview"): "test_api_home_reads_with_other_store_rejected",
    ("GET", "/home/low-stock"): "test_api_home_reads_with_other_store_rejected",
    ("GET", "/home/stock-by-category"): "test_api_home_reads_with_other_store_rejected",
    ("GET", "/home/price"): "test_api_lookups_with_other_store_rejected",
    ("GET", "/home/stock"): "test_api_lookups_with_other_store_rejected",
    ("GET", "/home/analytics/sales-by-hour"): "test_api_home_reads_with_other_store_rejected",
    ("GET", "/home/analytics/sales-trend"): "test_api_home_reads_with_other_store_rejected",
    ("GET", "/home/analytics/stock-movements"): "test_api_home_reads_with_other_store_rejected",
    ("GET", "/home/analytics/settlement-vs-sales"): "test_api_home_reads_with_other_store_rejected",
}


def _api_operations() -> list[tuple[str, str]]:
    api.urls  # noqa: B018 - builds the routers' operations once
    operations = []
    for _prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                operations += [(method, path) for method in operation.methods]
    return operations


def _concrete(path: str) -> str:
    """Fill each {converter:name} part of a path with a value of that converter."""
    parts = []
    for part in path.strip("/").split("/"):
        if part.startswith("{"):
            converter = part.strip("{}").split(":")[0]
            part = PATH_VALUES[converter]
        parts.append(part)
    return "/api/" + "/".join(parts)


def test_every_api_operation_has_cross_store_test():
    operations = set(_api_operations())

    assert operations == set(CROSS_STORE_TESTS)
    assert all(name in globals() for name in CROSS_STORE_TESTS.values())


@pytest.mark.parametrize(("method", "path"), _api_operations())
def test_api_operation_rejects_anonymous(client, method, path):
    response = client.generic(method, _concrete(path), data="{}", content_type="application/json")

    assert response.status_code == 401, response.content
    assert response.json()["code"] == "not_authenticated"


def _patterns(patterns, prefix: str) -> list[tuple[str, URLPattern]]:
    return [(prefix, pattern) for pattern in patterns]


def _pattern_url(prefix: str, pattern: URLPattern) -> str:
    route = str(pattern.pattern)
    values = {"pk": "1", "panel": "on-hand", "task_id": str(uuid.uuid4())}
    for name, value in values.items():
        for converter in ("int", "slug", "uuid", "str"):
            route = route.replace(f"<{converter}:{name}>", value)
    assert "<" not in route, f"add a value for {route} to _pattern_url"
    return prefix + route


@pytest.mark.parametrize(
    ("prefix", "pattern"), _patterns(home_urlpatterns, "/home/"),
    ids=lambda value: getattr(value, "name", value),
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_home_page_redirects_anonymous_to_login(client, prefix, pattern, method):
    url = _pattern_url(prefix, pattern)

    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("prefix", "pattern"), _patterns(import_stream_urlpatterns, "/api/imports/"),
    ids=lambda value: getattr(value, "name", value),
)
def test_import_stream_rejects_anonymous(client, prefix, pattern):
    response = client.get(_pattern_url(prefix, pattern))

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# Routes open to anonymous callers on purpose: the login pages, the health check and
# redirects. "api/" is ninja's root, which serves nothing here (404).
PUBLIC_ROUTES = {
    "healthz", "accounts/login/", "accounts/logout/", "accounts/password_reset/",
    "accounts/password_reset/done/", "accounts/reset/<uidb64>/<token>/", "accounts/reset/done/",
    "stock-dashboard", "stock-dashboard/", "stock_dashboard/", "", "api/",
}
# The admin has its own login, and the debug toolbar runs only in development.
UNCHECKED_PREFIXES = ("admin/", "^static/", "^__debug__/")
ROUTE_VALUES = {"int": "1", "uuidstr": str(uuid.uuid4()), "uuid": str(uuid.uuid4()),
                "slug": "on-hand", "path": "x", "str": "x"}


def _project_routes(resolver=None, prefix: str = "") -> list[str]:
    resolver = resolver or get_resolver()
    routes = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes += _project_routes(entry, route)
        else:
            routes.append(route)
    return routes


def _route_url(route: str) -> str:
    url = re.sub(r"<(?:(\w+):)?\w+>", lambda match: ROUTE_VALUES[match.group(1) or "str"], route)
    return "/" + url.lstrip("^").rstrip("$").replace("\\", "")


@pytest.mark.parametrize(
    "route", [route for route in _project_routes() if route not in PUBLIC_ROUTES
              and not route.startswith(UNCHECKED_PREFIXES)]
)
def test_every_project_route_rejects_anonymous(client, route):
    response = client.get(_route_url(route))

    assert response.status_code in {302, 401, 405}, response.content[:300]
    if response.status_code == 302:
        assert "/login/" in response["Location"]


# A clerk of store N01 and the data of store S02, which they must not reach.


class World:
    def __init__(self) -> None:
        self.own = StoreFactory(code="N01", name="North")
        self.other = StoreFactory(code="S02", name="South")
        self.third = StoreFactory(code="E03", name="East")
        self.clerk = staff_user(self.own, username="clerk")
        back_office = back_office_user()

        self.product = stocked_product(self.other, on_hand=5, sku="CBL-1", price="10.00")
        stocked_product(self.own, on_hand=1, sku="CBL-OWN", price="4.00")
        self.unit = stocked_unit(self.other, price="500.00")
        self.sale = sale_record(
            actor=back_office, store=self.other, lines=[SaleLineIn(sku="CBL-1")],
            payment_method=PaymentMethod.CASH,
        )

        self.outgoing = transfer_create(
            actor=back_office, from_store=self.other, to_store=self.third,
            lines=[TransferLineIn(sku="CBL-1", quantity=1)],
        )
        stocked_product(self.third, on_hand=3, sku="CBL-3")
        self.incoming = transfer_create(
            actor=back_office, from_store=self.third, to_store=self.other,
            lines=[TransferLineIn(sku="CBL-3", quantity=1)],
        )

        self.settlement = settlement_record(
            actor=back_office, store=self.other, business_date=timezone.localdate(),
            counted={PaymentMethod.CASH: "10.00"},
        )

        self.job = ImportJobFactory(
            created_by=back_office, stores=[self.other], status=ImportStatus.FAILED,
            rows_total=1, rows_bad=1,
        )
        ImportRowError.objects.create(
            job=self.job, row_number=2, column="qty", value="x", code="number_invalid",
            message="Quantity x is not a number.", cells=["S02", "CBL-1", "x"],
        )
        self.running_job = ImportJobFactory(
            created_by=back_office, stores=[self.other], status=ImportStatus.VALIDATING,
        )

    def counts(self) -> dict:
        """Return what the rejected requests must leave unchanged."""
        return {
            "sales": Sale.objects.count(),
            "transfers": Transfer.objects.count(),
            "settlements": Settlement.objects.count(),
            "jobs": ImportJob.objects.count(),
            "levels": sorted(StockLevel.objects.values_list("store_id", "product_id", "on_hand",
                                                             "inbound")),
        }


@pytest.fixture
def world(client) -> World:
    world = World()
    client.force_login(world.clerk)
    return world


def _post_json(client, url: str, body: dict):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_store_list_names_own_stores_only(client, world):
    response = client.get("/api/stores")

    assert response.status_code == 200
    assert [store["code"] for store in response.json()] == ["N01"]


def test_api_transfer_from_other_store_rejected(client, world):
    before = world.counts()

    response = _post_json(client, "/api/transfers", {
        "from_store": world.other.pk, "to_store": world.own.pk,
        "lines": [{"sku": "CBL-1", "quantity": 1}],
    })

    assert response.status_code in REJECTED, response.content
    assert world.counts() == before


def test_api_transfer_of_other_stores_hidden(client, world):
    response = client.get(f"/api/transfers/{world.outgoing.pk}")

    assert response.status_code == 404
    assert "CBL-1" not in response.content.decode()


def test_api_receive_for_other_store_rejected(client, world):
    before = world.counts()

    response = client.post(f"/api/transfers/{world.incoming.pk}/receive")

    world.incoming.refresh_from_db()
    assert response.status_code in REJECTED, response.content
    assert world.incoming.status == TransferStatus.IN_TRANSIT
    assert world.counts() == before


def test_api_sale_at_other_store_rejected(client, world):
    before = world.counts()

    response = _post_json(client, "/api/sales", {
        "store": world.other.pk, "payment_method": "cash", "lines": [{"serial": world.unit.serial}],
    })

    world.unit.refresh_from_db()
    assert response.status_code in REJECTED, response.content
    assert world.unit.status == "in_stock"
    assert world.counts() == before


def test_api_sale_of_other_store_hidden(client, world):
    response = client.get(f"/api/sales/{world.sale.pk}")

    assert response.status_code == 404


def test_api_settlement_of_other_store_rejected(client, world):
    before = world.counts()

    response = _post_json(client, "/api/settlements", {
        "store": world.other.pk, "business_date": timezone.localdate().isoformat(),
        "counted": {"cash": "99.00"},
    })

    world.settlement.refresh_from_db()
    assert response.status_code in REJECTED, response.content
    assert world.settlement.counted_total == Decimal("10.00")
    assert world.counts() == before


def test_api_import_for_other_store_rejected(client, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    before = world.counts()
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post("/api/imports", {
        "file": SimpleUploadedFile("count.csv", b"sku,qty\nCBL-1,0\n", content_type="text/csv"),
        "kind": "stock", "options": json.dumps({"default_store": "S02"}),
    })

    assert response.status_code in REJECTED, response.content
    assert world.counts() == before
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]


def test_api_import_list_hides_other_store_jobs(client, world):
    own_job = ImportJobFactory(created_by=world.clerk, stores=[world.own])

    response = client.get("/api/imports")

    assert response.status_code == 200
    assert [job["task_id"] for job in response.json()] == [str(own_job.task_id)]


def test_api_import_of_other_store_hidden(client, world):
    response = client.get(f"/api/imports/{world.job.task_id}")

    assert response.status_code == 404


@pytest.mark.parametrize("action", ["retry", "cancel", "rerun"])
def test_api_import_actions_on_other_store_rejected(client, world, action):
    jobs_before = ImportJob.objects.count()

    response = client.post(f"/api/imports/{world.running_job.task_id}/{action}")
    finished = client.post(f"/api/imports/{world.job.task_id}/{action}")

    world.running_job.refresh_from_db()
    world.job.refresh_from_db()
    assert response.status_code == 404
    assert finished.status_code == 404
    assert world.running_job.cancel_requested is False
    assert world.running_job.status == ImportStatus.VALIDATING
    assert world.job.status == ImportStatus.FAILED
    assert ImportJob.objects.count() == jobs_before


def test_api_import_template_has_no_store_data(client, world):
    response = client.get("/api/imports/templates/stock")

    assert response.status_code == 200
    assert response.content.decode("utf-8-sig").splitlines() == [
        "store,sku,serial,qty,status,unit_cost,received_at"
    ]


@pytest.mark.parametrize("path", [
    "/api/home/overview", "/api/home/low-stock", "/api/home/stock-by-category",
    "/api/home/analytics/sales-by-hour", "/api/home/analytics/sales-trend",
    "/api/home/analytics/stock-movements", "/api/home/analytics/settlement-vs-sales",
])
def test_api_home_reads_with_other_store_rejected(client, world, path):
    response = client.get(path, {"store": world.other.pk})

    assert response.status_code == 404, response.content
    assert "S02" not in response.content.decode()


def test_api_lookups_with_other_store_rejected(client, world):
    PriceListEntryFactory(price_list=PriceListFactory(store=world.other), product=world.product,
                          price="3.00")

    price = client.get("/api/home/price", {"q": "CBL-1", "store": world.other.pk})
    stock = client.get("/api/home/stock", {"q": "CBL-1", "store": world.other.pk})
    serial = client.get("/api/home/stock", {"q": world.unit.serial})
    everywhere = client.get("/api/home/stock", {"q": "CBL-1"})

    assert price.status_code in REJECTED, price.content
    assert "3.00" not in price.content.decode()
    assert stock.status_code in REJECTED, stock.content
    assert serial.status_code == 404, serial.content
    assert "S02" not in json.dumps(everywhere.json())


def test_import_error_report_of_other_store_hidden(client, world):
    response = client.get(f"/api/imports/{world.job.task_id}/errors.csv")

    assert response.status_code == 404
    assert b"CBL-1" not in response.content


def test_import_events_of_other_store_hidden(client, world):
    response = client.get(f"/api/imports/{world.running_job.task_id}/events")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


# Home pages and partials.


def test_home_transfer_pages_of_other_stores_hidden(client, world):
    before = world.counts()

    detail = client.get(reverse("home:transfer-detail", kwargs={"pk": world.outgoing.pk}))
    receive = client.post(reverse("home:transfer-receive", kwargs={"pk": world.incoming.pk}))

    world.incoming.refresh_from_db()
    assert detail.status_code == 404
    assert receive.status_code == 404
    assert world.incoming.status == TransferStatus.IN_TRANSIT
    assert world.counts() == before


def test_home_sale_receipt_of_other_store_hidden(client, world):
    response = client.get(reverse("home:sale-detail", kwargs={"pk": world.sale.pk}))

    assert response.status_code == 404
    assert "CBL-1" not in response.content.decode()


@pytest.mark.parametrize(("name", "body"), [
    ("home:action-sale", {"item": "CBL-1", "quantity": 1, "payment_method": "cash"}),
    ("home:action-transfer", {"item": "CBL-1", "quantity": 1, "notes": ""}),
    ("home:action-settlement", {"cash": "1.00", "notes": ""}),
])
def test_home_actions_at_other_store_rejected(client, world, name, body):
    before = world.counts()
    store_field = "from_store" if name == "home:action-transfer" else "store"
    data = {
        **body, store_field: world.other.pk, "to_store": world.own.pk,
        "business_date": timezone.localdate().isoformat(),
    }

    response = client.post(reverse(name), data, **HTMX)

    world.settlement.refresh_from_db()
    assert response.status_code == 422
    assert world.counts() == before
    assert world.settlement.counted_total == Decimal("10.00")


@pytest.mark.parametrize("panel", ["on-hand", "inbound", "sold", "low-stock"])
def test_home_overview_panel_with_other_store_rejected(client, world, panel):
    response = client.get(
        reverse("home:overview-panel", kwargs={"panel": panel}), {"store": world.other.pk}
    )

    assert response.status_code == 404
    assert "CBL-1" not in response.content.decode()


def test_home_store_select_of_other_store_rejected(client, world):
    response = client.post(reverse("home:store-select"), {"store": world.other.pk})
    home = client.get(reverse("home:index"))

    assert response.status_code == 404
    assert home.context["store"] == world.own


def test_home_imports_list_hides_other_store_jobs(client, world):
    response = client.get(reverse("home:imports"))

    assert response.status_code == 200
    assert str(world.job.task_id) not in response.content.decode()
    assert world.job.original_name not in response.content.decode()


def test_home_import_upload_for_other_store_rejected(client, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    before = world.counts()
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.post(reverse("home:imports-upload"), {
        "file": SimpleUploadedFile("count.csv", b"sku,qty\nCBL-1,0\n", content_type="text/csv"),
        "kind": "stock", "default_store": "S02",
    })

    assert world.counts() == before


def test_home_page_ignores_other_store_in_query(client, world):
    response = client.get(reverse("home:index"), {"store": world.other.pk})

    assert response.status_code == 200
    assert response.context["store"] == world.own
