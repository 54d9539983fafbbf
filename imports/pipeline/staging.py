"""Staging of validated rows: written to chunk files while validating, then bulk-loaded.

On MySQL and MariaDB each chunk file goes into its staging table with one
LOAD DATA LOCAL INFILE statement; elsewhere with multi-row INSERT batches. Live tables
never take a bulk statement: a long bulk insert holds InnoDB's AUTO-INC lock on its
table, which would stall every till writing to that table meanwhile.
"""

import datetime
import logging
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import connection, connections, models, transaction

from imports.models import ImportJob

logger = logging.getLogger(__name__)

STAGING_CHUNK_ROWS = 20_000
INSERT_BATCH_ROWS = 2_000
DELETE_BATCH_ROWS = 20_000
NULL = "\\N"


def staging_dir(job: ImportJob) -> Path:
    return Path(settings.VAR_DIR) / "imports" / str(job.task_id) / "staging"


def staged_columns(model: type[models.Model]) -> list[str]:
    """Return the staging table's columns in file order, job and row number first."""
    return [field.column for field in model._meta.concrete_fields]


def _encode(value: object) -> str:
    # The usual cell types first, by exact type: bool is an int subclass and must not
    # take the int path.
    kind = type(value)
    if kind is int or kind is Decimal:
        return str(value)
    if kind is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return _escape(value)
        return value
    if kind is datetime.date:
        return value.isoformat()
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime.datetime):
        # Staging keeps naive UTC, which is what Django stores for aware datetimes.
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, Decimal, int, float)):
        return str(value)
    return _escape(str(value))


def _text_encode(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return _escape(value)
    return value


# Encoders of the usual cell types by exact type; _encode() handles the rest.
_ENCODERS: dict[type, Callable[[object], str]] = {
    int: str, Decimal: str, str: _text_encode, datetime.date: datetime.date.isoformat,
    type(None): lambda value: NULL,
}


def _line(row: tuple) -> str:
    """Return a staged row as one line of the staging file."""
    encoders = _ENCODERS
    return "\t".join([encoders.get(type(value), _encode)(value) for value in row]) + "\n"


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _decode(text: str) -> str | None:
    if text == NULL:
        return None
    if "\\" not in text:
        return text
    out = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}.get(escaped, escaped))
        else:
            out.append(char)
    return "".join(out)


class StagingWriter:
    """Append validated rows, as tuples in staged_columns() order, to numbered chunk files.

    ``on_file_done`` is called with each chunk file once it is complete. Part 1 removes
    the chunk files of an earlier attempt; a second validating process writes part 2
    into the same folder.
    """

    def __init__(self, job: ImportJob, *, part: int = 1,
                 on_file_done: Callable[[Path], None] | None = None) -> None:
        self.folder = staging_dir(job)
        self.part = part
        if part == 1:
            self.folder.mkdir(parents=True, exist_ok=True)
            # Other files of the folder belong to the kind handler.
            for path in staging_files(job):
                path.unlink()
        self.on_file_done = on_file_done
        self.files: list[Path] = []
        self.rows = 0
        self._handle = None
        self._rows_in_file = 0

    def write(self, rows: Iterable[tuple]) -> None:
        rows = list(rows)
        start = 0
        while start < len(rows):
            if self._handle is None or self._rows_in_file >= STAGING_CHUNK_ROWS:
                self._open_next()
            batch = rows[start:start + STAGING_CHUNK_ROWS - self._rows_in_file]
            self._handle.write("".join([_line(row) for row in batch]))
            self._rows_in_file += len(batch)
            self.rows += len(batch)
            start += len(batch)

    def close(self) -> list[Path]:
        self._file_close()
        return self.files

    def _file_close(self) -> None:
        if self._handle is None:
            return
        self._handle.close()
        self._handle = None
        if self.on_file_done is not None:
            self.on_file_done(self.files[-1])

    def _open_next(self) -> None:
        self._file_close()
        path = self.folder / f"chunk-{self.part}-{len(self.files) + 1:05d}.tsv"
        self.files.append(path)
        self._handle = path.open("w", encoding="utf-8", newline="\n")
        self._rows_in_file = 0


def staging_files(job: ImportJob) -> list[Path]:
    return sorted(staging_dir(job).glob("chunk-*.tsv"))


def staging_load(
    *,
    job: ImportJob,
    model: type[models.Model],
    files: list[Path],
    on_progress: Callable[[int], None],
) -> int:
    """Load the chunk files into the model's staging table; return the rows loaded.

    Rows of an earlier attempt of the same job are deleted first, so a resumed job loads
    every row exactly once.
    """
    staging_clear(job=job, model=model)
    loaded = 0
    for path in files:
        if connection.vendor == "mysql":
            loaded += _load_data_infile(model, path)
        else:
            loaded += _insert_batches(model, path)
        on_progress(loaded)
    return loaded


