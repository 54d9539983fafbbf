"""CSRF protection of every form and every endpoint that accepts POST with a session cookie.

Each endpoint is posted twice by a client that enforces CSRF checks and has the
csrftoken cookie, as a victim's browser would. The first post has no token, because a
cross-site page cannot read it. The second sends the token the way the page does. The first
must get 403 and write nothing. The second must pass the check and, unless the view only
reads, write. A completeness check walks the URL resolver, so a new view that accepts POST
fails it until the view has a case here.
"""

import functools
import inspect
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from ninja.operation import PathView

from home.models import HomePreference
from imports.models import ImportJob, ImportStatus
from imports.tests.factories import ImportJobFactory
from inventory.models import Product, Sale, Transfer, TransferStatus
from inventory.services import TransferLineIn, transfer_create
from inventory.tests.factories import (
    ProductFactory,
    StoreFactory,
    UserFactory,
    back_office_user,
    operations_user,
    staff_user,
    stocked_product,
)
from ops_portal.tokens import api_token_create
from settlements.models import Settlement

pytestmark = pytest.mark.django_db

PASSWORD = "test-password"
NEW_PASSWORD = "Quartz-harbour-lantern-47"
STOCK_CSV = b"store,sku,qty\nS001,ACC-1,5\n"
# URL namespaces left out of the completeness check: Django's admin, whose change form
# and action are covered by ADMIN_ENDPOINTS, and the debug toolbar of local development.
NAMESPACES_NOT_WALKED = {"admin", "djdt"}


