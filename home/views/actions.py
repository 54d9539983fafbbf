"""Home's Quick Actions: the dialogs and inline lookups, and the pages their toasts link to.

The dialogs post with htmx. An invalid form comes back with status 422 and its field
messages in place, which static/js/home/actions.js swaps in. A success comes back as a
fresh form with an ``actions:done`` client event that names the toast and the dialog to
close, and a ``home:changed`` event on which the overview and analytics sections reload.
"""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from home.forms import LookupForm, SaleForm, SettlementForm, TransferForm, form_errors_add
from home.selectors.stores import store_selected_for_request
from inventory.access import stores_for_user
from inventory.errors import InventoryError
from inventory.models import PaymentMethod, TransferStatus
from inventory.selectors import (
    price_find,
    sale_get_for_user,
    stock_find,
    store_list_active,
    transfer_get_for_user,
)
from inventory.services import sale_record, transfer_create, transfer_receive
from ops_portal.errors import DomainError, NotFoundError
from settlements.errors import SettlementErrorCode
from settlements.selectors import settlement_get_for_store_date
from settlements.services import settlement_record

# Status of a form sent back with field errors: htmx swaps it in through actions.js.
INVALID_STATUS = 422
DONE_EVENT = "actions:done"
# Sent with every saved sale, transfer and settlement: the overview KPIs and the charts
# listen for it and fetch themselves again.
CHANGED_EVENT = "home:changed"
SESSION_PAYMENT_METHOD_KEY = "home.sale.payment_method"

TRANSFER_FIELDS_BY_KEY = {"lines": "item", "": "from_store"}
SALE_FIELDS_BY_KEY = {"lines": "item", "": "store"}
# A settlement without any amount is marked on the first amount field, which gets focus.
SETTLEMENT_FIELDS_BY_KEY = {"": "store", "counted": PaymentMethod.CASH.value}


def action_forms(request: HttpRequest) -> dict:
    """Build the empty forms of the Quick Actions dialogs for the Home page."""
    stores, selected = store_selected_for_request(request)
    initial = {"store": selected.pk if selected else None}
    return {
        "transfer_form": _transfer_form(request, initial={"from_store": initial["store"]}),
        "sale_form": SaleForm(stores=stores, initial=_sale_initial(request, selected)),
        "settlement_form": _settlement_form(
            stores, store=selected, business_date=timezone.localdate()
        ),
        "price_form": LookupForm(auto_id="price-%s"),
        "stock_form": _stock_lookup_form(),
    }


def _stock_lookup_form() -> LookupForm:
    form = LookupForm(auto_id="stock-%s")
    # The "/" shortcut of portal.js focuses this field; it is the only one on Home.
    form.fields["q"].widget.attrs["data-search-shortcut"] = ""
    return form


def _transfer_form(request: HttpRequest, **kwargs) -> TransferForm:
    stores, _selected = store_selected_for_request(request)
    return TransferForm(from_stores=stores, to_stores=list(store_list_active()), **kwargs)


def _sale_initial(request: HttpRequest, selected) -> dict:
    return {
        "store": selected.pk if selected else None,
        "payment_method": request.session.get(SESSION_PAYMENT_METHOD_KEY),
    }


def _form_response(
    request: HttpRequest, template: str, context: dict, *, status: int = 200
) -> HttpResponse:
    return render(request, f"home/partials/actions/{template}", context, status=status)


def _result_response(template: str, context: dict, *, status: int = 200) -> HttpResponse:
    # Lookup results hold no form, so they skip the request's context processors and
    # the queries those make for the page shell.
    html = render_to_string(f"home/partials/actions/{template}", context)
    return HttpResponse(html, status=status)


def _done(response: HttpResponse, *, message: str, href: str = "", link_text: str = "",
          dialog: str = "") -> HttpResponse:
    params = {"message": message, "dialog": dialog}
    if href:
        params["link"] = {"href": href, "text": link_text}
    trigger_client_event(response, CHANGED_EVENT)
    return trigger_client_event(response, DONE_EVENT, params)


