"""The base of every import kind: column binding, format detection and row error collection."""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import models

from imports.columns import ColumnMatch, columns_match
from imports.models import ImportJob, ImportRowError
from imports.pipeline.progress import ProgressReporter
from imports.problems import ImportErrorCode, ValueProblem
from imports.readers import RawRow, Table
from imports.values import DateOrderDetector, NumberStyleDetector, decimal_parse, percent_parse
from imports.values.cells import cell_is_empty

MAX_REPORTED_VALUE_CHARS = 500
# Amount columns hold 12 digits with 2 decimals.
MAX_AMOUNT = Decimal("10000000000")
CENT = Decimal("0.01")


@dataclass
class ChunkResult:
    staged: list[tuple] = field(default_factory=list)
    errors: list[ImportRowError] = field(default_factory=list)
    rows_ok: int = 0
    rows_bad: int = 0
    store_ids: set[int] = field(default_factory=set)


class RowErrors:
    """The problems found in one row; a row with any problem is not staged."""

    def __init__(self, handler: "KindHandler", raw: RawRow) -> None:
        self.handler = handler
        self.raw = raw
        self.items: list[ImportRowError] = []

    def add(self, column: str, value: object, code: str, message: str) -> None:
        self.items.append(
            ImportRowError(
                job_id=self.handler.job.pk,
                row_number=self.raw.number,
                column=self.handler.header_name(column),
                value=_text(value)[:MAX_REPORTED_VALUE_CHARS],
                code=str(code),
                message=message,
                cells=[_text(cell) for cell in self.raw.cells],
            )
        )

    def add_problem(self, column: str, value: object, problem: ValueProblem) -> None:
        self.add(column, value, problem.code, problem.message)

    def __bool__(self) -> bool:
        return bool(self.items)


def _text(value: object) -> str:
    if value is None:
        return ""
    return str(value)


class KindHandler:
    """Base of the per-kind row validation and finalization.

    Subclasses set ``kind``, ``staged_model``, ``number_fields`` and ``date_fields`` and
    implement ``validate_chunk``, ``finalize_total`` and ``finalize``.
    """

    kind: str
    staged_model: type[models.Model]
    number_fields: tuple[str, ...] = ()
    date_fields: tuple[str, ...] = ()

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.match: ColumnMatch | None = None
        self.table: Table | None = None
        self.number_style = NumberStyleDetector()
        self.date_order = DateOrderDetector()
        self.notes: list[str] = []
        self.counters: dict[str, int] = {}

    # Parsing phase.

    def columns_bind(self, table: Table) -> None:
        """Match the file's header to this kind's fields; raises ImportFileError."""
        self.table = table
        self.match = columns_match(
            table.header, self.kind, self.job.options.get("column_map"),
            has_default_store=self.job.default_store_id is not None,
        )
        self.notes += self.match.notes
        self.columns_check()

    def columns_check(self) -> None:
        """Raise ImportJobFailed when the bound columns cannot work for this job."""

    def observe(self, raw: RawRow) -> None:
        """Feed one row's number and date cells to the per-file format detectors."""
        if raw.error is not None:
            return
        for name in self.number_fields:
            value = self.cell(raw, name)
            if value is not None:
                self.number_style.observe(value)
        for name in self.date_fields:
            value = self.cell(raw, name)
            if value is not None:
                self.date_order.observe(value)

    def formats_decide(self) -> None:
        """Fix the file's decimal separator and date order; raises ImportFileError on conflict."""
        number_style = self.number_style.decide()
        date_order = self.date_order.decide()
        self.style = number_style.style
        self.order = date_order.order
        self.notes += [note for note in (number_style.note, date_order.note) if note]

    # Cells.

    def has_column(self, name: str) -> bool:
        return name in self.match.indexes

    def header_name(self, name: str) -> str:
        index = self.match.indexes.get(name) if self.match else None
        if index is None or self.table is None:
            return name
        return self.table.header[index]

    def cell(self, raw: RawRow, name: str) -> object:
        """Return the row's cell of a field, stripped when text; None when there is none."""
        index = self.match.indexes.get(name)
        if index is None or index >= len(raw.cells):
            return None
        value = raw.cells[index]
        if cell_is_empty(value):
            return None
        return value.strip() if isinstance(value, str) else value

    def parse(self, raw: RawRow, errors: RowErrors, name: str, parser: Callable, *,
              required: bool = False, default: object = None) -> object:
        """Parse one cell with ``parser``, recording a problem instead of raising."""
        value = self.cell(raw, name)
        if value is None:
            if required:
                errors.add(name, "", ImportErrorCode.VALUE_MISSING,
                           f"Row {raw.number} has no {self.header_name(name)}. Fill it in or "
                           "remove the row.")
            return default
        try:
            return parser(value)
        except ValueProblem as problem:
            errors.add_problem(name, value, problem)
            return default

    def money(self, value: object) -> Decimal:
        """Parse an amount with the file's number style, rounded half up to cents."""
        amount = decimal_parse(value, self.style, places=2)
        if abs(amount) >= MAX_AMOUNT:
            raise ValueProblem(
                ImportErrorCode.NUMBER_INVALID,
                f"Amount {value} is too large; amounts stay below {MAX_AMOUNT:,}. Check the column.",
            )
        return amount

    def percent(self, value: object) -> Decimal:
        """Parse a percentage from 0 to 100 with the file's number style, to two decimals."""
        return percent_parse(value, self.style).quantize(CENT, rounding=ROUND_HALF_UP)

    def read_error(self, raw: RawRow) -> RowErrors | None:
        """Return the reader's problem with a row as row errors, or None when it read fine."""
        if raw.error is None:
            return None
        errors = RowErrors(self, raw)
        errors.add("", "", raw.error.code, raw.error.message)
        return errors

    def count(self, name: str, amount: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + amount

    def summary(self) -> dict:
        """Return what the job's summary shows about this run."""
        data: dict = {"notes": list(self.notes), **self.counters}
        if self.match is not None:
            data["ignored_columns"] = list(self.match.ignored)
            data["columns"] = {name: self.header_name(name) for name in self.match.indexes}
        if self.table is not None:
            data["header"] = list(self.table.header)
        return data

    # Validation and finalization, per kind.

    def validate_chunk(self, rows: list[RawRow]) -> ChunkResult:
        raise NotImplementedError

    def finalize_total(self) -> int:
        raise NotImplementedError

    def finalize(self, *, reporter: ProgressReporter, cancel_check: Callable[[], None]) -> None:
        raise NotImplementedError
