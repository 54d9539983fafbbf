"""The portal's JSON API: one NinjaAPI that every app adds its router to.

Every operation requires a logged-in session (CSRF-checked for writes) and reports
failures in one shape: {"code": ..., "message": ..., "field_errors": {...}}.
"""

import logging

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.security import SessionAuth

from ops_portal.errors import DomainError
from ops_portal.tokens import BearerTokenAuth

logger = logging.getLogger(__name__)

class PortalSessionAuth(SessionAuth):
    """Django's session, CSRF-checked only when it belongs to a logged-in user.

    Ninja's SessionAuth checks CSRF first and raises 403 on failure, so a request with no
    session at all would get "CSRF check Failed" instead of 401.
    """

    def __call__(self, request: HttpRequest):
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)


api = NinjaAPI(
    title="Ops Portal API",
    version="1.0",
    urls_namespace="api",
    # Bearer first: the session check raises on a missing CSRF token instead of passing on.
    auth=[BearerTokenAuth(), PortalSessionAuth()],
    docs_url="/docs",
    docs_decorator=login_required,
)


@api.exception_handler(DomainError)
def domain_error_handler(request: HttpRequest, error: DomainError) -> HttpResponse:
    return api.create_response(request, error.as_dict(), status=error.status_code)


@api.exception_handler(ValidationError)
def validation_error_handler(request: HttpRequest, error: ValidationError) -> HttpResponse:
    field_errors = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
    body = {"code": "invalid", "message": " ".join(error.messages), "field_errors": field_errors}
    return api.create_response(request, body, status=400)


@api.exception_handler(AuthenticationError)
def authentication_error_handler(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    body = {
        "code": "not_authenticated",
        "message": (
            "Log in to use the API: the request has no valid session or bearer token. "
            "Scripts send 'Authorization: Bearer <token>' from manage.py create_api_token."
        ),
        "field_errors": {},
    }
    return api.create_response(request, body, status=401)


def _routers_register() -> None:
    from home.api import router as home_router
    from imports.api import router as imports_router
    from inventory.api import router as inventory_router
    from settlements.api import router as settlements_router

    api.add_router("/", inventory_router)
    api.add_router("/", settlements_router)
    api.add_router("/", imports_router)
    api.add_router("/", home_router)


_routers_register()


def api_urls() -> tuple[list, str, str]:
    """Return the API's URL patterns, exempt from LoginRequiredMiddleware.

    The API checks the session itself and returns 401 in JSON, which a script can act on,
    instead of the middleware's redirect to the login page.
    """
    patterns, app_name, namespace = api.urls
    _login_not_required(patterns)
    return patterns, app_name, namespace


def _login_not_required(patterns: list[URLPattern | URLResolver]) -> None:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _login_not_required(pattern.url_patterns)
        else:
            pattern.callback.login_required = False
