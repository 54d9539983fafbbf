"""Error pages: the portal's layout for people, the API's JSON error shape for /api/."""

import logging
import sys

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from ops_portal.database_errors import database_unreachable

_API_PREFIX = "/api/"
# Seconds a client is asked to wait before it tries again while the database is away.
DATABASE_RETRY_AFTER_SECONDS = 30

logger = logging.getLogger(__name__)

_ERRORS = {
    400: ("bad_request", "The request could not be read. Check what you sent and try again."),
    403: ("permission_denied", "You do not have permission to do this."),
    404: ("not_found", "Nothing was found at this address. Check the link or start from Home."),
    500: ("server_error", "The portal failed to handle the request. It was logged; try again "
                          "in a moment, and tell your administrator if it keeps happening."),
    503: ("service_unavailable", "The database cannot be reached right now, so nothing was read "
                                 "or saved. Try again in a minute; tell your administrator if "
                                 "it keeps happening."),
}


def _api_error(status: int) -> JsonResponse:
    """Return the API's JSON error shape for a status."""
    code, message = _ERRORS[status]
    return JsonResponse({"code": code, "message": message, "field_errors": {}}, status=status)


def _error_response(request: HttpRequest, status: int) -> HttpResponse:
    if request.path.startswith(_API_PREFIX):
        return _api_error(status)
    message = _ERRORS[status][1]
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _error_response(request, 400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _error_response(request, 403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _error_response(request, 404)


def _database_away() -> bool:
    """Return True when the error being handled, or a new connection, finds the database away.

    A synchronous request calls the handler inside the except block of the failed request,
    so sys.exception() is the error. Under ASGI the handler runs in another thread, where
    it is None, so a new connection is tried instead.
    """
    error = sys.exception()
    if error is not None:
        return database_unreachable(error)
    probe = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        probe.ensure_connection()
    except DatabaseError:
        return True
    finally:
        probe.close()
    return False


def server_error(request: HttpRequest) -> HttpResponse:
    """Return the 500 page, or a 503 when the request failed because the database is away."""
    status = 503 if _database_away() else 500
    if request.path.startswith(_API_PREFIX):
        response = _api_error(status)
    else:
        # No template context processors: the error may come from the database they read.
        message = _ERRORS[status][1]
        title = "Service unavailable" if status == 503 else "Server error"
        response = HttpResponse(
            f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}"
            f"</title></head><body><h1>{title}</h1><p>{message}</p>"
            "<p><a href=\"/home/\">Back to Home</a></p></body></html>",
            status=status,
        )
    if status == 503:
        logger.warning("database.unavailable path=%s", request.path)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response
