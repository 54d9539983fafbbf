"""A MariaDB and a Redis server owned by one test module, which may stop and restart them.

Fault tests take the database or the broker away from a worker and a web server. They do
it to servers of their own on free ports under a temporary folder, never to the servers
that other test runs share.
"""

import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from home.tests.browser.server import PortalServer
from imports.tests.worker_process import WORKER_STALE_AFTER_SECONDS, WorkerProcess

READY_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 20
POLL_SECONDS = 0.1
LOG_TAIL_CHARS = 3_000
PRIVATE_DATABASE = "ops_faults_private"


def port_free() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def binaries_require(*names: str) -> dict[str, str]:
    """Return the paths of the programs, or skip the test naming the missing ones."""
    found = {name: shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin") for name in names}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        pytest.skip(
            f"{', '.join(missing)} not found; install the Debian packages mariadb-server and "
            "redis-server to run the tests that stop a database or a broker"
        )
    return found


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class _Server:
    name = "server"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port_free()
        self.log_path = folder / "server.log"
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        return _port_open(self.port)

    def start(self) -> None:
        """Start the server and wait until it accepts connections; raise RuntimeError if not."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if self.ready():
                return
            time.sleep(POLL_SECONDS)
        self.stop()
        raise RuntimeError(
            f"The private {self.name} did not start within {READY_TIMEOUT_SECONDS} s:\n"
            f"{self.log_tail()}"
        )

    def stop(self) -> None:
        """Stop the server with SIGTERM and wait for it; SIGKILL when it takes too long."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)

    def kill(self) -> None:
        """Kill the server with SIGKILL, as a crash or a power cut would."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT_SECONDS)

    def log_tail(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text("utf-8", "replace")[-LOG_TAIL_CHARS:]


class PrivateMariaDB(_Server):
    """mariadbd on a fresh data folder: root without a password, local_infile on."""

    name = "MariaDB"

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.binaries = binaries_require("mariadbd", "mariadb-install-db", "mariadb", "mariadb-dump")
        self.data_dir = folder / "data"
        self.socket_path = folder / "mariadb.sock"

    def install(self) -> None:
        subprocess.run(
            [
                self.binaries["mariadb-install-db"], "--no-defaults", f"--datadir={self.data_dir}",
                "--auth-root-authentication-method=normal", "--skip-test-db", "--user=root",
            ],
            check=True, capture_output=True, timeout=60,
        )

    def command(self) -> list[str]:
        return [
            self.binaries["mariadbd"], "--no-defaults", f"--datadir={self.data_dir}",
            f"--socket={self.socket_path}", f"--port={self.port}", "--bind-address=127.0.0.1",
            "--user=root", "--skip-grant-tables", "--local-infile=1", "--skip-log-bin",
            "--innodb-buffer-pool-size=128M",
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
        ]

    def ready(self) -> bool:
        result = subprocess.run(
            [self.binaries["mariadb"], "-h127.0.0.1", f"-P{self.port}", "-uroot", "-e", "SELECT 1"],
            capture_output=True, timeout=10,
        )
        return result.returncode == 0

    def database_copy(self, *, source_port: int, source_name: str, name: str) -> None:
        """Copy a database of another server here, schema and rows."""
        subprocess.run(
            [self.binaries["mariadb"], "-h127.0.0.1", f"-P{self.port}", "-uroot", "-e",
             f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"],
            check=True, capture_output=True, timeout=30,
        )
        dump = subprocess.run(
            [self.binaries["mariadb-dump"], "-h127.0.0.1", f"-P{source_port}", "-uroot",
             "--single-transaction", "--skip-triggers", source_name],
            check=True, capture_output=True, timeout=120,
        )
        subprocess.run(
            [self.binaries["mariadb"], "-h127.0.0.1", f"-P{self.port}", "-uroot", name],
            input=dump.stdout, check=True, capture_output=True, timeout=120,
        )


class PrivateRedis(_Server):
    """redis-server without persistence."""

    name = "Redis"

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.binaries = binaries_require("redis-server")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [
            self.binaries["redis-server"], "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.folder),
        ]


class PrivateStack:
    """A worker and daphne on a private MariaDB and Redis, which a test may stop and start."""

    def __init__(self, *, database: PrivateMariaDB, redis: PrivateRedis, worker: WorkerProcess,
                 portal: PortalServer) -> None:
        self.database = database
        self.redis = redis
        self.worker = worker
        self.portal = portal

    @contextmanager
    def orm(self):
        """Point this process's default connection at the private database meanwhile."""
        connection.close()
        saved = dict(connection.settings_dict)
        connection.settings_dict.update(
            HOST="127.0.0.1", PORT=str(self.database.port), NAME=PRIVATE_DATABASE
        )
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(saved)

    def logs(self) -> str:
        return (
            f"worker log:\n{self.worker.log_tail()}\n\ndaphne log:\n{self.portal.log_tail()}\n\n"
            f"MariaDB log:\n{self.database.log_tail()}"
        )


@pytest.fixture(scope="module")
def private_stack(mysql_and_redis_only, django_db_setup, django_db_blocker, tmp_path_factory):
    """Start the stack for one test module, on a copy of the test database."""
    folder = tmp_path_factory.mktemp("private")
    database = PrivateMariaDB(folder / "mariadb")
    redis = PrivateRedis(folder / "redis")
    database.install()
    database.start()
    redis.start()
    with django_db_blocker.unblock():
        source = connection.settings_dict
        database.database_copy(
            source_port=int(source["PORT"] or 3306), source_name=source["NAME"],
            name=PRIVATE_DATABASE,
        )
    env = {
        **os.environ,
        "DATABASE_URL": f"mysql://root@127.0.0.1:{database.port}/{PRIVATE_DATABASE}",
        "REDIS_URL": redis.url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "IMPORT_STALE_AFTER_SECONDS": str(WORKER_STALE_AFTER_SECONDS),
        "OPS_VAR_DIR": str(folder / "var"),
        "OPS_MEDIA_ROOT": str(folder / "media"),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_STATIC_MANIFEST": "0",
        "DJANGO_DEBUG_TOOLBAR": "0",
    }
    worker = WorkerProcess(
        env=env, cwd=settings.BASE_DIR, log_path=folder / "worker.log", media_root=folder / "media"
    )
    portal = PortalServer(env=env, cwd=settings.BASE_DIR, log_path=folder / "daphne.log")
    try:
        worker.start()
        portal.start()
        yield PrivateStack(database=database, redis=redis, worker=worker, portal=portal)
    finally:
        portal.stop()
        worker.stop()
        redis.stop()
        database.stop()
