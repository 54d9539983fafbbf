"""Start the whole portal in the foreground: daphne for HTTP and websockets, and a worker."""

import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops_portal.demo import DEMO_ACCOUNTS

STOP_TIMEOUT_SECONDS = 10


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Run daphne (HTTP and websockets) and a Celery worker until Ctrl-C, "
        "then stop both."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"),
                            help="Address daphne listens on (default: 127.0.0.1).")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")),
                            help="Port daphne listens on (default: 8000).")
        parser.add_argument("--worker-concurrency", type=int, default=1,
                            help="Processes of the Celery worker (default: 1).")
        parser.add_argument(
            "--web-processes", type=int, default=1,
            help="daphne processes sharing the port (default: 1). Django runs the "
                 "synchronous views of one process in one thread, so more processes serve "
                 "more requests at once.",
        )
        parser.add_argument(
            "--worker-nice", type=int, default=10,
            help="Niceness of the worker (default: 10), so an import yields the CPU to "
                 "web requests.",
        )
        parser.add_argument("--no-worker", action="store_true",
                            help="Run only the web server; workers run elsewhere.")

    def handle(self, *args, **options) -> None:
        listener = _listener_open(options["host"], options["port"])
        processes = {
            f"web {number}": self._start(
                [sys.executable, "-m", "daphne", "--fd", str(listener.fileno()),
                 "ops_portal.asgi:application"],
                pass_fds=(listener.fileno(),),
            )
            for number in range(1, options["web_processes"] + 1)
        }
        # The children hold the listening socket; this process needs it no longer.
        listener.close()
        if not options["no_worker"]:
            processes["worker"] = self._start([
                "nice", "-n", str(options["worker_nice"]),
                sys.executable, "-m", "celery", "-A", "ops_portal", "worker",
                "-Q", "default,imports", "-c", str(options["worker_concurrency"]),
                "-l", "INFO", "--without-gossip", "--without-mingle",
                # The embedded beat queues imports whose worker died, so they resume.
                "--beat", "--schedule", str(settings.VAR_DIR / "celerybeat-schedule"),
            ])
        self._announce(options["host"], options["port"])
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)

        try:
            while True:
                for name, process in processes.items():
                    if process.poll() is not None:
                        raise CommandError(
                            f"The {name} process stopped with exit code {process.returncode}; "
                            "its output above says why. Stopping the portal."
                        )
                time.sleep(0.5)
        except KeyboardInterrupt:
            self.stdout.write("Stopping the portal...")
        finally:
            self._stop(processes)

    def _start(self, command: list[str], pass_fds: tuple[int, ...] = ()) -> subprocess.Popen:
        # A new process group keeps Ctrl-C from reaching the children twice: this command
        # stops them itself, in order, and waits for them.
        return subprocess.Popen(command, start_new_session=True, pass_fds=pass_fds)

    def _stop(self, processes: dict[str, subprocess.Popen]) -> None:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _announce(self, host: str, port: int) -> None:
        database = settings.DATABASES["default"]
        self.stdout.write(self.style.SUCCESS(f"Ops Portal: http://{host}:{port}/home/"))
        self.stdout.write(f"  database: {database['ENGINE'].rsplit('.', 1)[-1]} {database['NAME']}")
        self.stdout.write(f"  broker:   {settings.CELERY_BROKER_URL.split('@')[-1]}")
        self.stdout.write("  Demo logins (local use only; never create them on a shared server):")
        for account in DEMO_ACCOUNTS:
            self.stdout.write(
                f"    {account.username:<12} {account.password:<20} {account.role}"
            )
        self.stdout.write("Press Ctrl-C to stop the web server and the worker.")


def _listener_open(host: str, port: int) -> socket.socket:
    """Bind the web port once; every daphne process accepts connections from this socket."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise CommandError(
            f"Cannot listen on {host}:{port}: {error.strerror}. Another program may use the "
            "port; stop it or choose another with --port."
        ) from None
    listener.listen(512)
    return listener
