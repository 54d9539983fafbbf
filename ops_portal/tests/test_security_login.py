import logging
import time
import uuid

import pytest
from django.conf import settings as django_settings
from django.test import RequestFactory

from inventory.tests.factories import UserFactory, back_office_user
from ops_portal.login_throttle import client_ip, login_throttle_wait

pytestmark = pytest.mark.django_db

PASSWORD = "test-password"
LOGIN_URL = "/accounts/login/"


@pytest.fixture(autouse=True)
def throttle_cache(settings, tmp_path):
    """The configured cache backend (Redis or the file cache) under a key prefix of this test.

    The embedded default's file cache moves to a folder of the test, so the counters of
    one test never reach another and no other run's cache is touched.
    """
    cache_settings = dict(django_settings.CACHES["default"])
    if cache_settings["BACKEND"].endswith("FileBasedCache"):
        cache_settings["LOCATION"] = str(tmp_path / "cache")
    cache_settings["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {"default": cache_settings}
    settings.LOGIN_THROTTLE_USERNAME_FAILURES = 5
    settings.LOGIN_THROTTLE_IP_FAILURES = 20
    settings.LOGIN_THROTTLE_WINDOW_SECONDS = 900
    # Every attempt hashes a password, so the fast hasher keeps the many attempts quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _login(client, username: str, password: str, *, ip: str = "10.0.0.1", url: str = LOGIN_URL):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _alert(response) -> str:
    text = response.content.decode()
    start = text.index('role="alert">')
    return text[start:text.index("</p>", start)]


def _fail(client, username: str, times: int, *, ip: str = "10.0.0.1") -> None:
    for _ in range(times):
        response = _login(client, username, "wrong-password", ip=ip)
        assert response.status_code == 200


def test_username_locked_after_five_failures(client):
    user = UserFactory(username="clerk")
    _fail(client, "clerk", 5)

    response = _login(client, "clerk", PASSWORD)

    assert response.status_code == 429
    assert 880 <= int(response["Retry-After"]) <= 900
    text = response.content.decode()
    assert "Too many failed login attempts. Try again in 15 minutes" in text
    assert "Traceback" not in text
    assert "_auth_user_id" not in client.session
    assert user.last_login is None


def test_four_failures_still_allow_login(client):
    UserFactory(username="clerk")
    _fail(client, "clerk", 4)

    response = _login(client, "clerk", PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"]


def test_unknown_username_gets_same_message(client):
    UserFactory(username="clerk")
    _fail(client, "clerk", 5)
    _fail(client, "nobody", 5, ip="10.0.0.2")

    known = _login(client, "clerk", "wrong-password")
    unknown = _login(client, "nobody", "wrong-password", ip="10.0.0.2")

    assert known.status_code == unknown.status_code == 429
    assert _alert(known) == _alert(unknown)
    assert "Try again in 15 minutes" in _alert(known)


def test_lock_applies_to_username_from_other_address(client):
    UserFactory(username="clerk")
    _fail(client, "clerk", 5, ip="10.0.0.1")

    response = _login(client, "clerk", PASSWORD, ip="10.9.9.9")

    assert response.status_code == 429


def test_username_lock_ignores_case_and_spaces(client):
    UserFactory(username="clerk")
    _fail(client, "Clerk ", 5)

    response = _login(client, "clerk", PASSWORD)

    assert response.status_code == 429


def test_success_resets_username_count(client):
    UserFactory(username="clerk")
    _fail(client, "clerk", 4)
    assert _login(client, "clerk", PASSWORD).status_code == 302
    client.logout()
    _fail(client, "clerk", 4)

    response = _login(client, "clerk", PASSWORD)

    assert response.status_code == 302


def test_address_locked_after_twenty_failures(client):
    UserFactory(username="clerk")
    for number in range(20):
        _fail(client, f"guess{number}", 1, ip="10.0.0.7")

    from_guessing_address = _login(client, "clerk", PASSWORD, ip="10.0.0.7")
    from_other_address = _login(client, "clerk", PASSWORD, ip="10.0.0.8")

    assert from_guessing_address.status_code == 429
    assert from_other_address.status_code == 302


def test_lock_ends_with_window(client, settings):
    settings.LOGIN_THROTTLE_WINDOW_SECONDS = 2
    UserFactory(username="clerk")
    _fail(client, "clerk", 5)
    assert _login(client, "clerk", PASSWORD).status_code == 429

    time.sleep(2.2)
    response = _login(client, "clerk", PASSWORD)

    assert response.status_code == 302


def test_throttled_login_is_logged(client, caplog):
    UserFactory(username="clerk")
    _fail(client, "clerk", 5)

    with caplog.at_level(logging.WARNING, logger="ops_portal.login_throttle"):
        _login(client, "clerk", PASSWORD)

    records = [record for record in caplog.records if "auth.login_throttled" in record.getMessage()]
    assert len(records) == 1
    assert records[0].levelno == logging.WARNING
    assert "10.0.0.1" in records[0].getMessage()
    assert PASSWORD not in records[0].getMessage()


def test_admin_login_is_throttled(client):
    back_office_user(username="office")
    _fail(client, "office", 5)
    url = "/admin/login/?next=/admin/"

    response = _login(client, "office", PASSWORD, url=url)

    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_admin_failures_count_for_portal_login(client):
    back_office_user(username="office")
    for _ in range(5):
        _login(client, "office", "wrong-password", url="/admin/login/")

    response = _login(client, "office", PASSWORD)

    assert response.status_code == 429


def test_non_staff_at_admin_is_not_counted(client):
    UserFactory(username="clerk")
    for _ in range(5):
        _login(client, "clerk", PASSWORD, url="/admin/login/")

    response = _login(client, "clerk", PASSWORD)

    assert response.status_code == 302


def test_login_works_while_cache_is_unreachable(client, settings, caplog):
    # Nothing listens on port 1, so every cache call fails to connect.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    UserFactory(username="clerk")

    with caplog.at_level(logging.WARNING, logger="ops_portal.login_throttle"):
        failed = _login(client, "clerk", "wrong-password")
        succeeded = _login(client, "clerk", PASSWORD)

    assert failed.status_code == 200
    assert succeeded.status_code == 302
    assert "auth.login_throttle_unavailable" in caplog.text


def test_wait_is_zero_without_failures():
    assert login_throttle_wait(username="clerk", ip="10.0.0.1") == 0


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.1"),
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "198.51.100.1, 203.0.113.9", "203.0.113.9"),
        (2, "198.51.100.1, 203.0.113.9", "198.51.100.1"),
        (2, "203.0.113.9", "10.0.0.1"),
        (1, "", "10.0.0.1"),
    ],
)
def test_client_ip_trusts_only_configured_proxies(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected
