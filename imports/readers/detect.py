"""Tell a CSV or TSV text from an XLSX workbook by content, and the text's encoding.

File names are not trusted: people rename exports, and some systems save HTML or a
legacy .xls under any name. Everything that is neither readable text nor an XLSX
workbook is rejected with a message naming what the file looks like.
"""

import codecs
import re
import zipfile
from pathlib import Path

from imports.problems import ImportErrorCode, ImportFileError

# Bytes read to decide the kind and the encoding of a file.
PREFIX_BYTES = 64 * 1024

# Share of control characters above which decoded "text" is taken for binary data.
# Random or compressed bytes decode to about 11% C0 controls, and text files have almost
# none. The minimum count keeps a stray NUL byte (a row problem) from failing the file.
BINARY_CONTROL_SHARE = 0.05
BINARY_CONTROL_MIN = 8

# C0 and C1 control characters except tab, line feed, vertical tab, form feed and return.
_CONTROL_CHARS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")

_SAVE_AS_HINT = "Save the data as CSV or XLSX in the program that made it and upload that file."

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", f"The file is a PDF document, not a table of data. {_SAVE_AS_HINT}"),
    (b"\x89PNG\r\n\x1a\n", f"The file is a PNG image, not a table of data. {_SAVE_AS_HINT}"),
    (b"\xff\xd8\xff", f"The file is a JPEG image, not a table of data. {_SAVE_AS_HINT}"),
    (b"GIF87a", f"The file is a GIF image, not a table of data. {_SAVE_AS_HINT}"),
    (b"GIF89a", f"The file is a GIF image, not a table of data. {_SAVE_AS_HINT}"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "The file is a legacy Excel 97-2003 workbook (.xls), another Office 97-2003 "
        "document, or a password-protected workbook. Open it in Excel or LibreOffice, "
        "remove any password and save it as .xlsx or CSV, then upload that file.",
    ),
    (
        b"\x1f\x8b",
        "The file is a gzip archive. Extract the CSV or XLSX file and upload it.",
    ),
    (
        b"7z\xbc\xaf\x27\x1c",
        "The file is a 7-Zip archive. Extract the CSV or XLSX file and upload it.",
    ),
    (b"Rar!\x1a\x07", "The file is a RAR archive. Extract the CSV or XLSX file and upload it."),
)

_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")


def file_kind_detect(path: Path) -> str:
    """Return "xlsx" or "csv" (CSV and TSV) from the content of the file.

    Raises ImportFileError for anything else, for example a PDF, an image, a ZIP archive
    that is not a workbook, a legacy .xls file or an HTML page.
    """
    with path.open("rb") as stream:
        prefix = stream.read(PREFIX_BYTES)
        complete = not stream.read(1)

    for signature, message in _SIGNATURES:
        if prefix.startswith(signature):
            raise ImportFileError(ImportErrorCode.FILE_UNSUPPORTED, message)
    if prefix.startswith(_ZIP_SIGNATURES):
        _zip_require_xlsx(path)
        return "xlsx"

    encoding = encoding_detect(prefix, complete=complete)
    text = prefix_decode(prefix, encoding, complete=complete)
    _text_require_table(text, encoding)
    return "csv"


def encoding_detect(prefix: bytes, *, complete: bool) -> str:
    """Return the Python codec for a text file, decided from its first bytes.

    A byte order mark wins: "utf-8-sig" (the mark is dropped when decoding) or "utf-16".
    UTF-16 without a mark is recognised by its NUL bytes. Otherwise the prefix must
    decode as "utf-8", else the file is read as Windows-1252 ("cp1252"). `complete` is
    True when the prefix is the whole file. Otherwise a multibyte character cut at the
    end of the prefix does not count against UTF-8.
    """
    if prefix.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if prefix.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"

    utf16 = _utf16_without_mark(prefix)
    if utf16:
        return utf16

    try:
        codecs.getincrementaldecoder("utf-8")().decode(prefix, final=complete)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def prefix_decode(prefix: bytes, encoding: str, *, complete: bool) -> str:
    """Decode the first bytes of a file, leaving out a character cut at the end."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(prefix, final=complete)


def encoding_label(encoding: str) -> str:
    """Return the name people know an encoding by, for messages."""
    return {
        "utf-8": "UTF-8",
        "utf-8-sig": "UTF-8",
        "utf-16": "UTF-16",
        "utf-16-le": "UTF-16",
        "utf-16-be": "UTF-16",
        "cp1252": "Windows-1252",
    }.get(encoding, encoding)


def _utf16_without_mark(prefix: bytes) -> str | None:
    # Text of Latin letters in UTF-16 has a NUL in every other byte, and the half that
    # contains them gives the byte order. Other text has too few NULs to come near the threshold.
    sample = prefix[:4096]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even_nuls = sample[0 : pairs * 2 : 2].count(0)
    odd_nuls = sample[1 : pairs * 2 : 2].count(0)
    if odd_nuls >= pairs * 0.4 and even_nuls <= pairs * 0.05:
        return "utf-16-le"
    if even_nuls >= pairs * 0.4 and odd_nuls <= pairs * 0.05:
        return "utf-16-be"
    return None


def _text_require_table(text: str, encoding: str) -> None:
    lowered = text.lstrip("\ufeff \t\r\n").lower()
    if lowered.startswith(("<!doctype html", "<html")):
        raise ImportFileError(
            ImportErrorCode.FILE_UNSUPPORTED,
            "The file is a web page (HTML), which some systems save under an .xls or .csv "
            f"name. {_SAVE_AS_HINT}",
        )
    if lowered.startswith("<?xml") and "urn:schemas-microsoft-com:office:spreadsheet" in lowered:
        raise ImportFileError(
            ImportErrorCode.FILE_UNSUPPORTED,
            "The file is an Excel 2003 XML spreadsheet. Open it in Excel or LibreOffice, "
            "save it as .xlsx or CSV and upload that file.",
        )

    controls = len(_CONTROL_CHARS.findall(text))
    if not encoding.startswith("utf"):
        # Windows-1252 leaves five byte values undefined, and "replace" decoding marks them.
        controls += text.count("\ufffd")
    if controls >= BINARY_CONTROL_MIN and controls > len(text) * BINARY_CONTROL_SHARE:
        raise ImportFileError(
            ImportErrorCode.FILE_UNSUPPORTED,
            f"The file contains binary data, not {encoding_label(encoding)} text, so it is "
            f"neither a CSV nor an XLSX file. {_SAVE_AS_HINT}",
        )


def _zip_require_xlsx(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError) as error:
        raise ImportFileError(
            ImportErrorCode.FILE_CORRUPT,
            f"The file starts like a ZIP archive or XLSX workbook but cannot be opened ({error}). "
            "Save it again from the spreadsheet program and upload the new file.",
        ) from error

    if "xl/workbook.xml" in names:
        return
    if "xl/workbook.bin" in names:
        message = (
            "The file is a binary Excel workbook (.xlsb). Open it in Excel, save it as .xlsx "
            "(Excel Workbook) or CSV and upload that file."
        )
    elif "content.xml" in names and "mimetype" in names:
        message = (
            "The file is an OpenDocument file (.ods, LibreOffice). Save it as .xlsx or CSV "
            "and upload that file."
        )
    elif "word/document.xml" in names:
        message = f"The file is a Word document, not a table of data. {_SAVE_AS_HINT}"
    else:
        message = (
            "The file is a ZIP archive that is not an Excel workbook. Upload the CSV or "
            "XLSX file itself instead of an archive."
        )
    raise ImportFileError(ImportErrorCode.FILE_UNSUPPORTED, message)
