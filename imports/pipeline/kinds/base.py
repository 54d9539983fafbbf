"""The base of every import kind: column binding, format detection and row error collection."""

from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import models

from imports.columns import ColumnMatch, columns_match
from imports.models import ImportJob, ImportRowError
from imports.pipeline.progress import ProgressReporter
from imports.problems import ImportErrorCode, ImportFileError, ValueProblem
from imports.readers import RawRow, Table
from imports.values import DateOrderDetector, NumberStyleDetector, decimal_parse, percent_parse

MAX_REPORTED_VALUE_CHARS = 500
# Distinct values per field whose parse outcome is remembered, and whose format evidence
# was already observed. Files repeat store codes, SKUs, quantities, prices and dates on
# thousands of rows, so a few thousand entries per field skip most of the parsing.
MAX_REMEMBERED_VALUES = 20_000
# Amount columns hold 12 digits with 2 decimals.
MAX_AMOUNT = Decimal("10000000000")
CENT = Decimal("0.01")
# The checkpoint key of the finalize counts that committed with the chunks before it.
COUNTS_KEY = "counts"


# The outcome of an empty or missing cell, as parse() and column_parse() tell it apart
# from a parsed None.
EMPTY = object()
_NOT_FOUND = object()


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


def values_from_outcomes(
    names: Sequence[str], outcomes: Sequence[object], *, required: Container[str],
    defaults: Mapping[str, object] | None = None,
) -> dict | None:
    """Return a row's values by field from column_parse() outcomes, or None if one has a problem.

    An empty cell of a ``required`` field is a problem. Another empty cell takes its
    field's value in ``defaults``, else None.
    """
    values = {}
    for name, outcome in zip(names, outcomes):
        if outcome is EMPTY:
            if name in required:
                return None
            outcome = defaults.get(name) if defaults else None
        elif isinstance(outcome, ValueProblem):
            return None
        values[name] = outcome
    return values


def _text(value: object) -> str:
    """Return a cell as the error report shows it; a NUL byte shows as the symbol for null."""
    if value is None:
        return ""
    return str(value).replace("\x00", "\u2400")


