"""Creating, checking and revoking API tokens."""

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from ops_portal.models import ApiToken, token_hash

logger = logging.getLogger(__name__)


def api_token_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """Create a token for the user; return it with its secret, which is shown only now."""
    key = ApiToken.key_generate()
    token = ApiToken.objects.create(
        user=user, name=name.strip()[:100] or "API token", key_hash=token_hash(key),
        key_prefix=key[:12],
    )
    logger.info("api_token.created id=%s user=%s", token.pk, user.pk)
    return token, key


def api_token_user(key: str) -> AbstractBaseUser | None:
    """Return the active user of a valid, unrevoked token, or None."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=token_hash(key.strip()), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user


def bearer_key(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


class BearerTokenAuth(HttpBearer):
    """Ninja authentication by `Authorization: Bearer <token>`."""

    def authenticate(self, request: HttpRequest, token: str) -> AbstractBaseUser | None:
        user = api_token_user(token)
        if user is not None:
            request.user = user
        return user
