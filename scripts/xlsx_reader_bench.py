"""Measure XLSX reading speed and peak memory of openpyxl and python-calamine.

Usage, from the project root:

    .venv/bin/python scripts/xlsx_reader_bench.py [--rows 100000] [--file PATH]

The script writes a stock sheet of --rows data rows unless --file already exists. Its 8
columns hold text, 15-digit IMEI numbers, integers, decimals and date cells. Then it
reads the sheet once per engine, each in a fresh Python process, so that one engine's
memory does not inflate the next one's peak. Peak memory is the growth of the process's
maximum resident set size (ru_maxrss) during the read, so imports and interpreter
start-up are excluded.

Engines:
  openpyxl          openpyxl read-only mode, values only (streams the sheet XML)
  calamine          python-calamine CalamineSheet.iter_rows (loads the sheet first)
  reader-openpyxl   imports.readers.open_table with calamine_max_sheet_bytes=0 (openpyxl)
  reader-calamine   imports.readers.open_table without a sheet size limit (calamine for
                    the generated sheet, which passes the other checks)
"""

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("openpyxl", "calamine", "reader-openpyxl", "reader-calamine")


def sheet_write(path: Path, rows: int) -> None:
    """Write a stock sheet with a header and `rows` data rows."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("stock")
    sheet.append(["store_code", "sku", "serial", "qty", "cost", "status", "received_date", "note"])
    start = datetime.date(2024, 1, 1)
    for index in range(rows):
        sheet.append(
            [
                f"S{200 + index % 250}",
                f"PHN-A{index % 8}-128-BLK",
                350000000000000 + index * 7919,
                1 + index % 5,
                round(100 + (index % 1000) / 7, 2),
                "available",
                start + datetime.timedelta(days=index % 365),
                f"Batch {index // 1000}, pallet {index % 40}",
            ]
        )
    workbook.save(path)


def engine_run(engine: str, path: Path) -> dict:
    """Read every row of the first sheet with one engine and return rows, seconds and peak MB."""
    if engine.startswith("reader-"):
        sys.path.insert(0, str(PROJECT_ROOT))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ops_portal.settings")
        from imports.readers import open_table

        # A sheet size limit of 0 sends every sheet to openpyxl, and a huge one lets
        # calamine read any sheet that its other checks allow.
        limit = 0 if engine == "reader-openpyxl" else 2**62
        rows_read = _rows_count(
            lambda: open_table(path, calamine_max_sheet_bytes=limit).rows_iter()
        )
    elif engine == "openpyxl":
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        rows_read = _rows_count(lambda: sheet.iter_rows(values_only=True))
        workbook.close()
    elif engine == "calamine":
        from python_calamine import CalamineWorkbook

        def rows():
            workbook = CalamineWorkbook.from_path(str(path))
            return workbook.get_sheet_by_index(0).iter_rows()

        rows_read = _rows_count(rows)
    else:
        raise ValueError(f"Unknown engine {engine!r}; expected one of {', '.join(ENGINES)}.")
    return rows_read


def _rows_count(rows_factory) -> dict:
    baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()

    count = 0
    for _ in rows_factory():
        count += 1

    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rows": count, "seconds": seconds, "peak_mb": (peak_kb - baseline_kb) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--rows", type=int, default=100_000, help="data rows to generate (default 100000)"
    )
    parser.add_argument("--file", type=Path, help="sheet to read; generated when missing")
    parser.add_argument(
        "--engines", default=",".join(ENGINES), help="comma-separated engines to run"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()

    if arguments.child:
        print(json.dumps(engine_run(arguments.child, arguments.file)))
        return

    path = arguments.file or Path(tempfile.gettempdir()) / f"xlsx-bench-{arguments.rows}.xlsx"
    if not path.exists():
        started = time.perf_counter()
        sheet_write(path, arguments.rows)
        seconds = time.perf_counter() - started
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {seconds:.1f} s")

    print(f"{'engine':<16} {'rows':>8} {'seconds':>8} {'rows/s':>9} {'peak MB':>8}")
    for engine in arguments.engines.split(","):
        completed = subprocess.run(
            [sys.executable, __file__, "--child", engine, "--file", str(path)],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        rate = result["rows"] / result["seconds"]
        print(
            f"{engine:<16} {result['rows']:>8} {result['seconds']:>8.2f} {rate:>9.0f} "
            f"{result['peak_mb']:>8.1f}"
        )


if __name__ == "__main__":
    main()
