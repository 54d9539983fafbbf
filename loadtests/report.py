"""Turn a load test's request samples into the before/during table and the verdict."""

import csv
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

IMPORT_PREFIX = "import: "
# Users log in and the first pages warm the caches while Locust spawns them.
WARMUP_SECONDS = 20
WINDOWS = ("before", "during")


@dataclass
class Verdict:
    summary: str
    problems: list[str] = field(default_factory=list)


def percentile(sorted_values: list[float], share: float) -> float:
    """Return the nearest-rank percentile of an ascending list (share 0.95 for p95)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def report_write(*, samples: Path, timeline: Path, setup: dict, folder: Path) -> Verdict:
    records = [json.loads(line) for line in samples.read_text().splitlines() if line]
    events = [json.loads(line) for line in timeline.read_text().splitlines() if line] \
        if timeline.exists() else []
    marks = {event["event"]: event for event in events}
    starts = [event for event in events if event["event"] == "import_started"]
    finishes = [event for event in events if event["event"] == "import_finished"]
    problems = []

    posted = marks.get("import_posted", {}).get("t")
    finished = finishes[-1] if finishes else None
    if posted is None:
        problems.append("the imports were never posted")
    for event in events:
        if event["event"] in ("import_refused", "import_timed_out"):
            problems.append(f"an import was {event['event'].removeprefix('import_')}: "
                            f"{event.get('status', '')} {event.get('body', '')}".strip())
    if len(finishes) < len(starts) or not finishes:
        problems.append(f"{len(finishes)} of {len(starts)} imports finished within the run")
    problems += [f"an import ended as {event['status']}" for event in finishes
                 if event["status"] != "done"]
    start = min((record["t"] for record in records), default=0) + WARMUP_SECONDS
    end_of_import = finished["t"] if finished else math.inf

    rows = _rows(records, start=start, posted=posted or math.inf, finished=end_of_import)
    budget = setup["budget_p95_ms"]
    for row in rows:
        if row["failures"]:
            problems.append(f"{row['endpoint']}: {row['failures']} failed requests ({row['window']})")
        if row["window"] == "during" and IMPORT_PREFIX not in row["endpoint"] \
                and row["p95_ms"] > budget:
            problems.append(f"{row['endpoint']}: p95 {row['p95_ms']:.0f} ms during the import, "
                            f"over the {budget} ms budget")
    if not any(row["window"] == "during" for row in rows):
        problems.append("no requests were measured while the import ran")

    import_info = {
        "posted_at": _iso(posted), "finished_at": _iso(finished["t"]) if finished else None,
        "count": len(finishes),
        "seconds_each": [round(end["t"] - begin["t"], 1) for begin, end in zip(starts, finishes)],
        "window_seconds": round(finished["t"] - posted, 1) if finished and posted else None,
        "statuses": [event["status"] for event in finishes],
        "rows_ok": [event.get("rows_ok") for event in finishes],
        "rows_bad": [event.get("rows_bad") for event in finishes],
        "phase_timings": [event.get("phase_timings") for event in finishes],
    }
    folder.mkdir(parents=True, exist_ok=True)
    _csv_write(folder / "loadtest.csv", rows)
    (folder / "loadtest.json").write_text(json.dumps(
        {"setup": setup, "import": import_info, "endpoints": rows, "problems": problems},
        indent=1, allow_nan=False, default=str,
    ) + "\n")
    (folder / "loadtest.md").write_text(_markdown(setup, import_info, rows, problems))
    summary = (f"{len(records)} requests, {import_info['count']} imports in "
               f"{import_info['window_seconds']} s ({import_info['seconds_each']}), "
               f"{len(problems)} problems")
    return Verdict(summary=summary, problems=problems)


def _rows(records: list[dict], *, start: float, posted: float, finished: float) -> list[dict]:
    grouped: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        if record["t"] < start and IMPORT_PREFIX not in record["name"]:
            continue
        if record["t"] < posted:
            window = "before"
        elif record["t"] <= finished:
            window = "during"
        else:
            continue
        grouped.setdefault((record["name"], window), []).append(record)
    rows = []
    for (name, window), group in sorted(grouped.items()):
        times = sorted(record["ms"] for record in group)
        rows.append({
            "endpoint": name, "window": window, "requests": len(group),
            "failures": sum(1 for record in group if not record["ok"]),
            "p50_ms": round(percentile(times, 0.50), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
            "p99_ms": round(percentile(times, 0.99), 1),
        })
    return rows


def _csv_write(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["endpoint"])
        writer.writeheader()
        writer.writerows(rows)


def _markdown(setup: dict, import_info: dict, rows: list[dict], problems: list[str]) -> str:
    machine = setup["machine"]
    lines = [
        "# Load test: everyday calls while a 100k-row import runs",
        "",
        "Written by `make loadtest` (loadtests/run.py); do not edit by hand. "
        "docs/performance/README.md explains the setup and how to run it.",
        "",
        f"- Run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"{setup['users']} store staff users for {setup['seconds']} s, the import posted after "
        f"{setup['import_after_seconds']} s; {setup['web_processes']} daphne processes.",
        f"- Machine: {machine['cpus']} CPUs, {machine['memory_gib']} GiB, Python {machine['python']}, "
        f"{machine['system']}; load average {machine['load_average_at_start']:.2f} at the start.",
        f"- Imports: {import_info['count']} stock counts of {setup['import_rows']:,} rows, one "
        f"after the other, in {import_info['window_seconds']} s; each took "
        f"{', '.join(f'{seconds} s' for seconds in import_info['seconds_each'])} "
        f"({', '.join(import_info['statuses'])}; rows ok {import_info['rows_ok']}, "
        f"bad {import_info['rows_bad']}).",
        f"- Budget: p95 at or under {setup['budget_p95_ms']} ms for every everyday endpoint "
        "during the import, and no failed request.",
        f"- Verdict: **{'FAIL' if problems else 'PASS'}**",
        "",
    ]
    if problems:
        lines += ["Problems:", ""] + [f"- {problem}" for problem in problems] + [""]
    lines += [
        "Times in milliseconds. *before*: from the end of the warm-up (the first "
        f"{WARMUP_SECONDS} s) to the first upload; *during*: from the first upload to the end "
        "of the last import.",
        "",
        "| endpoint | requests before | p50 | p95 | p99 | requests during | p50 | p95 | p99 "
        "| failures |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    by_endpoint: dict[str, dict[str, dict]] = {}
    for row in rows:
        by_endpoint.setdefault(row["endpoint"], {})[row["window"]] = row
    for endpoint, windows in by_endpoint.items():
        cells = [f"`{endpoint}`"]
        for window in WINDOWS:
            row = windows.get(window)
            cells += [str(row["requests"]), f"{row['p50_ms']:.0f}", f"{row['p95_ms']:.0f}",
                      f"{row['p99_ms']:.0f}"] if row else ["0", "", "", ""]
        cells.append(str(sum(row["failures"] for row in windows.values())))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "The same numbers: loadtest.csv and loadtest.json beside this file.", ""]
    return "\n".join(lines)


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")