@require_POST
def transfer_create_view(request: HttpRequest) -> HttpResponse:
    form = _transfer_form(request, data=request.POST)
    if not form.is_valid():
        return _form_response(request, "transfer_form.html", {"form": form}, status=INVALID_STATUS)
    try:
        transfer = transfer_create(
            actor=request.user,
            from_store=form.cleaned_data["from_store"],
            to_store=form.cleaned_data["to_store"],
            lines=[form.cleaned_data["line"]],
            notes=form.cleaned_data["notes"],
        )
    except InventoryError as error:
        form_errors_add(form, error, fields_by_key=TRANSFER_FIELDS_BY_KEY)
        return _form_response(request, "transfer_form.html", {"form": form}, status=INVALID_STATUS)

    fresh = _transfer_form(request, initial={"from_store": transfer.from_store_id})
    response = _form_response(request, "transfer_form.html", {"form": fresh})
    return _done(
        response,
        message=(
            f"Transfer {transfer.pk} is on its way from {transfer.from_store.code} "
            f"to {transfer.to_store.code}."
        ),
        href=reverse("home:transfer-detail", kwargs={"pk": transfer.pk}),
        link_text=f"View transfer {transfer.pk}",
        dialog="transfer-dialog",
    )


@require_POST
def sale_record_view(request: HttpRequest) -> HttpResponse:
    stores, selected = store_selected_for_request(request)
    form = SaleForm(request.POST, stores=stores)
    if not form.is_valid():
        return _form_response(request, "sale_form.html", {"form": form}, status=INVALID_STATUS)
    try:
        sale = sale_record(
            actor=request.user,
            store=form.cleaned_data["store"],
            lines=[form.cleaned_data["line"]],
            payment_method=form.cleaned_data["payment_method"],
        )
    except InventoryError as error:
        form_errors_add(form, error, fields_by_key=SALE_FIELDS_BY_KEY)
        return _form_response(request, "sale_form.html", {"form": form}, status=INVALID_STATUS)

    request.session[SESSION_PAYMENT_METHOD_KEY] = sale.payment_method
    fresh = SaleForm(stores=stores, initial={
        "store": sale.store_id, "payment_method": sale.payment_method,
    })
    response = _form_response(request, "sale_form.html", {"form": fresh})
    return _done(
        response,
        message=f"Sale {sale.pk} recorded at {sale.store.code}: {sale.total} "
                f"{settings.PORTAL_CURRENCY} by {sale.get_payment_method_display().lower()}.",
        href=reverse("home:sale-detail", kwargs={"pk": sale.pk}),
        link_text=f"View sale {sale.pk}",
        dialog="sale-dialog",
    )


def _settlement_form(
    stores: list, *, store, business_date, typed: dict[str, str] | None = None
) -> SettlementForm:
    """Build an unbound settlement form for a store and day.

    A saved settlement of that store and day fills in its counts, notes and version.
    Otherwise the form keeps the ``typed`` amounts and notes.
    """
    saved = None
    if store is not None and business_date is not None:
        saved = settlement_get_for_store_date(store=store, business_date=business_date)
    if saved is not None:
        initial = SettlementForm.initial_for(saved)
    else:
        initial = {**(typed or {}), "store": store.pk if store else None,
                   "business_date": business_date, "version": 0}
    return SettlementForm(
        stores=stores, saved=saved, initial=initial,
        refresh_url=reverse("home:action-settlement-form"),
    )


@require_GET
def settlement_form_view(request: HttpRequest) -> HttpResponse:
    """Render the settlement form for the ?store= and ?business_date= chosen in it."""
    stores, _selected = store_selected_for_request(request)
    chosen = SettlementForm(request.GET, stores=stores)
    chosen.is_valid()
    typed_names = [method.value for method in PaymentMethod] + ["notes"]
    form = _settlement_form(
        stores,
        store=chosen.cleaned_data.get("store"),
        business_date=chosen.cleaned_data.get("business_date"),
        typed={name: request.GET.get(name, "") for name in typed_names},
    )
    return _form_response(request, "settlement_form.html", {"form": form})


@require_POST
def settlement_record_view(request: HttpRequest) -> HttpResponse:
    stores, _selected = store_selected_for_request(request)
    form = SettlementForm(
        request.POST, stores=stores, refresh_url=reverse("home:action-settlement-form")
    )
    if not form.is_valid():
        return _form_response(
            request, "settlement_form.html", {"form": form}, status=INVALID_STATUS
        )
    store = form.cleaned_data["store"]
    business_date = form.cleaned_data["business_date"]
    try:
        settlement = settlement_record(
            actor=request.user,
            store=store,
            business_date=business_date,
            counted=form.counted(),
            notes=form.cleaned_data["notes"],
            # The dialog always sends the version it showed; a post without one (a
            # script) saves over whatever is there, as the API does.
            expected_version=form.cleaned_data["version"],
        )
    except DomainError as error:
        if error.code == SettlementErrorCode.STALE_VERSION:
            # Someone else saved in between: show their counts, which the user saves over.
            fresh = _settlement_form(stores, store=store, business_date=business_date)
            context = {"form": fresh, "stale_message": error.message}
            return _form_response(
                request, "settlement_form.html", context, status=INVALID_STATUS
            )
        form_errors_add(form, error, fields_by_key=SETTLEMENT_FIELDS_BY_KEY)
        return _form_response(
            request, "settlement_form.html", {"form": form}, status=INVALID_STATUS
        )

    fresh = _settlement_form(stores, store=store, business_date=business_date)
    lines = list(settlement.lines.order_by("payment_method"))
    context = {"form": fresh, "settlement": settlement, "lines": lines}
    response = _form_response(request, "settlement_form.html", context)
    return _done(
        response,
        message=(
            f"Settlement of {settlement.store.code} for {settlement.business_date:%-d %b %Y} "
            f"saved: {settlement.get_status_display()}, difference {settlement.difference:.2f} "
            f"{settings.PORTAL_CURRENCY}."
        ),
        **_settlement_link(request, settlement),
    )


