"""The portal served as in production, with the small demo data, for the UI reports.

`portal_running()` prepares a database of its own (migrate, collectstatic, seed_demo),
starts `manage.py run_portal` (daphne and a Celery worker) on a free port of 127.0.0.1,
and stops both when the block ends. UI_DATABASE_URL and UI_REDIS_URL choose the database
and the broker; empty values mean the embedded SQLite default under UI_VAR_DIR.
"""

import http.cookiejar
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying hosts outside this machine.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# The store-staff demo account of seed_demo (ops_portal/demo.py).
DEMO_USERNAME = "staff"
DEMO_PASSWORD = "demo-staff-pass"
READY_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 30
COMMAND_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Portal:
    url: str
    env: dict[str, str]
    log_path: Path


def portal_env() -> dict[str, str]:
    """Return the environment of a production-like portal reached over plain HTTP."""
    var_dir = Path(os.environ.get("UI_VAR_DIR", "/tmp/ui-var"))
    var_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_DEBUG_TOOLBAR": "0",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_hex(40),
        "OPS_VAR_DIR": str(var_dir),
        "DATABASE_URL": os.environ.get("UI_DATABASE_URL", ""),
        "REDIS_URL": os.environ.get("UI_REDIS_URL", ""),
    }
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not env[name]:
            del env[name]
    return env


def port_free() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manage(env: dict[str, str], *arguments: str) -> None:
    """Run one manage.py command in the foreground and raise CalledProcessError when it fails."""
    print("manage.py", " ".join(arguments), flush=True)
    subprocess.run(
        [str(PYTHON), "manage.py", *arguments], cwd=ROOT, env=env, check=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
    )


@contextmanager
def portal_running() -> Iterator[Portal]:
    """Prepare the database, start run_portal, and stop it when the block ends."""
    env = portal_env()
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    manage(env, "seed_demo", "--if-empty", "--force")

    port = port_free()
    log_path = Path(env["OPS_VAR_DIR"]) / "run_portal.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(PYTHON), "manage.py", "run_portal", "--port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    portal = Portal(url=f"http://127.0.0.1:{port}", env=env, log_path=log_path)
    try:
        _ready_wait(portal, process)
        print(f"Portal at {portal.url}/home/ (log: {log_path})", flush=True)
        yield portal
    finally:
        _stop(process)


def session_cookie(portal: Portal) -> str:
    """Log in as the demo staff user through the login form and return the sessionid value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_url = f"{portal.url}/accounts/login/"
    with opener.open(login_url, timeout=10):
        pass
    csrf_token = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
    form = urllib.parse.urlencode({
        "username": DEMO_USERNAME, "password": DEMO_PASSWORD, "next": "/home/",
        "csrfmiddlewaretoken": csrf_token,
    }).encode()
    request = urllib.request.Request(login_url, data=form, headers={"Referer": login_url})
    with opener.open(request, timeout=10) as response:
        if not response.url.rstrip("/").endswith("/home"):
            raise RuntimeError(f"Login as {DEMO_USERNAME} failed: it ended at {response.url}.")
    return next(cookie.value for cookie in jar if cookie.name == "sessionid")


def _ready_wait(portal: Portal, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{portal.url}/accounts/login/", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    log_tail = portal.log_path.read_text("utf-8", "replace")[-4000:]
    raise RuntimeError(
        f"The portal did not respond at {portal.url} within {READY_TIMEOUT_SECONDS} s. "
        f"Its log:\n{log_tail}"
    )


def _stop(process: subprocess.Popen) -> None:
    # run_portal stops its daphne and worker children itself on SIGTERM.
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        # NOTE: run_portal starts daphne and the worker in sessions of their own, so this
        # kill reaches run_portal only, and they may need stopping by hand.
        print(f"run_portal (pid {process.pid}) did not stop within {STOP_TIMEOUT_SECONDS} s "
              "and is killed; its daphne and worker may still run.", file=sys.stderr)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
