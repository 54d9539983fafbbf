from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.http import require_GET
from django.views.generic import RedirectView

from home.views.page import stock_dashboard_redirect
from ops_portal.api import api_urls
from ops_portal.login_throttle import ThrottledAdminAuthenticationForm, ThrottledLoginView

admin.site.login_form = ThrottledAdminAuthenticationForm


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness probe for a load balancer; reveals nothing about the data."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="home:index", permanent=False)),
    path("home/", include("home.urls")),
    # The stock dashboard was retired; its content is the overview on Home.
    path("stock-dashboard", stock_dashboard_redirect),
    path("stock-dashboard/", stock_dashboard_redirect),
    path("stock_dashboard/", stock_dashboard_redirect),
    # The throttled login comes before Django's auth URLs, which keep logout and the rest.
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    # Streaming import endpoints come before the ninja API, which serves the rest of /api/.
    path("api/imports/", include("imports.urls")),
    path("api/", api_urls()),
    path("healthz", healthz, name="healthz"),
]

handler400 = "ops_portal.error_views.bad_request"
handler403 = "ops_portal.error_views.permission_denied"
handler404 = "ops_portal.error_views.page_not_found"
handler500 = "ops_portal.error_views.server_error"

if settings.DEBUG_TOOLBAR:
    from debug_toolbar.toolbar import debug_toolbar_urls

    urlpatterns += debug_toolbar_urls()
