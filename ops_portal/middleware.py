"""Response headers that Django's own middleware does not set."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin


def permissions_policy_header(policy: dict[str, list[str]]) -> str:
    """Return a Permissions-Policy header value, such as 'camera=(), geolocation=(self)'."""
    return ", ".join(f"{feature}=({' '.join(origins)})" for feature, origins in policy.items())


class PermissionsPolicyMiddleware(MiddlewareMixin):
    """Set Permissions-Policy from settings.PERMISSIONS_POLICY on every response.

    A feature with an empty list of origins is off for the page and every frame in it.
    A view that sets the header itself keeps its own value. MiddlewareMixin makes the
    class work on both the sync and the async path, so the streaming views stay async.
    """

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        header = permissions_policy_header(settings.PERMISSIONS_POLICY)
        if header:
            response.headers.setdefault("Permissions-Policy", header)
        return response
