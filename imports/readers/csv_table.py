"""Stream CSV and TSV files with the csv module, one record at a time.

The encoding and the delimiter are decided once per file from its first 64 KB. Records
that cannot be split into the header's columns become rows with a RowProblem, so one
bad line never aborts the file.
"""

import codecs
import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

from imports.problems import ImportErrorCode, ImportFileError, RowProblem
from imports.readers.detect import PREFIX_BYTES, encoding_detect, encoding_label, prefix_decode
from imports.readers.table import RawRow, Table, header_require_names

# Candidates in order of preference when two split the header equally well.
DELIMITERS = (",", ";", "\t", "|")

# Records after the header that the delimiter sniffer compares with it.
SNIFF_RECORDS = 50

# Bytes that are not valid in the file's encoding become lone surrogates U+DC00 to
# U+DCFF, one per byte, so that the record can be flagged instead of failing the file.
# "surrogateescape" does this for bytes from 0x80 only, but UTF-16 fails on lower ones.
_UNDECODABLE_ERRORS = "imports_undecodable"
_UNDECODABLE = re.compile("[\udc00-\udcff]")


def _undecodable_as_surrogates(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    undecodable = error.object[error.start : error.end]
    return "".join(chr(0xDC00 + byte) for byte in undecodable), error.end


codecs.register_error(_UNDECODABLE_ERRORS, _undecodable_as_surrogates)


class CsvTable(Table):
    def __init__(self, path: Path, *, encoding: str, delimiter: str) -> None:
        self.path = path
        self.encoding = encoding
        self.delimiter = delimiter
        self.format = "tsv" if delimiter == "\t" else "csv"
        self.header = []
        self.header_line = 0

        records = self._records()
        first = next(records, None)
        records.close()
        if first is None:
            return
        number, fields, problem = first
        if problem is not None:
            raise ImportFileError(
                ImportErrorCode.HEADER_MISSING,
                f"The header on line {number} cannot be read. {problem.message}",
            )
        header_require_names(fields, f"Line {number}")
        self.header = [_UNDECODABLE.sub("\ufffd", name) for name in fields]
        self.header_line = number

    def rows_iter(self) -> Iterator[RawRow]:
        width = len(self.header)
        records = self._records()
        next(records, None)

        for number, fields, problem in records:
            # Fast path for the usual record: the header's width, no NUL and no surrogate
            # marking an undecodable byte. ASCII text has none, and str.isascii() is O(1).
            joined = "".join(fields)
            if (
                problem is None
                and len(fields) == width
                and "\x00" not in joined
                and (joined.isascii() or not _UNDECODABLE.search(joined))
            ):
                yield RawRow(number, fields, None)
                continue

            if problem is None:
                problem = _record_problem(number, fields, width, self.encoding)
            if problem is None and len(fields) > width:
                fields = fields[:width]
            if not joined.isascii():
                # Lone surrogates cannot be encoded, so they must not reach messages,
                # the error report or the database.
                fields = [_UNDECODABLE.sub("\ufffd", field) for field in fields]
            yield RawRow(number, fields, problem)

    def row_count(self) -> int:
        count = -1 if self.header else 0
        for _ in self._records():
            count += 1
        return count

    def _records(self) -> Iterator[tuple[int, list[str], RowProblem | None]]:
        """Yield (start line, fields, problem) for each record that is not empty.

        The header is the first record yielded. Lines are counted as the text stream
        splits them (LF, CRLF or CR), so a quoted field with line breaks moves the
        start line of the next record down by as many lines as it spans.
        """
        with self.path.open("rb") as raw:
            text = io.TextIOWrapper(
                raw, encoding=self.encoding, errors=_UNDECODABLE_ERRORS, newline=""
            )
            # strict=True reports a quote left open at the end of the file, where the
            # default would silently swallow every later line into one field.
            reader = csv.reader(text, delimiter=self.delimiter, strict=True)
            previous_line = 0
            while True:
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as error:
                    yield previous_line + 1, [], _csv_error_problem(previous_line + 1, error)
                    previous_line = reader.line_num
                    continue

                start = previous_line + 1
                previous_line = reader.line_num
                if (fields and fields[0].strip()) or any(field.strip() for field in fields):
                    yield start, fields, None


def csv_table_open(path: Path) -> CsvTable:
    """Open a CSV or TSV file: decide its encoding and delimiter and read the header."""
    with path.open("rb") as stream:
        prefix = stream.read(PREFIX_BYTES)
        complete = not stream.read(1)

    encoding = encoding_detect(prefix, complete=complete)
    sample = prefix_decode(prefix, encoding, complete=complete).lstrip("\ufeff")
    delimiter = delimiter_sniff(sample, complete=complete)
    return CsvTable(path, encoding=encoding, delimiter=delimiter)


def delimiter_sniff(sample: str, *, complete: bool) -> str:
    """Return the delimiter that splits the header into the most fields consistently.

    Each candidate splits the sample with the csv module, so delimiters inside quotes do
    not count. A candidate is consistent when at least half of the records after the
    header have the header's field count (or more, the extra fields empty). Consistent
    candidates win over inconsistent ones, then more header fields win, then the order
    of DELIMITERS. A header with one field gives a one-column file and ",".
    """
    if not complete:
        # The last line of a cut sample is probably incomplete.
        sample = sample[: max(sample.rfind("\n"), sample.rfind("\r")) + 1]

    best_key: tuple[bool, int, float, int] | None = None
    best = DELIMITERS[0]
    for preference, candidate in enumerate(DELIMITERS):
        records = _sample_records(sample, candidate)
        if not records or len(records[0]) < 2:
            continue

        width = len(records[0])
        following = records[1:]
        fitting = sum(1 for fields in following if _fits_width(fields, width))
        share = fitting / len(following) if following else 1.0
        key = (share >= 0.5, width, share, -preference)
        if best_key is None or key > best_key:
            best_key = key
            best = candidate
    return best


def _sample_records(sample: str, delimiter: str) -> list[list[str]]:
    records = []
    try:
        for fields in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
            if any(field.strip() for field in fields):
                records.append(fields)
            if len(records) > SNIFF_RECORDS:
                break
    except csv.Error:
        pass
    return records


def _fits_width(fields: list[str], width: int) -> bool:
    if len(fields) == width:
        return True
    return len(fields) > width and not any(fields[width:])


def _record_problem(number: int, fields: list[str], width: int, encoding: str) -> RowProblem | None:
    joined = "".join(fields)
    if "\x00" in joined:
        return RowProblem(
            ImportErrorCode.NUL_BYTE,
            f"Line {number} contains a NUL byte, which is not allowed in text. "
            "Remove the NUL byte from the line and import the file again.",
        )
    if _UNDECODABLE.search(joined):
        return RowProblem(
            ImportErrorCode.ENCODING,
            f"Line {number} contains bytes that are not valid {encoding_label(encoding)}, "
            "the encoding found at the start of the file. Save the whole file as UTF-8 and "
            "import it again.",
        )
    if _fits_width(fields, width):
        return None
    if len(fields) > width:
        hint = "Quote values that contain the delimiter."
    else:
        hint = "Add the missing fields, empty ones included, or remove the line."
    return RowProblem(
        ImportErrorCode.FIELD_COUNT,
        f"Line {number} has {len(fields)} fields where the header has {width}. {hint}",
    )


def _csv_error_problem(number: int, error: csv.Error) -> RowProblem:
    detail = str(error)
    if "field larger than field limit" in detail:
        return RowProblem(
            ImportErrorCode.FIELD_TOO_LONG,
            f"Line {number} has a field longer than {csv.field_size_limit()} characters, "
            "which usually means that a quote is not closed. Close the quote or shorten "
            "the value.",
        )
    if "unexpected end of data" in detail:
        message = (
            f"Line {number} opens a quote that is never closed, so the rest of the file "
            "could not be read. Close the quote."
        )
    elif "expected after" in detail:
        message = (
            f"Line {number} has text after the closing quote of a value. Put the whole value "
            'in quotes and double any quote inside it ("").'
        )
    else:
        message = f"Line {number} cannot be split into fields ({detail}). Check its quotes."
    return RowProblem(ImportErrorCode.QUOTE_INVALID, message)
