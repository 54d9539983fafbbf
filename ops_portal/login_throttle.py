"""Login throttling against password guessing, per username and per client IP address.

Each failed login counts against the username and against the client's IP address in a
fixed window that starts at the first failure. Once either count reaches its limit,
every login for that username or from that address is rejected without checking the
password until the window ends. A successful login clears the username's count.
Counters live in Django's default cache (Redis in production), so all web processes
share them. While the cache is unreachable, logins are checked without throttling, so
that an outage of Redis does not lock every user out.

The rejection message is the same whether or not the username exists, and it does not
say which of the two limits was reached, so it reveals no account.

API bearer tokens carry 256 random bits, so guessing them is not a practical attack
and the token check is not throttled.
"""

import hashlib
import logging
import math
import time
import unicodedata
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

THROTTLED_CODE = "login_throttled"
# Errors of the cache backends when their store is unreachable: Redis, or the file cache's folder.
CACHE_ERRORS = (RedisError, OSError)


@dataclass(frozen=True)
class _Counter:
    key: str
    limit: int


def client_ip(request: HttpRequest) -> str:
    """Return the client's IP address, taken from X-Forwarded-For behind trusted proxies.

    With TRUSTED_PROXY_COUNT proxies in front of the portal, each appends the address it
    received the request from, so the client is that many entries from the right. Entries
    further left come from the client itself and are not trusted.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _username_key(username: str) -> str:
    folded = unicodedata.normalize("NFKC", username or "").strip().casefold()
    return f"login_failures:username:{_digest(folded)}"


def _counters(*, username: str, ip: str) -> list[_Counter]:
    return [
        _Counter(_username_key(username), settings.LOGIN_THROTTLE_USERNAME_FAILURES),
        _Counter(f"login_failures:ip:{_digest(ip)}", settings.LOGIN_THROTTLE_IP_FAILURES),
    ]


def login_throttle_wait(*, username: str, ip: str) -> int:
    """Return the seconds until a login for this username from this address is allowed, or 0."""
    counters = _counters(username=username, ip=ip)
    keys = [counter.key for counter in counters] + [f"{counter.key}:ends" for counter in counters]
    stored = cache.get_many(keys)
    now = time.time()
    wait = 0.0
    for counter in counters:
        failures = stored.get(counter.key, 0)
        ends_at = stored.get(f"{counter.key}:ends", now)
        if failures >= counter.limit:
            wait = max(wait, ends_at - now)
    return math.ceil(wait) if wait > 0 else 0


def login_failure_record(*, username: str, ip: str) -> None:
    """Count a failed login against the username and the address."""
    window = settings.LOGIN_THROTTLE_WINDOW_SECONDS
    now = time.time()
    for counter in _counters(username=username, ip=ip):
        # add() writes only when the key is missing, so the first failure fixes the window.
        cache.add(f"{counter.key}:ends", now + window, timeout=window)
        cache.add(counter.key, 0, timeout=window)
        try:
            cache.incr(counter.key)
        except ValueError:
            # The window ended between add() and incr().
            cache.set(counter.key, 1, timeout=window)
        ends_at = cache.get(f"{counter.key}:ends", now + window)
        # Some backends (the file cache) reset the expiry on incr(), so set the window's end again.
        cache.touch(counter.key, timeout=max(1, math.ceil(ends_at - now)))


def login_success_record(*, username: str) -> None:
    """Clear the username's failure count. The address keeps its count."""
    key = _username_key(username)
    cache.delete_many([key, f"{key}:ends"])


def throttled_message(wait_seconds: int) -> str:
    minutes = max(1, math.ceil(wait_seconds / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return (
        f"Too many failed login attempts. Try again in {minutes} {unit}, "
        "or ask back office to reset your password if you have forgotten it."
    )


class LoginThrottleMixin:
    """Reject a login while its username or address is throttled, and count failed logins.

    Mix in before an AuthenticationForm class. The form needs the request.
    """

    throttle_wait_seconds = 0

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip = client_ip(self.request)
        try:
            wait = login_throttle_wait(username=username, ip=ip)
        except CACHE_ERRORS as error:
            logger.warning("auth.login_throttle_unavailable ip=%s error=%r", ip, error)
            return super().clean()
        if wait:
            self.throttle_wait_seconds = wait
            logger.warning(
                "auth.login_throttled username=%r ip=%s retry_after=%s", username[:150], ip, wait
            )
            raise forms.ValidationError(throttled_message(wait), code=THROTTLED_CODE)

        try:
            cleaned = super().clean()
        except forms.ValidationError:
            # A correct password of a user who may not log in here (a non-staff user at the
            # admin) is not a guess, so it is not counted.
            if self.user_cache is None:
                self._cache_write(login_failure_record, username=username, ip=ip)
            raise

        if self.user_cache is not None:
            self._cache_write(login_success_record, username=username)
        return cleaned

    def _cache_write(self, record, **arguments) -> None:
        try:
            record(**arguments)
        except CACHE_ERRORS as error:
            logger.warning(
                "auth.login_throttle_unavailable ip=%s error=%r", client_ip(self.request), error
            )

    @property
    def throttle_message(self) -> str:
        return throttled_message(self.throttle_wait_seconds) if self.throttle_wait_seconds else ""


class ThrottledAuthenticationForm(LoginThrottleMixin, AuthenticationForm):
    """The portal's login form."""


class ThrottledAdminAuthenticationForm(LoginThrottleMixin, AdminAuthenticationForm):
    """The admin's login form."""


class ThrottledLoginView(LoginView):
    """The portal's login page, which answers a throttled attempt with 429 and Retry-After."""

    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form) -> HttpResponse:
        response = super().form_invalid(form)
        if form.throttle_wait_seconds:
            response.status_code = 429
            response["Retry-After"] = str(form.throttle_wait_seconds)
        return response
