import os
import subprocess
import sys
from pathlib import Path

from ops_portal.imei import imei_is_valid, imei_with_check_digit

PROJECT_DIR = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR, env=environment, capture_output=True, text=True, timeout=120,
    )


def test_production_settings_pass_deploy_check():
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="a-production-secret-that-is-long-and-random-0123456789abcdefghij",
        DJANGO_ALLOWED_HOSTS="portal.example.com",
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_settings_require_secret_key():
    result = _manage("check", DJANGO_DEBUG="0")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert "Traceback" in result.stderr or "ImproperlyConfigured" in result.stderr


def test_imei_check_digit():
    assert imei_with_check_digit("49015420323751") == "490154203237518"
    assert imei_is_valid("490154203237518")
    assert not imei_is_valid("490154203237519")
    assert not imei_is_valid("4901542032375")