class BackgroundLoader:
    """Load chunk files into a staging table on a second connection while validation goes on.

    Validation is Python work and LOAD DATA is the database's, so on MySQL and MariaDB
    the two overlap on two cores. Files load one at a time, in the order they were
    written. Only for a worker outside any transaction: the second connection cannot see
    rows that the first has not committed.
    """

    def __init__(self, *, job: ImportJob, model: type[models.Model]) -> None:
        self.model = model
        self.loaded = 0
        # time.monotonic() at which the file now loading started, None between files.
        self.loading_since: float | None = None
        self._pending: list[Future] = []
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="staging-load")
        # Rows of an earlier attempt of the same job go before any file of this one loads.
        staging_clear(job=job, model=model)

    @staticmethod
    def usable() -> bool:
        return connection.vendor == "mysql" and not connection.in_atomic_block

    def submit(self, path: Path) -> None:
        self._pending.append(self._executor.submit(self._load, path))

    def _load(self, path: Path) -> int:
        self.loading_since = time.monotonic()
        try:
            return _load_data_infile(self.model, path)
        finally:
            self.loading_since = None

    def rows_loaded(self) -> int:
        """Return the rows of the files that have finished loading so far."""
        return sum(
            future.result() for future in self._pending
            if future.done() and not future.cancelled() and future.exception() is None
        )

    def wait(self, on_progress: Callable[[int], None]) -> int:
        """Wait for every submitted file, reporting rows loaded; return the rows loaded."""
        try:
            for future in self._pending:
                self.loaded += future.result()
                on_progress(self.loaded)
            return self.loaded
        finally:
            self.close()

    def close(self) -> None:
        """Cancel the files not started, wait for the one loading, and close the connection."""
        if self._executor is None:
            return
        for future in self._pending:
            future.cancel()
        self._pending = []
        self._executor.submit(connections.close_all).result()
        self._executor.shutdown(wait=True)
        self._executor = None


def _load_data_infile(model: type[models.Model], path: Path) -> int:
    columns = ", ".join(connection.ops.quote_name(column) for column in staged_columns(model))
    table = connection.ops.quote_name(model._meta.db_table)
    sql = (
        f"LOAD DATA LOCAL INFILE %s INTO TABLE {table} CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
        f"({columns})"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [str(path)])
        count = cursor.rowcount
        cursor.execute("SHOW WARNINGS LIMIT 5")
        warnings = cursor.fetchall()
    if warnings:
        # Rows were validated before staging, so a warning means a bug, not bad input.
        raise RuntimeError(f"LOAD DATA of {path.name} into {table} reported {warnings!r}")
    return count


def _read_rows(path: Path) -> Iterator[list[str | None]]:
    with path.open(encoding="utf-8", newline="\n") as handle:
        for line in handle:
            yield [_decode(cell) for cell in line.rstrip("\n").split("\t")]


def _insert_batches(model: type[models.Model], path: Path) -> int:
    columns = staged_columns(model)
    table = connection.ops.quote_name(model._meta.db_table)
    placeholders = ", ".join(["%s"] * len(columns))
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    sql = f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})"
    count = 0
    batch: list[list[str | None]] = []
    with connection.cursor() as cursor:
        for row in _read_rows(path):
            batch.append(row)
            if len(batch) >= INSERT_BATCH_ROWS:
                with transaction.atomic():
                    cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            with transaction.atomic():
                cursor.executemany(sql, batch)
            count += len(batch)
    return count


def staging_clear(*, job: ImportJob, model: type[models.Model]) -> None:
    """Delete a job's staged rows in short batches."""
    if connection.vendor == "mysql":
        _delete_limited(model, job)
        return
    while True:
        numbers = list(
            model.objects.filter(job=job).order_by("row_number")
            .values_list("row_number", flat=True)[:DELETE_BATCH_ROWS]
        )
        if not numbers:
            break
        model.objects.filter(job=job, row_number__in=numbers).delete()


def _delete_limited(model: type[models.Model], job: ImportJob) -> None:
    # DELETE ... LIMIT finds the rows through the (job, row_number) index itself, where
    # fetching ids first sends each id to the server and back.
    table = connection.ops.quote_name(model._meta.db_table)
    job_column = connection.ops.quote_name(model._meta.get_field("job").column)
    sql = f"DELETE FROM {table} WHERE {job_column} = %s LIMIT {DELETE_BATCH_ROWS}"
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [job.pk])
            deleted = cursor.rowcount
        if deleted < DELETE_BATCH_ROWS:
            break


def staging_remove_files(*, job: ImportJob) -> None:
    shutil.rmtree(staging_dir(job), ignore_errors=True)
