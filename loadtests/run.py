"""Run the load test end to end and write docs/performance/loadtest.md.

Called by `make loadtest` with the project's virtualenv. It prepares a MariaDB database
with the large demo data (once, because later runs reuse it), the load test's accounts and
two 100k-row stock counts. It starts the portal as in production: DEBUG off, hashed static
files served by WhiteNoise, persistent database connections, several daphne processes and
the worker at a lower CPU priority. Then it runs Locust headless and writes the report.
It exits non-zero when an everyday endpoint's p95 during the imports is over the budget
or a request failed.

Settings come from the environment: LOADTEST_USERS (20), LOADTEST_SECONDS (240),
LOADTEST_IMPORT_AFTER (90), LOADTEST_IMPORT_COUNT (8), LOADTEST_WEB_PROCESSES (2),
LOADTEST_DATABASE_URL, LOADTEST_REDIS_URL, LOADTEST_PORT (8100) and LOADTEST_REPORT_DIR
(docs/performance).
"""

import json
import os
import platform
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from loadtests.report import report_write  # noqa: E402

USERS = int(os.environ.get("LOADTEST_USERS", "20"))
SECONDS = int(os.environ.get("LOADTEST_SECONDS", "240"))
IMPORT_AFTER = int(os.environ.get("LOADTEST_IMPORT_AFTER", "90"))
IMPORT_COUNT = int(os.environ.get("LOADTEST_IMPORT_COUNT", "8"))
WEB_PROCESSES = int(os.environ.get("LOADTEST_WEB_PROCESSES", "2"))
PORT = int(os.environ.get("LOADTEST_PORT", "8100"))
DATABASE_URL = os.environ.get(
    "LOADTEST_DATABASE_URL", "mysql://root@127.0.0.1:3306/ops_portal_load"
)
REDIS_URL = os.environ.get("LOADTEST_REDIS_URL", "redis://127.0.0.1:6379/5")
REPORT_DIR = Path(os.environ.get("LOADTEST_REPORT_DIR", BASE_DIR / "docs" / "performance"))
WORK_DIR = BASE_DIR / "var" / "loadtest"
IMPORT_ROWS = 100_000
PASSWORD = "loadtest-pass-4821"
READY_TIMEOUT_SECONDS = 90
BUDGET_P95_MS = 300


def main() -> int:
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    env = _portal_env()
    _step("migrating the load test database")
    _manage(env, "migrate", "--noinput")
    _step("loading the large demo data when the database has none (about 10 minutes once)")
    _manage({**env, "DJANGO_DEBUG": "1"}, "seed_demo", "--scale", "large", "--if-empty")
    _step("creating the load test accounts")
    plan = WORK_DIR / "plan.json"
    _manage(env, "loadtest_prepare", "--users", str(max(USERS, 20)), "--password", PASSWORD,
            "--output", str(plan))
    import_files = [WORK_DIR / f"stock-100k-{seed}.csv" for seed in (1, 2)]
    for seed, path in zip((1, 2), import_files):
        _manage(env, "loadtest_stock_file", "--rows", str(IMPORT_ROWS), "--seed", str(seed),
                "--output", str(path))
    _step("collecting static files")
    _manage(env, "collectstatic", "--noinput", "--verbosity", "0")

    samples = WORK_DIR / "samples.jsonl"
    timeline = WORK_DIR / "timeline.jsonl"
    timeline.unlink(missing_ok=True)
    portal = _portal_start(env)
    try:
        _step(f"running Locust: {USERS} users for {SECONDS} s, the import after {IMPORT_AFTER} s")
        locust = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(BASE_DIR / "loadtests" / "locustfile.py"),
             "--headless", "--users", str(USERS + 1), "--spawn-rate", "10",
             "--run-time", f"{SECONDS}s", "--host", f"http://127.0.0.1:{PORT}",
             "--csv", str(WORK_DIR / "locust"), "--only-summary", "--stop-timeout", "10",
             "--exit-code-on-error", "0"],
            cwd=BASE_DIR,
            env={**os.environ, "LOADTEST_PLAN": str(plan), "LOADTEST_IMPORT_FILES": os.pathsep.join(map(str, import_files)),
                 "LOADTEST_IMPORT_COUNT": str(IMPORT_COUNT),
                 "LOADTEST_IMPORT_AFTER": str(IMPORT_AFTER), "LOADTEST_SAMPLES": str(samples),
                 "LOADTEST_TIMELINE": str(timeline)},
            check=False,
        )
        if locust.returncode != 0:
            print(f"Locust stopped with exit code {locust.returncode}.", file=sys.stderr)
            return locust.returncode
    finally:
        _portal_stop(portal)

    _step(f"writing the report to {REPORT_DIR}")
    setup = {
        "users": USERS, "seconds": SECONDS, "import_after_seconds": IMPORT_AFTER,
        "import_count": IMPORT_COUNT,
        "web_processes": WEB_PROCESSES, "import_rows": IMPORT_ROWS,
        "machine": _machine(), "budget_p95_ms": BUDGET_P95_MS,
    }
    verdict = report_write(samples=samples, timeline=timeline, setup=setup, folder=REPORT_DIR)
    for line in verdict.problems:
        print(f"FAIL: {line}", file=sys.stderr)
    print(verdict.summary)
    return 1 if verdict.problems else 0


def _portal_env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "DJANGO_DEBUG": "0",
        "DJANGO_DEBUG_TOOLBAR": "0",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "loadtest-only-secret-key-x" * 2),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_STATIC_MANIFEST": "1",
        "DATABASE_CONN_MAX_AGE": os.environ.get("DATABASE_CONN_MAX_AGE", "60"),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "OPS_VAR_DIR": str(WORK_DIR / "var"),
        "DJANGO_STATIC_ROOT": str(WORK_DIR / "static"),
    }


def _manage(env: dict[str, str], *arguments: str) -> None:
    subprocess.run([sys.executable, "manage.py", *arguments], cwd=BASE_DIR, env=env, check=True)


def _portal_start(env: dict[str, str]) -> subprocess.Popen:
    log = (WORK_DIR / "portal.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_portal", "--port", str(PORT),
         "--web-processes", str(WEB_PROCESSES)],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=2):
                # The worker needs a few seconds more than the web processes.
                time.sleep(5)
                return process
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    _portal_stop(process)
    raise SystemExit(f"The portal did not start; see {WORK_DIR / 'portal.log'}.")


def _portal_stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _machine() -> dict:
    memory_kib = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    return {
        "cpus": os.cpu_count(), "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "python": platform.python_version(), "system": platform.platform(terse=True),
        "load_average_at_start": os.getloadavg()[0],
    }


def _step(text: str) -> None:
    print(f"== {text}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
