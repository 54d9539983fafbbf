"""Measure imports end to end through a Celery worker, and raw LOAD DATA beside them.

Each stock run empties the live stock tables, starts a job with import_job_start() as the
API does (dispatch to the `imports` queue), and polls the job row until it is finished.
The worker is a real `celery worker -c 1` child process with the same settings. Its pool
process runs the job, and its peak resident memory is read from /proc. In the same run
the rows of each CSV are loaded into a bare table with LOAD DATA LOCAL INFILE, the
fastest way into MariaDB, so the page shows how far the pipeline is from it.

A real retailer's file (the online-retail sample under OPS_SHARED_DATA_DIR) is then
imported as products and twice as sales history, each cycle on empty product and sales
tables: the first sales import creates the receipts, the second finds nothing to change.

The command empties live tables, so it refuses a database whose name lacks "bench".
"""

import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import django
import psutil
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from imports.management.commands._bench_data import (
    STOCK_HEADER,
    Catalog,
    bench_catalog_ensure,
    bench_user_ensure,
    stock_csv_ensure,
    stock_xlsx_ensure,
)
from imports.models import (
    ImportJob,
    ImportKind,
    ImportRowError,
    ImportStatus,
    StagedProduct,
    StagedSale,
    StagedStock,
)
from imports.services import import_job_start
from inventory.models import (
    Product,
    Sale,
    SaleLine,
    SerialUnit,
    StockLevel,
    StockMovement,
    Store,
)

PHASES = ("parsing", "validating", "loading", "finalizing")
POLL_SECONDS = 0.02
WORKER_READY_SECONDS = 60
# A job still queued after this long was probably taken by another worker on the same
# broker, which cannot see this database.
QUEUED_LIMIT_SECONDS = 60
NOTES_MARKER = "<!-- Notes below this line are kept when the page is written again. -->"
TRUNCATED_TABLES = (
    StockMovement, SerialUnit, StockLevel, StagedStock, ImportRowError,
    ImportJob.stores.through, ImportJob,
)
TARGET_SECONDS = {"csv-100k": 3.0, "csv-1m": 30.0, "xlsx-100k": 4.0}
STAGED_MODELS = {
    ImportKind.STOCK: StagedStock, ImportKind.PRODUCTS: StagedProduct, ImportKind.SALES: StagedSale,
}
RETAIL_FILE = Path("online-retail") / "online-retail-head200k.csv"
# The retail file names no store, so its sales go to this one.
RETAIL_STORE = "WEB"
RETAIL_STEPS = ("products", "sales, first import", "sales, same file again")


@dataclass
class Run:
    seconds: float
    phases: dict[str, float]
    peak_rss: int
    rss_before: int
    cleanup_seconds: float
    # Memory of the worker's second validating process that it shares with no other
    # process (USS); 0 when validation ran in the worker alone.
    second_peak_uss: int = 0
    rows_ok: int = 0
    rows_bad: int = 0


@dataclass
class FileResult:
    label: str
    path: Path
    rows: int
    runs: list[Run] = field(default_factory=list)
    load_data_seconds: list[float] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    def phase_seconds(self, phase: str) -> float:
        return statistics.median(run.phases.get(phase, 0.0) for run in self.runs)

    @property
    def peak_rss(self) -> int:
        return max(run.peak_rss for run in self.runs)

    @property
    def rss_before(self) -> int:
        return min(run.rss_before for run in self.runs)

    @property
    def second_peak_uss(self) -> int:
        return max(run.second_peak_uss for run in self.runs)

    @property
    def rows_ok(self) -> int:
        return self.runs[-1].rows_ok

    @property
    def rows_bad(self) -> int:
        return self.runs[-1].rows_bad