@pytest.fixture(autouse=True)
def isolated_side_effects(settings, tmp_path):
    """Keep uploads, login-throttle counters and password hashing inside this test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    cache_settings = dict(django_settings.CACHES["default"])
    if cache_settings["BACKEND"].endswith("FileBasedCache"):
        cache_settings["LOCATION"] = str(tmp_path / "cache")
    cache_settings["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {"default": cache_settings}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class PostCase:
    """One POST: who sends it, the page that contains its form, and what it would write.

    ``state`` returns a snapshot of the rows the POST writes, and is None for a view that
    writes nothing. ``token_in`` is "field" (csrfmiddlewaretoken, as a plain form posts) or
    "header" (X-CSRFToken, as htmx and the page's fetch calls send it).
    """

    user: object | None
    page: str
    url: str
    data: dict = field(default_factory=dict)
    body: str = "form"
    token_in: str = "field"
    headers: dict = field(default_factory=dict)
    state: Callable[[], object] | None = None


def _post(client: Client, case: PostCase, *, token: str | None = None, **extra):
    data = dict(case.data)
    headers = {**case.headers, **extra}
    if token is not None and case.token_in == "field":
        data["csrfmiddlewaretoken"] = token
    if token is not None and case.token_in == "header":
        headers["HTTP_X_CSRFTOKEN"] = token
    if case.body == "json":
        return client.post(case.url, json.dumps(data), content_type="application/json", **headers)
    return client.post(case.url, data, **headers)


def _stores():
    return StoreFactory(code="N01", name="North"), StoreFactory(code="S02", name="South")


def _transfer_in_transit(source, destination):
    product = stocked_product(source, on_hand=5, sku="CBL-9")
    return transfer_create(
        actor=back_office_user(username="sender"), from_store=source, to_store=destination,
        lines=[TransferLineIn(sku=product.sku, quantity=1)], notes="",
    )


def _received_count() -> int:
    return Transfer.objects.filter(status=TransferStatus.RECEIVED).count()


def _import_file() -> SimpleUploadedFile:
    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    return SimpleUploadedFile("count.csv", STOCK_CSV, content_type="text/csv")


def _password_hash(user) -> Callable[[], str]:
    return lambda: get_user_model().objects.get(pk=user.pk).password


def _session_user(client: Client) -> Callable[[], str | None]:
    return lambda: client.session.get("_auth_user_id")


# Cases of the portal's own views, keyed by their route in the URL resolver --------------


def _root_redirect(client: Client) -> PostCase:
    north, _south = _stores()
    return PostCase(user=staff_user(north), page="/home/", url="/")


def _store_select(client: Client) -> PostCase:
    north, south = _stores()
    return PostCase(
        user=staff_user(north, south), page="/home/", url=reverse("home:store-select"),
        data={"store": south.pk, "next": "/home/"}, state=HomePreference.objects.count,
    )


def _action_transfer(client: Client) -> PostCase:
    north, south = _stores()
    stocked_product(north, on_hand=5, sku="CBL-1")
    return PostCase(
        user=staff_user(north), page="/home/", url=reverse("home:action-transfer"),
        data={"from_store": north.pk, "to_store": south.pk, "item": "CBL-1", "quantity": 1},
        token_in="header", headers={"HTTP_HX_REQUEST": "true"}, state=Transfer.objects.count,
    )


def _action_sale(client: Client) -> PostCase:
    north, _south = _stores()
    stocked_product(north, sku="CBL-1")
    return PostCase(
        user=staff_user(north), page="/home/", url=reverse("home:action-sale"),
        data={"store": north.pk, "item": "CBL-1", "quantity": 1, "payment_method": "cash"},
        token_in="header", headers={"HTTP_HX_REQUEST": "true"}, state=Sale.objects.count,
    )


def _action_settlement(client: Client) -> PostCase:
    north, _south = _stores()
    return PostCase(
        user=staff_user(north), page="/home/", url=reverse("home:action-settlement"),
        data={"business_date": timezone.localdate().isoformat(), "store": north.pk,
              "cash": "10.00"},
        token_in="header", headers={"HTTP_HX_REQUEST": "true"}, state=Settlement.objects.count,
    )


def _transfer_receive(client: Client) -> PostCase:
    north, south = _stores()
    transfer = _transfer_in_transit(north, south)
    return PostCase(
        user=staff_user(south),
        page=reverse("home:transfer-detail", kwargs={"pk": transfer.pk}),
        url=reverse("home:transfer-receive", kwargs={"pk": transfer.pk}),
        state=_received_count,
    )


def _imports_upload(client: Client) -> PostCase:
    return PostCase(
        user=operations_user(), page="/home/", url=reverse("home:imports-upload"),
        data={"kind": "stock", "file": _import_file()}, state=ImportJob.objects.count,
    )


def _import_columns(client: Client) -> PostCase:
    user = operations_user()
    job = ImportJobFactory(
        created_by=user, status=ImportStatus.FAILED, failure_code="column_missing",
        summary={"header": ["Shop", "Article No"]},
    )
    url = reverse("home:import-columns", kwargs={"task_id": job.task_id})
    return PostCase(
        user=user, page=url, url=url, data={"store": "Shop", "sku": "Article No"},
        state=ImportJob.objects.count,
    )


def _login(client: Client) -> PostCase:
    UserFactory(username="clerk")
    return PostCase(
        user=None, page=reverse("login"), url=reverse("login"),
        data={"username": "clerk", "password": PASSWORD}, state=_session_user(client),
    )


def _logout(client: Client) -> PostCase:
    north, _south = _stores()
    return PostCase(
        user=staff_user(north), page="/home/", url=reverse("logout"),
        state=_session_user(client),
    )


def _password_change(client: Client) -> PostCase:
    user = UserFactory(username="clerk")
    return PostCase(
        user=user, page=reverse("password_change"), url=reverse("password_change"),
        data={"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
              "new_password2": NEW_PASSWORD},
        state=_password_hash(user),
    )


def _password_reset(client: Client) -> PostCase:
    UserFactory(username="clerk", email="clerk@example.com")
    return PostCase(
        user=None, page=reverse("password_reset"), url=reverse("password_reset"),
        data={"email": "clerk@example.com"}, state=lambda: len(mail.outbox),
    )


def _password_reset_confirm(client: Client) -> PostCase:
    user = UserFactory(username="clerk", email="clerk@example.com")
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    # The link in the mail stores its token in the session and redirects to this URL,
    # which contains the form, so the token never reaches the Referer header of the form.
    form_url = reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": "set-password"})
    client.get(reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token}))
    return PostCase(
        user=None, page=form_url, url=form_url,
        data={"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        state=_password_hash(user),
    )


def _api_transfer_create(client: Client) -> PostCase:
    north, south = _stores()
    stocked_product(north, on_hand=5, sku="CBL-1")
    return PostCase(
        user=staff_user(north), page="/home/", url="/api/transfers", body="json",
        token_in="header",
        data={"from_store": north.pk, "to_store": south.pk,
              "lines": [{"sku": "CBL-1", "quantity": 1}]},
        state=Transfer.objects.count,
    )


def _api_transfer_receive(client: Client) -> PostCase:
    north, south = _stores()
    transfer = _transfer_in_transit(north, south)
    return PostCase(
        user=staff_user(south), page="/home/", url=f"/api/transfers/{transfer.pk}/receive",
        body="json", token_in="header", state=_received_count,
    )


def _api_sale_create(client: Client) -> PostCase:
    north, _south = _stores()
    stocked_product(north, sku="CBL-1")
    return PostCase(
        user=staff_user(north), page="/home/", url="/api/sales", body="json", token_in="header",
        data={"store": north.pk, "payment_method": "cash",
              "lines": [{"sku": "CBL-1", "quantity": 1}]},
        state=Sale.objects.count,
    )


def _api_settlement_record(client: Client) -> PostCase:
    north, _south = _stores()
    return PostCase(
        user=staff_user(north), page="/home/", url="/api/settlements", body="json",
        token_in="header",
        data={"store": north.pk, "business_date": timezone.localdate().isoformat(),
              "counted": {"cash": "10.00"}},
        state=Settlement.objects.count,
    )


def _api_import_create(client: Client) -> PostCase:
    return PostCase(
        user=operations_user(), page="/home/", url="/api/imports", token_in="header",
        data={"file": _import_file(), "kind": "stock", "options": "{}"},
        state=ImportJob.objects.count,
    )


def _job_status(job: ImportJob) -> Callable[[], str]:
    return lambda: ImportJob.objects.get(pk=job.pk).status


def _api_import_retry(client: Client) -> PostCase:
    user = operations_user()
    job = ImportJobFactory(created_by=user, status=ImportStatus.FAILED)
    return PostCase(
        user=user, page="/home/", url=f"/api/imports/{job.task_id}/retry", token_in="header",
        state=_job_status(job),
    )


def _api_import_cancel(client: Client) -> PostCase:
    user = operations_user()
    job = ImportJobFactory(created_by=user, status=ImportStatus.QUEUED)
    return PostCase(
        user=user, page="/home/", url=f"/api/imports/{job.task_id}/cancel", token_in="header",
        state=_job_status(job),
    )


def _api_import_rerun(client: Client) -> PostCase:
    user = operations_user()
    job = ImportJobFactory(created_by=user, status=ImportStatus.DONE)
    return PostCase(
        user=user, page="/home/", url=f"/api/imports/{job.task_id}/rerun", body="json",
        token_in="header", data={"dry_run": False}, state=ImportJob.objects.count,
    )


def _read_only(url: str) -> Callable[[Client], PostCase]:
    """Build the case of a view that accepts every method, POST included, and writes nothing."""

    def case(client: Client) -> PostCase:
        return PostCase(user=operations_user(), page="/home/", url=url, token_in="header")

    return case


PORTAL_ENDPOINTS: dict[str, Callable[[Client], PostCase]] = {
    "": _root_redirect,
    "home/store/": _store_select,
    "home/actions/transfer/": _action_transfer,
    "home/actions/sale/": _action_sale,
    "home/actions/settlement/": _action_settlement,
    "home/transfers/<int:pk>/receive/": _transfer_receive,
    "home/imports/upload/": _imports_upload,
    "home/imports/<uuid:task_id>/columns/": _import_columns,
    "accounts/login/": _login,
    "accounts/logout/": _logout,
    "accounts/password_change/": _password_change,
    "accounts/password_reset/": _password_reset,
    "accounts/reset/<uidb64>/<token>/": _password_reset_confirm,
    "api/transfers": _api_transfer_create,
    "api/transfers/<int:transfer_id>/receive": _api_transfer_receive,
    "api/sales": _api_sale_create,
    "api/settlements": _api_settlement_record,
    "api/imports": _api_import_create,
    "api/imports/<uuidstr:task_id>/retry": _api_import_retry,
    "api/imports/<uuidstr:task_id>/cancel": _api_import_cancel,
    "api/imports/<uuidstr:task_id>/rerun": _api_import_rerun,
    "api/imports/<uuid:task_id>/events": _read_only(f"/api/imports/{uuid.uuid4()}/events"),
    "api/imports/<uuid:task_id>/errors.csv": _read_only(f"/api/imports/{uuid.uuid4()}/errors.csv"),
    "api/openapi.json": _read_only("/api/openapi.json"),
    "api/docs": _read_only("/api/docs"),
    "api/": _read_only("/api/"),
}


# Cases of Django's admin: one change form and one action -------------------------------


def _admin_product_change(client: Client) -> PostCase:
    product = ProductFactory(sku="CBL-1", name="Cable")
    url = reverse("admin:inventory_product_change", args=[product.pk])
    return PostCase(
        user=back_office_user(), page=url, url=url,
        data={"sku": "CBL-1", "name": "Renamed cable", "category": "Accessories",
              "barcode": "", "low_stock_threshold": 2, "is_active": "on"},
        state=lambda: Product.objects.get(pk=product.pk).name,
    )


def _admin_transfer_receive_action(client: Client) -> PostCase:
    north, south = _stores()
    _transfer_in_transit(north, south)
    url = reverse("admin:inventory_transfer_changelist")
    return PostCase(
        user=back_office_user(), page=url, url=url,
        data={"action": "receive_selected", "index": 0,
              "_selected_action": list(Transfer.objects.values_list("pk", flat=True))},
        state=_received_count,
    )


ADMIN_ENDPOINTS: dict[str, Callable[[Client], PostCase]] = {
    "admin product change form": _admin_product_change,
    "admin transfer receive action": _admin_transfer_receive_action,
}

ENDPOINTS = {**PORTAL_ENDPOINTS, **ADMIN_ENDPOINTS}

# API operations that a script may call with a bearer token instead of a session.
BEARER_ENDPOINTS = [
    "api/transfers",
    "api/transfers/<int:transfer_id>/receive",
    "api/sales",
    "api/settlements",
    "api/imports",
    "api/imports/<uuidstr:task_id>/retry",
    "api/imports/<uuidstr:task_id>/cancel",
    "api/imports/<uuidstr:task_id>/rerun",
]


def _prepared(endpoint: str) -> tuple[Client, PostCase, str]:
    """Build the case, log its user in and load its page.

    Return the client, the case and the value of the csrftoken cookie that the page set.
    """
    client = Client(enforce_csrf_checks=True)
    case = ENDPOINTS[endpoint](client)
    if case.user is not None:
        client.force_login(case.user)
    page = client.get(case.page)
    assert page.status_code == 200, f"{case.page} returned {page.status_code}"
    return client, case, client.cookies["csrftoken"].value


def _snapshot(case: PostCase) -> object:
    return case.state() if case.state is not None else None


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_post_without_token_is_rejected(endpoint):
    client, case, _token = _prepared(endpoint)
    before = _snapshot(case)

    response = _post(client, case)

    assert response.status_code == 403
    assert "CSRF" in response.content.decode()
    assert _snapshot(case) == before


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_post_with_token_is_accepted(endpoint):
    client, case, token = _prepared(endpoint)
    before = _snapshot(case)

    response = _post(client, case, token=token)

    assert response.status_code != 403, response.content.decode()[:500]
    assert case.state is None or case.state() != before, "the POST wrote nothing"


@pytest.mark.parametrize("endpoint", BEARER_ENDPOINTS)
def test_bearer_post_needs_no_token(endpoint):
    client = Client(enforce_csrf_checks=True)
    case = ENDPOINTS[endpoint](client)
    _token, key = api_token_create(user=case.user, name="ERP export")
    before = case.state()

    response = _post(client, case, HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code in (200, 201, 202), response.content.decode()[:500]
    assert case.state() != before


def test_invalid_bearer_still_needs_token():
    client, case, _token = _prepared("api/transfers")
    before = case.state()

    response = _post(client, case, HTTP_AUTHORIZATION="Bearer not-a-token")

    assert response.status_code == 403
    assert case.state() == before


# Completeness: every view that takes POST has a case above ------------------------------


def _portal_patterns(patterns: list, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    """Yield each URL pattern outside NAMESPACES_NOT_WALKED with its full route."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace in NAMESPACES_NOT_WALKED:
                continue
            yield from _portal_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def _view_methods(view) -> frozenset[str] | None:
    """Return the HTTP methods a view accepts, or None when it accepts any.

    A class-based view accepts the methods it has a handler for. A function view is
    restricted by require_http_methods (require_POST, require_GET, require_safe), found
    in the closure of one of its decorators. A ninja URL serves the methods of the
    operations of its PathView.
    """
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        return frozenset(
            name.upper() for name in view_class.http_method_names if hasattr(view_class, name)
        )
    while view is not None:
        if isinstance(view, functools.partial):
            view = view.func
            continue
        free_variables = inspect.getclosurevars(view).nonlocals
        if "request_method_list" in free_variables:
            return frozenset(free_variables["request_method_list"])
        path_view = free_variables.get("self")
        if isinstance(path_view, PathView):
            return frozenset(
                method for operation in path_view.operations for method in operation.methods
            )
        view = getattr(view, "__wrapped__", None)
    return None


def _routes_accepting_post() -> set[str]:
    routes = set()
    for route, pattern in _portal_patterns(get_resolver().url_patterns):
        methods = _view_methods(pattern.callback)
        if methods is None or "POST" in methods:
            routes.add(route)
    return routes


def test_every_view_accepting_post_has_a_case():
    missing = _routes_accepting_post() - set(PORTAL_ENDPOINTS)

    assert missing == set(), (
        "These routes accept POST but have no CSRF case in PORTAL_ENDPOINTS: "
        f"{sorted(missing)}. Add one that posts with and without the token."
    )


def test_every_case_is_a_view_accepting_post():
    stale = set(PORTAL_ENDPOINTS) - _routes_accepting_post()

    assert stale == set(), (
        f"These cases name no route that accepts POST: {sorted(stale)}. "
        "Remove them, or fix the route to match the URL resolver."
    )


def test_method_check_reads_decorators():
    views = {route: pattern.callback
             for route, pattern in _portal_patterns(get_resolver().url_patterns)}

    assert _view_methods(views["home/actions/sale/"]) == {"POST"}
    assert _view_methods(views["home/actions/price/"]) == {"GET"}
    assert _view_methods(views["home/"]) == {"GET", "HEAD"}
    assert _view_methods(views["api/imports/<uuidstr:task_id>"]) == {"GET"}
    assert _view_methods(views["api/imports/<uuid:task_id>/events"]) is None
