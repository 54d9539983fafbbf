"""Error pages: the portal's layout for people, the API's JSON error shape for /api/."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

_API_PREFIX = "/api/"

_ERRORS = {
    400: ("bad_request", "The request could not be read. Check what you sent and try again."),
    403: ("permission_denied", "You do not have permission to do this."),
    404: ("not_found", "Nothing was found at this address. Check the link or start from Home."),
    500: ("server_error", "The portal failed to handle the request. It was logged; try again "
                          "in a moment, and tell your administrator if it keeps happening."),
}


def _error_response(request: HttpRequest, status: int) -> HttpResponse:
    code, message = _ERRORS[status]
    if request.path.startswith(_API_PREFIX):
        return JsonResponse({"code": code, "message": message, "field_errors": {}}, status=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _error_response(request, 400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _error_response(request, 403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _error_response(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    code, message = _ERRORS[500]
    if request.path.startswith(_API_PREFIX):
        return JsonResponse({"code": code, "message": message, "field_errors": {}}, status=500)
    # No template context processors: the error may come from the database they read.
    return HttpResponse(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Server error"
        f"</title></head><body><h1>Server error</h1><p>{message}</p>"
        "<p><a href=\"/home/\">Back to Home</a></p></body></html>",
        status=500,
    )