class Command(BaseCommand):
    help = (
        "Import generated stock files (100k and 1M rows of CSV, 100k rows of XLSX) and the "
        "online-retail sample (as products, as sales, and as sales again) through a Celery "
        "worker on MariaDB, and write rows per second per phase, seconds from start to done, "
        "the worker's peak memory and raw LOAD DATA speed to a Markdown page."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=100_000,
                            help="Data rows of the small CSV and the XLSX file (default: 100000).")
        parser.add_argument("--large-rows", type=int, default=1_000_000,
                            help="Data rows of the large CSV file (default: 1000000).")
        parser.add_argument("--repeat", type=int, default=3,
                            help="Runs of each small file; the page quotes medians (default: 3).")
        parser.add_argument("--large-repeat", type=int, default=1,
                            help="Runs of the large file (default: 1).")
        parser.add_argument("--skip-large", action="store_true", help="Leave out the large file.")
        parser.add_argument("--skip-xlsx", action="store_true", help="Leave out the XLSX file.")
        parser.add_argument("--retail-repeat", type=int, default=3,
                            help="Cycles of the online-retail file: products, sales, the same "
                                 "sales again (default: 3).")
        parser.add_argument("--skip-retail", action="store_true",
                            help="Leave out the online-retail file.")
        parser.add_argument("--keep-stock", action="store_true",
                            help="Leave the last run's stock levels, units and ledger rows in "
                                 "place, for scripts/ledger-index-cost.")
        parser.add_argument("--output", default="docs/benchmarks/imports.md",
                            help="Markdown page to write (default: docs/benchmarks/imports.md).")
        parser.add_argument("--timeout", type=float, default=600,
                            help="Seconds one import may take before the benchmark stops (default: 600).")

    def handle(self, *args, **options) -> None:
        _environment_check()
        options["load_before"] = os.getloadavg()[0]
        for name in ("repeat", "large_repeat", "retail_repeat", "rows", "large_rows"):
            if options[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be 1 or more, not {options[name]}.")

        catalog = bench_catalog_ensure()
        user = bench_user_ensure()
        folder = Path(settings.VAR_DIR) / "bench" / "imports"
        self.stdout.write(f"Generating files in {folder} (kept for later runs)...")
        plans = [("csv-100k", stock_csv_ensure(folder, catalog, options["rows"], seed=1),
                  options["rows"], options["repeat"])]
        if not options["skip_xlsx"]:
            plans.append(("xlsx-100k", stock_xlsx_ensure(folder, catalog, options["rows"], seed=1),
                          options["rows"], options["repeat"]))
        if not options["skip_large"]:
            plans.append(("csv-1m", stock_csv_ensure(folder, catalog, options["large_rows"], seed=2),
                          options["large_rows"], options["large_repeat"]))

        results = []
        for label, path, rows, repeat in plans:
            result = FileResult(label, path, rows)
            if path.suffix == ".csv":
                result.load_data_seconds = _load_data_measure(path, catalog, folder, repeat)
                self.stdout.write(
                    f"{label}: LOAD DATA into a bare table {min(result.load_data_seconds):.2f} s"
                )
            with _Worker(folder / f"worker-{label}.log") as worker:
                for number in range(1, repeat + 1):
                    _tables_empty()
                    run, _ = _import_measure(path, user, worker, timeout=options["timeout"])
                    result.runs.append(run)
                    self._run_print(f"{label} run {number}/{repeat}", run)
            results.append(result)
        if not options["keep_stock"]:
            _tables_empty()

        retail = self._retail_measure(user, folder, options)
        output = Path(options["output"])
        output.parent.mkdir(parents=True, exist_ok=True)
        notes = _notes_kept(output)
        output.write_text(_report(results, retail, options, notes), encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"Wrote {output}"))


    def _retail_measure(self, user, folder: Path, options: dict) -> "list[FileResult] | str":
        """Import the retail file as products, as sales and as sales again, in cycles.

        Return a result per step, or why the file was not measured.
        """
        path = Path(settings.SHARED_DATA_DIR) / RETAIL_FILE
        if options["skip_retail"]:
            return "Left out of this run (`--skip-retail`)."
        if not path.is_file():
            self.stderr.write(
                f"The online-retail file is missing at {path}, so the real-file section is left "
                "out. Set OPS_SHARED_DATA_DIR to the folder that holds online-retail/."
            )
            return f"Not measured: the file was missing at `{path}` (see OPS_SHARED_DATA_DIR)."
        Store.objects.get_or_create(code=RETAIL_STORE, defaults={"name": "Web shop"})
        catalog_last_id = Product.objects.order_by("-id").values_list("id", flat=True).first() or 0
        results = [FileResult(step, path, 0) for step in RETAIL_STEPS]
        repeat = options["retail_repeat"]
        with _Worker(folder / "worker-retail.log") as worker:
            for number in range(1, repeat + 1):
                _retail_tables_empty(catalog_last_id)
                steps = (
                    (ImportKind.PRODUCTS, {}),
                    (ImportKind.SALES, {"default_store": RETAIL_STORE}),
                    (ImportKind.SALES, {"default_store": RETAIL_STORE}),
                )
                jobs = []
                for result, (kind, job_options) in zip(results, steps):
                    run, job = _import_measure(
                        path, user, worker, kind=kind, options=job_options,
                        timeout=options["timeout"], bad_rows_allowed=True,
                    )
                    result.rows = job.rows_total
                    result.runs.append(run)
                    jobs.append(job)
                    self._run_print(f"retail {result.label} {number}/{repeat}", run)
                _retail_outcome_check(*jobs)
        _retail_tables_empty(catalog_last_id)
        return results

    def _run_print(self, title: str, run: "Run") -> None:
        self.stdout.write(
            f"{title}: {run.seconds:.2f} s, peak RSS {run.peak_rss / 2**20:.0f} MiB, phases "
            + ", ".join(f"{name} {seconds:.2f}" for name, seconds in run.phases.items())
        )


