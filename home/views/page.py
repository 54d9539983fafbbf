"""Home, the single landing page of the portal, and the redirect of the old dashboard URLs."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from home.selectors.overview import OverviewError, business_date_parse
from home.selectors.stores import store_selected_for_request
from home.views.overview import overview_context


@require_safe
def home_index(request: HttpRequest) -> HttpResponse:
    _stores, store = store_selected_for_request(request)
    if store is None:
        return render(request, "home/index.html", {"store": None})

    date_error = ""
    try:
        business_date = business_date_parse(request.GET.get("date"))
    except OverviewError as error:
        date_error = error.message
        business_date = business_date_parse(None)

    context = overview_context(request, store=store, business_date=business_date)
    context.update(store=store, date_error=date_error, date_raw=request.GET.get("date", ""))
    return render(request, "home/index.html", context)


@login_not_required
@require_safe
def stock_dashboard_redirect(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Send the retired stock dashboard's URLs to the overview on Home, for everyone."""
    return HttpResponsePermanentRedirect(reverse("home:index") + "#stock-overview")
