"""Run Lighthouse on Home and write docs/ui/lighthouse-home.json and docs/ui/README.md.

Run by `make lighthouse`. It starts the portal with the small demo data (see portal.py),
logs in as the demo store-staff user and passes the session cookie to Lighthouse (npm
package, pinned in package-lock.json) as an extra header. Lighthouse runs with the desktop
preset UI_LIGHTHOUSE_RUNS times (3 by default), and the run with the median performance
score is kept, because single runs vary. A Chromium pass then scrolls to the charts and
records what loads lazily.

Budgets: at most 200 KB (200,000 bytes) of JavaScript gzipped on first load, the charts
library not on first load, accessibility 100 and performance at least 90. The script
exits 1 when one is missed.
"""

import gzip
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from playwright.sync_api import sync_playwright

from portal import CHROMIUM_ARGS, CHROMIUM_PATH, DEMO_USERNAME, ROOT, Portal, \
    portal_running, session_cookie

OUTPUT_DIR = ROOT / "docs" / "ui"
LIGHTHOUSE = Path(__file__).resolve().parent / "node_modules" / ".bin" / "lighthouse"
RUNS = int(os.environ.get("UI_LIGHTHOUSE_RUNS", "3"))
LIGHTHOUSE_TIMEOUT_SECONDS = 240
ATTEMPTS = 3
CATEGORIES = ("performance", "accessibility", "best-practices")
JS_BUDGET_GZIP_BYTES = 200_000
MIN_SCORES = {"performance": 90, "accessibility": 100}
CHARTS_LIBRARY = "chart.umd"


@dataclass(frozen=True)
class Asset:
    path: str
    kind: str
    raw_bytes: int
    gzip_bytes: int
    transfer_bytes: int