def _retail_tables_empty(catalog_last_id: int) -> None:
    """Empty the sales and import tables, and remove the products added after the catalog."""
    _job_uploads_delete()
    with connection.cursor() as cursor:
        cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
        try:
            for model in (SaleLine, Sale, StagedProduct, StagedSale, ImportRowError,
                          ImportJob.stores.through, ImportJob):
                cursor.execute(f"TRUNCATE TABLE {connection.ops.quote_name(model._meta.db_table)}")
        finally:
            cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
    Product.objects.filter(id__gt=catalog_last_id).delete()


def _retail_outcome_check(products: ImportJob, sales: ImportJob, again: ImportJob) -> None:
    """Raise CommandError when a retail import lost a row or the second sales import changed data."""
    for job in (products, sales, again):
        if job.rows_ok + job.rows_bad != job.rows_total:
            raise CommandError(
                f"Import job {job.pk} ({job.kind}) counted {job.rows_ok} good and {job.rows_bad} "
                f"bad rows of {job.rows_total}; every row must be one or the other."
            )
    changed = {
        name: again.summary.get(name, 0)
        for name in ("sales_created", "lines_created", "lines_updated", "lines_removed")
    }
    if any(changed.values()) or (again.rows_ok, again.rows_bad) != (sales.rows_ok, sales.rows_bad):
        raise CommandError(
            f"Importing the same sales file again changed data ({changed}) or counted other "
            f"rows ({again.rows_ok} good, {again.rows_bad} bad against {sales.rows_ok} and "
            f"{sales.rows_bad})."
        )


def _environment_check() -> None:
    if connection.vendor != "mysql":
        raise CommandError(
            "The import benchmark needs MySQL or MariaDB (LOAD DATA is what it measures). "
            "Set DATABASE_URL, for example mysql://root@127.0.0.1:3306/ops_portal_bench."
        )
    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        raise CommandError(
            f"Database {name!r} is not a benchmark database: the benchmark empties the stock "
            "tables before each run. Use a database whose name contains 'bench'."
        )
    if not settings.REDIS_URL:
        raise CommandError(
            "REDIS_URL is not set. The benchmark runs the import through a Celery worker "
            "and needs the Redis broker, for example redis://127.0.0.1:6379/0."
        )
    if settings.DEBUG:
        raise CommandError("DEBUG is on, which keeps every query in memory. Set DJANGO_DEBUG=0.")


def _tables_empty() -> None:
    """Empty the live stock tables and the import tables of the benchmark database."""
    _job_uploads_delete()
    with connection.cursor() as cursor:
        cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
        try:
            for model in TRUNCATED_TABLES:
                cursor.execute(f"TRUNCATE TABLE {connection.ops.quote_name(model._meta.db_table)}")
        finally:
            cursor.execute("SET FOREIGN_KEY_CHECKS = 1")


def _job_uploads_delete() -> None:
    """Delete the stored uploads of this database's import jobs, and no other file.

    The media folder may also contain the uploads of a portal that runs from the same
    checkout on another database.
    """
    for name in ImportJob.objects.exclude(file="").values_list("file", flat=True).iterator():
        default_storage.delete(name)