class KindHandler:
    """Base of the per-kind row validation and finalization.

    Subclasses set ``kind``, ``staged_model``, ``number_fields`` and ``date_fields`` and
    implement ``validate_chunk``, ``finalize_total`` and ``finalize``.
    """

    kind: str
    staged_model: type[models.Model]
    number_fields: tuple[str, ...] = ()
    date_fields: tuple[str, ...] = ()
    # Fields whose values are mostly unique per row (serials, receipt numbers), where
    # remembering parse outcomes would only cost memory.
    distinct_fields: tuple[str, ...] = ()
    # True when validate_chunk() needs no chunk before it, so that a second process may
    # validate the later rows of a file at the same time.
    splits_validation = False

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.match: ColumnMatch | None = None
        self.table: Table | None = None
        self.number_style = NumberStyleDetector()
        self.date_order = DateOrderDetector()
        self.notes: list[str] = []
        self.counters: dict[str, int] = {}
        self._parsed: dict[str, dict | None] = {}
        self._observed_columns: list[tuple[int, set[str], object]] | None = None

    # Parsing phase.

    def columns_bind(self, table: Table) -> None:
        """Match the file's header to this kind's fields; raises ImportFileError."""
        if not table.header:
            raise ImportFileError(
                ImportErrorCode.FILE_EMPTY,
                "The file contains only empty lines, so it has no header row and nothing to "
                "import. Check that this is the right file (and for a workbook, the right "
                "sheet), then upload it again.",
            )
        self.table = table
        # The header goes into the summary before matching, so a job that fails on its
        # columns still names them for a column map.
        self.job.summary = {**self.job.summary, "header": list(table.header)}
        self.match = columns_match(
            table.header, self.kind, self.job.options.get("column_map"),
            has_default_store=self.job.default_store_id is not None,
        )
        self.notes += self.match.notes
        self.columns_check()

    def columns_check(self) -> None:
        """Raise ImportJobFailed when the bound columns cannot work for this job."""

    def observe(self, raw: RawRow) -> None:
        """Feed one row's number and date cells to the per-file format detectors.

        A value the detector has already seen adds no evidence, so repeated text values
        are skipped. This runs once per row of the file, so it reads the cells itself
        instead of through cell().
        """
        if raw.error is not None:
            return
        if self._observed_columns is None:
            self._observed_columns = self._observed_columns_find()
        cells = raw.cells
        for index, seen, detector in self._observed_columns:
            if index >= len(cells):
                continue
            value = cells[index]
            if type(value) is str:
                # The test of cell_is_empty(): text of only whitespace is empty.
                value = value.strip()
                if not value or value in seen:
                    continue
                if len(seen) < MAX_REMEMBERED_VALUES:
                    seen.add(value)
            elif value is None:
                continue
            detector.observe(value)

    def _observed_columns_find(self) -> list[tuple[int, set[str], object]]:
        """Return the index, the text values seen so far and the detector of each observed column."""
        columns = []
        for names, detector in ((self.number_fields, self.number_style),
                                (self.date_fields, self.date_order)):
            for name in names:
                index = self.match.indexes.get(name)
                if index is not None:
                    columns.append((index, set(), detector))
        return columns

    def rows_observed(self) -> None:
        """Finish observing, after observe() has seen every row of the file."""

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
        if isinstance(value, str):
            # The test of cell_is_empty(): text of only whitespace is empty.
            return value.strip() or None
        return value

    def parse(self, raw: RawRow, errors: RowErrors, name: str, parser: Callable, *,
              required: bool = False, default: object = None) -> object:
        """Parse one cell with ``parser``, recording a problem instead of raising."""
        index = self.match.indexes.get(name)
        value = raw.cells[index] if index is not None and index < len(raw.cells) else None
        outcome = self._outcome(name, value, parser)
        if outcome is EMPTY:
            if required:
                errors.add(name, "", ImportErrorCode.VALUE_MISSING,
                           f"Row {raw.number} has no {self.header_name(name)}. Fill it in or "
                           "remove the row.")
            return default
        if isinstance(outcome, ValueProblem):
            errors.add_problem(name, value.strip() if isinstance(value, str) else value, outcome)
            return default
        return outcome

    def column_parse(self, rows: list[RawRow], name: str, parser: Callable) -> list[object]:
        """Parse a field's cell in each row, the way parse() does, without recording problems.

        Returns one outcome per row: the parsed value, EMPTY when the cell is empty or
        missing, or the ValueProblem that parsing raised. A caller handles rows without
        problems from these outcomes and parses the others again with parse(), which
        records each problem with its message.
        """
        index = self.match.indexes.get(name)
        if index is None:
            return [EMPTY] * len(rows)
        cells = [raw.cells[index] if index < len(raw.cells) else None for raw in rows]
        remembered = self._remembered(name)
        if remembered is None:
            return [self._outcome(name, value, parser) for value in cells]

        found = remembered.get
        outcomes = [
            found(value if type(value) is str else (type(value), value), _NOT_FOUND)
            for value in cells
        ]
        for position, outcome in enumerate(outcomes):
            if outcome is _NOT_FOUND:
                outcomes[position] = self._outcome(name, cells[position], parser)
        return outcomes

    def _remembered(self, name: str) -> dict | None:
        try:
            return self._parsed[name]
        except KeyError:
            remembered = self._parsed[name] = None if name in self.distinct_fields else {}
            return remembered

    def _outcome(self, name: str, value: object, parser: Callable) -> object:
        """Return a raw cell parsed, EMPTY, or the ValueProblem that parsing raised.

        A field is always parsed by the same parser, and parsers depend only on the cell
        and on the file's formats, so the outcome of a cell value is remembered per field.
        """
        remembered = self._remembered(name)
        # 1, 1.0 and True are equal keys, but parsers treat the types differently.
        key = value if type(value) is str else (type(value), value)
        if remembered is not None:
            outcome = remembered.get(key, _NOT_FOUND)
            if outcome is not _NOT_FOUND:
                return outcome

        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            outcome = EMPTY
        else:
            try:
                outcome = parser(value)
            except ValueProblem as problem:
                outcome = problem
        if remembered is not None and len(remembered) < MAX_REMEMBERED_VALUES:
            remembered[key] = outcome
        return outcome

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

    def checkpoint_save(self, counts: Mapping[str, int] | None = None, **values) -> None:
        """Merge ``values`` and a finalize chunk's ``counts`` into the job's checkpoint.

        Call it inside the chunk's transaction, after the chunk's writes: the checkpoint
        and the counts then commit with the chunk or not at all, so the counts of a job
        that resumed from its checkpoint add up to those of a run without the resume.
        The job row is read under its lock, so two writers that run at once (a stock
        count's plain pairs and serial rows) each keep the other's keys and counts.
        """
        stored = (
            ImportJob.objects.select_for_update().filter(pk=self.job.pk)
            .values_list("checkpoint", flat=True).get()
        )
        checkpoint = {**(stored or {}), **values}
        if counts:
            totals = dict(checkpoint.get(COUNTS_KEY) or {})
            for name, amount in counts.items():
                totals[name] = totals.get(name, 0) + amount
            checkpoint[COUNTS_KEY] = totals
        self.job.checkpoint = checkpoint
        ImportJob.objects.filter(pk=self.job.pk).update(checkpoint=checkpoint)

    def finalize_counts(self) -> dict[str, int]:
        """Return the counts that the finalize chunks committed with the job's checkpoint."""
        stored = ImportJob.objects.filter(pk=self.job.pk).values_list("checkpoint", flat=True).get()
        return dict((stored or {}).get(COUNTS_KEY) or {})

    def summary(self) -> dict:
        """Return what parsing and validation learned about the file, with this run's counters."""
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