def _settlement_link(request: HttpRequest, settlement) -> dict[str, str]:
    """Return the toast's link to the settlement's admin page, for users who may open it."""
    if not (request.user.is_staff and request.user.has_perm("settlements.view_settlement")):
        return {}
    return {
        "href": reverse("admin:settlements_settlement_change", args=[settlement.pk]),
        "link_text": f"View settlement {settlement.pk}",
    }


@require_GET
def price_find_view(request: HttpRequest) -> HttpResponse:
    form = LookupForm(request.GET)
    _stores, store = store_selected_for_request(request)
    context: dict = {"form": form, "store": store}
    if not form.is_valid() or store is None:
        context["error"] = form.errors.get("q", ["Choose a store first."])[0]
        return _result_response("price_result.html", context, status=INVALID_STATUS)
    today = timezone.localdate()
    try:
        context["price"] = price_find(query=form.cleaned_data["q"], store=store, on=today)
    except InventoryError as error:
        context["error"] = error.message
        return _result_response("price_result.html", context, status=404)
    context["today"] = today
    return _result_response("price_result.html", context)


@require_GET
def stock_find_view(request: HttpRequest) -> HttpResponse:
    form = LookupForm(request.GET)
    context: dict = {"form": form}
    if not form.is_valid():
        context["error"] = form.errors["q"][0]
        return _result_response("stock_result.html", context, status=INVALID_STATUS)
    try:
        context["result"] = stock_find(query=form.cleaned_data["q"], user=request.user)
    except InventoryError as error:
        context["error"] = error.message
        return _result_response("stock_result.html", context, status=404)
    return _result_response("stock_result.html", context)


@require_GET
def transfer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    transfer = _get_or_404(transfer_get_for_user, user=request.user, transfer_id=pk)
    may_receive = (
        transfer.status == TransferStatus.IN_TRANSIT
        and stores_for_user(request.user).filter(pk=transfer.to_store_id).exists()
    )
    context = {"transfer": transfer, "lines": transfer.lines.all(), "may_receive": may_receive}
    return render(request, "home/transfer_detail.html", context)


@require_POST
def transfer_receive_view(request: HttpRequest, pk: int) -> HttpResponse:
    transfer = _get_or_404(transfer_get_for_user, user=request.user, transfer_id=pk)
    try:
        transfer = transfer_receive(actor=request.user, transfer=transfer)
    except InventoryError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"Transfer {transfer.pk} received at {transfer.to_store.code}."
        )
    return redirect("home:transfer-detail", pk=pk)


@require_GET
def sale_detail(request: HttpRequest, pk: int) -> HttpResponse:
    sale = _get_or_404(sale_get_for_user, user=request.user, sale_id=pk)
    lines = sale.lines.all()
    context = {
        "sale": sale,
        "lines": lines,
        "discount_total": sum((line.discount for line in lines), 0),
    }
    return render(request, "home/sale_detail.html", context)


def _get_or_404(selector, **kwargs):
    try:
        return selector(**kwargs)
    except NotFoundError as error:
        raise Http404(error.message) from None


urlpatterns = [
    path("actions/transfer/", transfer_create_view, name="action-transfer"),
    path("actions/sale/", sale_record_view, name="action-sale"),
    path("actions/settlement/", settlement_record_view, name="action-settlement"),
    path("actions/settlement/form/", settlement_form_view, name="action-settlement-form"),
    path("actions/price/", price_find_view, name="action-price"),
    path("actions/stock/", stock_find_view, name="action-stock"),
    path("transfers/<int:pk>/", transfer_detail, name="transfer-detail"),
    path("transfers/<int:pk>/receive/", transfer_receive_view, name="transfer-receive"),
    path("sales/<int:pk>/", sale_detail, name="sale-detail"),
]