class _Worker:
    """A `celery worker -c 1` process on the imports queue, started with this process's settings."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "_Worker":
        env = {**os.environ, "DJANGO_DEBUG": "0", "CELERY_TASK_ALWAYS_EAGER": "0"}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "ops_portal", "worker", "-Q", "imports,default",
             "-c", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "-n", f"bench-imports-{os.getpid()}@%h"],
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + WORKER_READY_SECONDS
        while " ready." not in self.log_path.read_text(encoding="utf-8", errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise CommandError(f"The Celery worker did not start; see {self.log_path}.")
            time.sleep(0.2)
        return self

    def pool_process(self) -> psutil.Process:
        """Return the pool process that runs the tasks."""
        children = psutil.Process(self.process.pid).children()
        if len(children) != 1:
            raise CommandError(f"Expected one Celery pool process, found {len(children)}.")
        return children[0]

    def __exit__(self, *exc_info) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def _import_measure(path: Path, user, worker: _Worker, *, timeout: float,
                    kind: str = ImportKind.STOCK, options: dict | None = None,
                    bad_rows_allowed: bool = False) -> tuple[Run, ImportJob]:
    """Import the file once; return its timings and memory, and the finished job."""
    pool = worker.pool_process()
    peak_reset = _peak_rss_reset(pool)
    rss_before = pool.memory_info().rss
    sampled_peak = rss_before
    second_peak_uss = 0

    started = time.monotonic()
    with path.open("rb") as handle:
        job = import_job_start(
            actor=user, kind=kind, upload=File(handle, name=path.name), options=options or {},
            dispatch=True,
        ).job
    while True:
        status = ImportJob.objects.filter(pk=job.pk).values_list("status", flat=True).get()
        if status in (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED):
            break
        elapsed = time.monotonic() - started
        if status == ImportStatus.QUEUED and elapsed > QUEUED_LIMIT_SECONDS:
            raise CommandError(
                f"The job stayed queued for {QUEUED_LIMIT_SECONDS} s. Another Celery worker on "
                "the same Redis database may have taken it; point REDIS_URL at an unused one."
            )
        if elapsed > timeout:
            raise CommandError(f"The import of {path.name} took over {timeout:.0f} s; stopped waiting.")
        sampled_peak = max(sampled_peak, pool.memory_info().rss)
        second_peak_uss = max(second_peak_uss, _children_uss(pool))
        time.sleep(POLL_SECONDS)
    seconds = time.monotonic() - started

    job.refresh_from_db()
    if job.status != ImportStatus.DONE or (job.rows_bad and not bad_rows_allowed):
        raise CommandError(
            f"The {kind} import of {path.name} ended {job.status} with {job.rows_bad} bad rows: "
            f"{job.failure_reason or 'see the error report'}."
        )
    # A task deletes the job's staged rows after the job is done. Waiting for that starts
    # the next run on an idle worker and shows how long the deletion took.
    while STAGED_MODELS[kind].objects.filter(job_id=job.pk).exists():
        sampled_peak = max(sampled_peak, pool.memory_info().rss)
        time.sleep(POLL_SECONDS)
    cleanup_seconds = time.monotonic() - started - seconds

    peak = _peak_rss_read(pool) if peak_reset else None
    return Run(
        seconds=seconds,
        phases={phase: float(job.phase_timings.get(phase, 0.0)) for phase in PHASES},
        peak_rss=max(peak or 0, sampled_peak),
        rss_before=rss_before,
        cleanup_seconds=cleanup_seconds,
        second_peak_uss=second_peak_uss,
        rows_ok=job.rows_ok,
        rows_bad=job.rows_bad,
    ), job


def _children_uss(process: psutil.Process) -> int:
    """Return the memory that the process's children hold alone, summed."""
    total = 0
    for child in process.children():
        try:
            total += child.memory_full_info().uss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def _peak_rss_reset(process: psutil.Process) -> bool:
    """Reset the process's peak RSS (VmHWM) to its current RSS; return whether Linux allowed it."""
    try:
        Path(f"/proc/{process.pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_rss_read(process: psutil.Process) -> int | None:
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return None


def _load_data_measure(path: Path, catalog: Catalog, folder: Path, repeat: int) -> list[float]:
    """Time LOAD DATA of the file's rows, as staged, into a table without secondary indexes."""
    tsv = folder / f"{path.stem}-staged.tsv"
    if not tsv.exists():
        _staged_tsv_write(path, tsv)
    table = "bench_raw_load"
    columns = ("job_id", "row_number", "store_id", "product_id", "serial", "quantity", "status",
               "unit_cost", "received_at")
    timings = []
    with connection.cursor() as cursor:
        for _ in range(repeat):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(
                f"CREATE TABLE {table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, job_id BIGINT NOT NULL, "
                "`row_number` INT UNSIGNED NOT NULL, store_id BIGINT NOT NULL, product_id BIGINT NOT NULL, "
                "serial VARCHAR(64) NOT NULL, quantity INT NOT NULL, status VARCHAR(16) NOT NULL, "
                "unit_cost DECIMAL(12, 2) NULL, received_at DATE NULL) ENGINE=InnoDB"
            )
            started = time.monotonic()
            cursor.execute(
                f"LOAD DATA LOCAL INFILE %s INTO TABLE {table} CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
                f"({', '.join(connection.ops.quote_name(column) for column in columns)})",
                [str(tsv)],
            )
            timings.append(time.monotonic() - started)
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
    return timings


def _staged_tsv_write(path: Path, tsv: Path) -> None:
    """Write the file's rows as the pipeline stages them, with store and product ids."""
    import csv

    store_ids = dict(Store.objects.values_list("code", "id"))
    product_ids = dict(Product.objects.values_list("sku", "id"))
    partial = tsv.with_suffix(".partial")
    with path.open(encoding="utf-8", newline="") as source, partial.open("w", encoding="utf-8") as out:
        reader = csv.reader(source)
        if next(reader) != STOCK_HEADER:
            raise CommandError(f"{path} does not start with the header {STOCK_HEADER}.")
        for number, (store, sku, serial, qty, cost, status, received) in enumerate(reader, start=2):
            out.write(
                f"0\t{number}\t{store_ids[store]}\t{product_ids[sku]}\t{serial}\t{qty or 1}\t"
                f"{status}\t{cost}\t{received}\n"
            )
    partial.rename(tsv)


def _notes_kept(output: Path) -> str:
    if not output.exists():
        return ""
    text = output.read_text(encoding="utf-8")
    if NOTES_MARKER not in text:
        return ""
    return text.split(NOTES_MARKER, 1)[1].strip()


def _report(results: list[FileResult], retail: "list[FileResult] | str", options: dict,
            notes: str) -> str:
    lines = [
        "# Import benchmark",
        "",
        f"Written by `manage.py bench_imports` on {timezone.now():%Y-%m-%d %H:%M} UTC. Command: "
        "`make bench-import`, which runs `manage.py bench_imports` with "
        f"`--repeat {options['repeat']} --large-repeat {options['large_repeat']}` on the "
        f"`{connection.settings_dict['NAME']}` database of the server at "
        f"{connection.settings_dict['HOST']}:{connection.settings_dict['PORT'] or 3306} "
        "through a Celery worker (`-c 1`, Redis broker).",
        "",
        f"Machine: {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
        f"{platform.platform()}, Python {platform.python_version()}, Django {django.get_version()}, "
        f"{_server_version()}. The machine is shared with other work, so timings vary by "
        "tens of percent from run to run; the table quotes medians. Load average (1 minute) "
        f"at the start and the end of the run: {options['load_before']:.1f} and "
        f"{os.getloadavg()[0]:.1f}.",
        "",
        "Each run starts from empty stock tables (no stock levels, serial units or ledger "
        "rows), so the count creates every level and unit it names, with a ledger row for "
        "each that is not zero. Seconds are from "
        "`import_job_start()` (the upload stored and the job queued) to the job row saying "
        "done; phase seconds are the job's `phase_timings`. Rows per second divide the file's "
        "rows by those seconds. The worker forks a second process to validate the later rows "
        "of a count; its memory is its unique set size (the pages it shares with no other "
        "process), sampled every 20 ms.",
        "",
        "## Results",
        "",
        "| file | rows | runs | start to done (s) | rows/s overall | parse rows/s (s) "
        "| validate rows/s (s) | load rows/s (s) | finalize rows/s (s) | worker peak RSS (MiB) "
        "| second validating process peak USS (MiB) | staging cleanup after done (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        lines.append(
            f"| {result.label} | {result.rows:,} | {len(result.runs)} | {_timing_cells(result)} "
            f"| {_memory_cell(result)} | {result.second_peak_uss / 2**20:.0f} "
            f"| {_cleanup_cell(result)} |"
        )
    lines += ["", "## LOAD DATA of the same rows into a bare table", "",
              "The rows as the pipeline stages them (ids resolved), loaded with one LOAD DATA "
              "LOCAL INFILE into an InnoDB table with only a primary key; the best of the runs.",
              "", "| file | rows | LOAD DATA (s) | LOAD DATA rows/s | pipeline rows/s overall "
              "| pipeline ÷ LOAD DATA | load phase ÷ LOAD DATA |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for result in results:
        if not result.load_data_seconds:
            continue
        raw_seconds = min(result.load_data_seconds)
        raw_rate = result.rows / raw_seconds
        load_rate = result.rows / max(result.phase_seconds("loading"), 1e-9)
        lines.append(
            f"| {result.label} | {result.rows:,} | {raw_seconds:.2f} | {raw_rate:,.0f} "
            f"| {result.rows / result.seconds:,.0f} | {result.rows / result.seconds / raw_rate:.1%} "
            f"| {load_rate / raw_rate:.0%} |"
        )
    lines += ["", "## A real retailer's file", ""] + _retail_report(retail)
    lines += ["", "## Targets", ""] + _targets(results) + ["", NOTES_MARKER, ""]
    if notes:
        lines += [notes, ""]
    return "\n".join(lines)


def _retail_report(retail: "list[FileResult] | str") -> list[str]:
    if isinstance(retail, str):
        return [retail]
    cycles = len(retail[0].runs)
    lines = [
        f"The online-retail sample ({RETAIL_FILE.name}) holds invoice lines with InvoiceNo, "
        "StockCode, Description, Quantity, InvoiceDate and UnitPrice. It is imported as it is "
        f"through the same worker, in {cycles} {'cycle' if cycles == 1 else 'cycles'}. Each "
        "cycle imports it as products on a catalog without its SKUs, then as sales history "
        f"for store {RETAIL_STORE} with no sales there. Then it imports the same sales file "
        "again, which must change nothing. Bad rows are the file's own, such as a quantity of zero or a "
        "StockCode that the products import rejected, and go to the error report. Each cycle "
        "checks that good and bad rows add up to the file's rows, and that the second sales "
        "import created, updated and removed no line. The table gives medians of the cycles.",
        "",
        "| import | rows | good | bad | runs | start to done (s) | rows/s overall "
        "| parse rows/s (s) | validate rows/s (s) | load rows/s (s) | finalize rows/s (s) "
        "| worker peak RSS (MiB) | staging cleanup after done (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in retail:
        lines.append(
            f"| {result.label} | {result.rows:,} | {result.rows_ok:,} | {result.rows_bad:,} "
            f"| {len(result.runs)} | {_timing_cells(result)} | {_memory_cell(result)} "
            f"| {_cleanup_cell(result)} |"
        )
    return lines


def _timing_cells(result: FileResult) -> str:
    """Return the cells of seconds from start to done, rows per second, and each phase's rate."""
    phases = " | ".join(_rate_cell(result.rows, result.phase_seconds(phase)) for phase in PHASES)
    return f"{result.seconds:.2f} | {result.rows / result.seconds:,.0f} | {phases}"


def _memory_cell(result: FileResult) -> str:
    return f"{result.peak_rss / 2**20:.0f} (idle {result.rss_before / 2**20:.0f})"


def _cleanup_cell(result: FileResult) -> str:
    return f"{statistics.median(run.cleanup_seconds for run in result.runs):.2f}"


def _rate_cell(rows: int, seconds: float) -> str:
    if seconds <= 0:
        return "-"
    return f"{rows / seconds:,.0f} ({seconds:.2f})"


def _targets(results: list[FileResult]) -> list[str]:
    by_label = {result.label: result for result in results}
    lines = []
    for label, limit in TARGET_SECONDS.items():
        result = by_label.get(label)
        if result is None:
            lines.append(f"- {label} under {limit:.0f} s: not measured in this run.")
            continue
        verdict = "met" if result.seconds < limit else "not met"
        lines.append(f"- {label} under {limit:.0f} s: {verdict} ({result.seconds:.2f} s).")
    small, large = by_label.get("csv-100k"), by_label.get("csv-1m")
    if small and large:
        growth = large.peak_rss / small.peak_rss - 1
        lines.append(
            f"- Worker memory flat as the file grows: peak RSS {small.peak_rss / 2**20:.0f} MiB "
            f"at {small.rows:,} rows and {large.peak_rss / 2**20:.0f} MiB at {large.rows:,} rows "
            f"({growth:+.0%})."
        )
    return lines


def _server_version() -> str:
    """Return the server's version and the settings that bound the finalizing phase.

    The buffer pool bounds how much of the tables stays in memory, and in AUTO-INC lock
    mode 1 the two connections that finalize a count take turns inserting.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT VERSION(), @@innodb_buffer_pool_size, @@innodb_autoinc_lock_mode, "
            "@@innodb_log_file_size"
        )
        version, buffer_pool, autoinc_lock_mode, log_file = cursor.fetchone()
    return (
        f"server {version} with innodb_buffer_pool_size {int(buffer_pool) / 2**20:,.0f} MiB, "
        f"innodb_autoinc_lock_mode {autoinc_lock_mode} and innodb_log_file_size "
        f"{int(log_file) / 2**20:,.0f} MiB"
    )