def main() -> int:
    if not LIGHTHOUSE.exists():
        print(f"{LIGHTHOUSE} is missing; run `npm ci` in scripts/ui (make lighthouse does).")
        return 1
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    with portal_running() as portal:
        cookie = session_cookie(portal)
        reports = [_lighthouse_run(portal, cookie, number) for number in range(1, RUNS + 1)]
        reports.sort(key=lambda report: report["categories"]["performance"]["score"] or 0)
        report = reports[len(reports) // 2]
        performance_runs = [_score(each, "performance") for each in reports]
        first_load = _assets_first_load(portal, cookie, report)
        lazy = _assets_after_scroll(portal, cookie, {asset.path for asset in first_load})

    report_path = OUTPUT_DIR / "lighthouse-home.json"
    report_path.write_text(json.dumps(report, indent=1) + "\n")
    failures = _budget_failures(report, first_load)
    readme = _readme(report, performance_runs, first_load, lazy, failures)
    (OUTPUT_DIR / "README.md").write_text(readme)
    print(readme)
    for failure in failures:
        print(f"BUDGET MISSED: {failure}")
    return 1 if failures else 0


def _lighthouse_run(portal: Portal, cookie: str, number: int) -> dict:
    output = Path(portal.env["OPS_VAR_DIR"]) / f"lighthouse-{number}.json"
    command = [
        str(LIGHTHOUSE), f"{portal.url}/home/",
        "--preset=desktop",
        f"--only-categories={','.join(CATEGORIES)}",
        "--output=json", f"--output-path={output}",
        f"--chrome-flags={' '.join(CHROMIUM_ARGS)}",
        f"--extra-headers={json.dumps({'Cookie': f'sessionid={cookie}'})}",
        "--quiet",
    ]
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", CHROMIUM_PATH)}
    # Lighthouse sometimes fails to record the trace on a busy machine (NO_NAVSTART) and
    # reports that it should be run again.
    for attempt in range(1, ATTEMPTS + 1):
        print(f"Lighthouse run {number} of {RUNS}, attempt {attempt}", flush=True)
        finished = subprocess.run(command, env=env, timeout=LIGHTHOUSE_TIMEOUT_SECONDS)
        if finished.returncode == 0:
            break
    else:
        raise RuntimeError(
            f"Lighthouse failed {ATTEMPTS} times; its output above shows the error."
        )
    report = json.loads(output.read_text())
    final_url = report.get("finalDisplayedUrl") or report.get("finalUrl", "")
    if "/home/" not in final_url:
        raise RuntimeError(
            f"Lighthouse ended at {final_url} instead of /home/, so the session cookie "
            "was not accepted. Check that the demo user can log in."
        )
    if report.get("runtimeError"):
        raise RuntimeError(f"Lighthouse failed: {report['runtimeError']}")
    return report


def _score(report: dict, category: str) -> int:
    return round((report["categories"][category]["score"] or 0) * 100)


def _assets_first_load(portal: Portal, cookie: str, report: dict) -> list[Asset]:
    """Return the scripts and style sheets of Lighthouse's page load."""
    items = report["audits"]["network-requests"]["details"]["items"]
    assets = []
    for item in items:
        kind = {"Script": "JS", "Stylesheet": "CSS"}.get(item.get("resourceType"))
        if kind is None or not item["url"].startswith(portal.url):
            continue
        path = item["url"][len(portal.url):]
        body = _body_fetch(portal, cookie, path)
        assets.append(Asset(
            path=path, kind=kind, raw_bytes=len(body),
            gzip_bytes=len(gzip.compress(body, compresslevel=9)),
            transfer_bytes=int(item.get("transferSize") or 0),
        ))
    return assets


def _assets_after_scroll(portal: Portal, cookie: str, loaded: set[str]) -> list[Asset]:
    """Return the scripts and style sheets that load only after scrolling to the charts."""
    paths: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(
                base_url=portal.url, viewport={"width": 1350, "height": 940}
            )
            context.add_cookies([{"name": "sessionid", "value": cookie, "url": portal.url}])
            page = context.new_page()
            page.on("request", lambda request: paths.append(request.url[len(portal.url):])
                    if request.resource_type in ("script", "stylesheet") else None)
            page.goto("/home/")
            page.wait_for_load_state("networkidle")
            page.locator("#analytics").scroll_into_view_if_needed()
            page.wait_for_selector("[data-analytics-state=done]", timeout=20_000)
            page.wait_for_load_state("networkidle")
        finally:
            browser.close()
    lazy = []
    for path in dict.fromkeys(paths):
        if path in loaded:
            continue
        body = _body_fetch(portal, cookie, path)
        lazy.append(Asset(
            path=path, kind="JS" if path.endswith(".js") else "CSS", raw_bytes=len(body),
            gzip_bytes=len(gzip.compress(body, compresslevel=9)), transfer_bytes=0,
        ))
    return lazy


def _body_fetch(portal: Portal, cookie: str, path: str) -> bytes:
    request = urllib.request.Request(
        portal.url + path,
        headers={"Cookie": f"sessionid={cookie}", "Accept-Encoding": "identity"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def _budget_failures(report: dict, first_load: list[Asset]) -> list[str]:
    failures = []
    for category, minimum in MIN_SCORES.items():
        score = _score(report, category)
        if score < minimum:
            failures.append(f"{category} is {score}, below {minimum}")
    js_gzip = sum(asset.gzip_bytes for asset in first_load if asset.kind == "JS")
    if js_gzip > JS_BUDGET_GZIP_BYTES:
        failures.append(f"JavaScript on first load is {js_gzip:,} bytes gzipped, "
                        f"above {JS_BUDGET_GZIP_BYTES:,}")
    eager_charts = [asset.path for asset in first_load if CHARTS_LIBRARY in asset.path]
    if eager_charts:
        failures.append(f"the charts library loads on first load: {', '.join(eager_charts)}")
    return failures


def _audits_failed(report: dict, category: str) -> list[str]:
    lines = []
    for reference in report["categories"][category]["auditRefs"]:
        audit = report["audits"][reference["id"]]
        if reference.get("weight", 0) > 0 and audit.get("score") is not None and audit["score"] < 1:
            lines.append(f"- `{audit['id']}`: {audit['title']}")
    return lines


def _assets_table(assets: list[Asset], *, transfer: bool) -> list[str]:
    header = "| file | type | raw bytes | gzipped bytes |"
    rule = "| --- | --- | ---: | ---: |"
    if transfer:
        header += " transferred bytes |"
        rule += " ---: |"
    lines = [header, rule]
    for asset in sorted(assets, key=lambda each: (each.kind, each.path)):
        line = f"| `{asset.path}` | {asset.kind} | {asset.raw_bytes:,} | {asset.gzip_bytes:,} |"
        if transfer:
            line += f" {asset.transfer_bytes:,} |"
        lines.append(line)
    for kind in ("JS", "CSS"):
        chosen = [asset for asset in assets if asset.kind == kind]
        if not chosen:
            continue
        line = (f"| **{kind} total** | {kind} | **{sum(a.raw_bytes for a in chosen):,}** | "
                f"**{sum(a.gzip_bytes for a in chosen):,}** |")
        if transfer:
            line += f" **{sum(a.transfer_bytes for a in chosen):,}** |"
        lines.append(line)
    return lines


def _readme(report: dict, performance_runs: list[int], first_load: list[Asset],
            lazy: list[Asset], failures: list[str]) -> str:
    scores = {category: _score(report, category) for category in CATEGORIES}
    js_gzip = sum(asset.gzip_bytes for asset in first_load if asset.kind == "JS")
    metrics = report["audits"]
    lines = [
        "# Home: Lighthouse and page weight",
        "",
        f"Written by `make lighthouse` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC with "
        f"Lighthouse {report['lighthouseVersion']} and "
        f"{report['environment']['hostUserAgent'].split(') ')[-1]}, desktop preset (simulated "
        "throttling). Home (`/home/`) was served as in production (`DJANGO_DEBUG=0`, hashed "
        "and compressed static files, daphne) with the small demo data, to the demo user "
        f"`{DEMO_USERNAME}` (store staff). The full report is "
        "[lighthouse-home.json](lighthouse-home.json); open it in the Lighthouse viewer.",
        "",
        "## Scores",
        "",
        "| category | score | budget |",
        "| --- | ---: | --- |",
        f"| performance | {scores['performance']} | at least 90 |",
        f"| accessibility | {scores['accessibility']} | 100 |",
        f"| best practices | {scores['best-practices']} | none |",
        "",
        f"Performance of the {len(performance_runs)} runs: "
        f"{', '.join(str(score) for score in performance_runs)}; the report is the median run. "
        "The machine was shared with other jobs, so the timings vary from run to run.",
        "",
        f"First Contentful Paint {metrics['first-contentful-paint']['displayValue']}, "
        f"Largest Contentful Paint {metrics['largest-contentful-paint']['displayValue']}, "
        f"Total Blocking Time {metrics['total-blocking-time']['displayValue']}, "
        f"Cumulative Layout Shift {metrics['cumulative-layout-shift']['displayValue']}.",
        "",
    ]
    for category in CATEGORIES:
        failed = _audits_failed(report, category)
        if failed:
            lines += [f"Audits of {category} that did not pass:", "", *failed, ""]
    lines += [
        "## JavaScript and CSS on first load",
        "",
        "Every script and style sheet of Lighthouse's load of Home. Raw bytes are the file "
        "as served; gzipped bytes are that file compressed with gzip at level 9 (what the "
        "budget counts); transferred bytes are what Chromium received, which is the Brotli "
        "file when the server has one.",
        "",
        *_assets_table(first_load, transfer=True),
        "",
        f"Budget: at most {JS_BUDGET_GZIP_BYTES:,} bytes of JavaScript gzipped; Home loads "
        f"{js_gzip:,}.",
        "",
        "## Loaded after scrolling to the charts",
        "",
        "What Chromium fetched in addition when the Analytics section scrolled into view "
        "(1350 x 940 window).",
        "",
    ]
    if lazy:
        lazy_js = sum(asset.gzip_bytes for asset in lazy if asset.kind == "JS")
        lines += [
            *_assets_table(lazy, transfer=False), "",
            f"JavaScript once the charts have loaded: {js_gzip + lazy_js:,} bytes gzipped.",
        ]
    else:
        lines.append("Nothing: no script or style sheet loaded after the first load.")
    lines += ["", "## Budgets", ""]
    if failures:
        lines += [f"- MISSED: {failure}" for failure in failures]
    else:
        lines.append("All met.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if not shutil.which(CHROMIUM_PATH):
        sys.exit(f"Chromium is missing at {CHROMIUM_PATH}; set CHROMIUM_PATH.")
    sys.exit(main())
