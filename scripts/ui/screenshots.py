"""Write the Home screenshots of docs/screenshots/ from the portal served as in production.

Run by `make screenshots`. It starts the portal with the small demo data (see portal.py),
signs in as the demo store-staff user in Chromium and writes:

- home-desktop-light.png and home-desktop-dark.png: the whole page at 1440 px wide,
  after the charts have loaded;
- home-mobile.png: the first screen at 390 x 844;
- quick-action-dialog.png: the New Transfer dialog showing its field errors;
- import-in-progress.png: the imports widget and the detail drawer while a stock import
  of a generated file (200,000 rows by default, UI_IMPORT_ROWS) runs. A 50,000-row file
  passed through its phases on MariaDB in about 2 s, before the drawer showed a rate.

It exits non-zero when the mobile page is wider than its viewport.
"""

import csv
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from portal import CHROMIUM_ARGS, CHROMIUM_PATH, DEMO_USERNAME, PYTHON, ROOT, Portal, \
    portal_running, session_cookie

OUTPUT_DIR = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1440, "height": 900}
MOBILE = {"width": 390, "height": 844}
IMPORT_ROWS = int(os.environ.get("UI_IMPORT_ROWS", "200000"))
# Rows with a quantity the schema rejects, so the drawer shows its error-report link.
IMPORT_BAD_ROWS = 25
RUNNING_STATUSES = ("parsing", "validating", "loading", "finalizing")
# Placeholder (an em dash) that the drawer shows for a value not known yet.
NO_VALUE = "\u2014"
TIMEOUT_MS = 20_000
CHARTS_TIMEOUT_MS = 45_000
IMPORT_FINISH_TIMEOUT_SECONDS = 300


# Elements past the right edge of the viewport. Wide tables may scroll inside their own
# container, which the page allows. Anything else makes the whole page scroll sideways.
OVERFLOW_SCRIPT = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (element) => {
    for (let parent = element.parentElement; parent; parent = parent.parentElement) {
      const style = getComputedStyle(parent).overflowX;
      if (style === "auto" || style === "scroll" || style === "hidden") return true;
    }
    return false;
  };
  return [...document.querySelectorAll("body *")]
    .filter((element) => {
      const box = element.getBoundingClientRect();
      return box.width > 0 && box.right > width + 1 && !element.closest("dialog")
        && !scrolls(element);
    })
    .map((element) => element.tagName.toLowerCase()
      + (element.id ? "#" + element.id : "")
      + (element.classList.length ? "." + [...element.classList].join(".") : ""))
    .slice(0, 20);
}"""
# Ids of the sections whose tables scroll sideways.
SCROLLED_TABLES_SCRIPT = """() => [...document.querySelectorAll(".table-wrap, .table-scroll")]
  .filter((element) => element.scrollWidth > element.clientWidth + 1)
  .map((element) => (element.closest("[id]") || element).id)"""


def main() -> int:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    with portal_running() as portal:
        cookie = session_cookie(portal)
        stock_file = _stock_file_write(portal)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS, headless=True
            )
            try:
                _home_full_page(browser, portal, cookie, "light")
                _home_full_page(browser, portal, cookie, "dark")
                overflow = _home_mobile(browser, portal, cookie)
                _transfer_dialog(browser, portal, cookie)
                _import_in_progress(browser, portal, cookie, stock_file)
            finally:
                browser.close()
    if overflow:
        print(f"FAIL: on a 390 px screen these elements are wider than the page: {overflow}")
        return 1
    return 0


def _page_open(browser: Browser, portal: Portal, cookie: str, *, color_scheme: str = "light",
               viewport: dict = DESKTOP) -> Page:
    context = browser.new_context(
        base_url=portal.url, color_scheme=color_scheme, viewport=viewport,
        device_scale_factor=1, reduced_motion="reduce",
    )
    context.add_cookies([{"name": "sessionid", "value": cookie, "url": portal.url}])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("pageerror", lambda error: print(f"page error: {error}", file=sys.stderr))
    page.goto("/home/")
    page.wait_for_load_state("networkidle")
    return page


def _charts_load(page: Page) -> None:
    """Scroll down step by step, so the lazy sections load, then back to the top."""
    height = page.evaluate("document.documentElement.scrollHeight")
    for _ in range(0, height + 1, 600):
        page.mouse.wheel(0, 600)
        page.wait_for_timeout(100)
    # The section may have arrived after the wheel passed it, so it is brought back into view.
    page.locator("#analytics").scroll_into_view_if_needed()
    page.wait_for_selector("[data-analytics-state=done]", timeout=CHARTS_TIMEOUT_MS)
    page.wait_for_load_state("networkidle")
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(300)


def _home_full_page(browser: Browser, portal: Portal, cookie: str, color_scheme: str) -> None:
    page = _page_open(browser, portal, cookie, color_scheme=color_scheme)
    _charts_load(page)
    _save(page, f"home-desktop-{color_scheme}.png", full_page=True)
    page.context.close()


def _home_mobile(browser: Browser, portal: Portal, cookie: str) -> list[str]:
    """Save the first mobile screen and return the elements wider than the viewport."""
    page = _page_open(browser, portal, cookie, viewport=MOBILE)
    _save(page, "home-mobile.png")
    _charts_load(page)

    # The whole page goes to the var folder for review, because docs/ keeps the first screen.
    page.screenshot(path=Path(portal.env["OPS_VAR_DIR"]) / "home-mobile-full.png",
                    full_page=True)
    overflow = page.evaluate(OVERFLOW_SCRIPT)
    scrolled = page.evaluate(SCROLLED_TABLES_SCRIPT)
    if scrolled:
        print(f"NOTE: on a 390 px screen these tables scroll sideways: {scrolled}")
    page.context.close()
    return overflow


def _transfer_dialog(browser: Browser, portal: Portal, cookie: str) -> None:
    page = _page_open(browser, portal, cookie)
    page.get_by_role("button", name="Start a transfer").click()
    dialog = page.locator("#transfer-dialog")
    dialog.get_by_label("SKU or serial").fill("NO-SUCH-SKU")
    dialog.get_by_label("Quantity").fill("0")
    dialog.get_by_role("button", name="Send transfer").click()
    dialog.locator(".field-invalid").first.wait_for()
    page.wait_for_timeout(200)
    _save(page, "quick-action-dialog.png")
    page.context.close()


def _import_in_progress(browser: Browser, portal: Portal, cookie: str, stock_file: Path) -> None:
    page = _page_open(browser, portal, cookie)
    form = page.locator("#import-form")
    form.scroll_into_view_if_needed()
    form.get_by_label("Kind").select_option("stock")
    form.get_by_label("File").set_input_files(stock_file)
    known = page.eval_on_selector_all(
        ".import-row[data-task-id]", "rows => rows.map(row => row.dataset.taskId)"
    )
    form.get_by_role("button", name="Start import").click()

    task_id = page.wait_for_function(
        """known => {
          const row = [...document.querySelectorAll(".import-row[data-task-id]")]
            .find(row => row.dataset.taskId && !known.includes(row.dataset.taskId));
          return row ? row.dataset.taskId : null;
        }""",
        arg=known,
    ).json_value()
    row = page.locator(f".import-row[data-task-id='{task_id}']")
    row.get_by_role("button", name="Details").click()
    drawer = page.locator("#import-drawer")
    drawer.wait_for(state="visible")
    _running_capture(page, row)

    # A job left running would be resumed by the next run of the worker.
    deadline = time.monotonic() + IMPORT_FINISH_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if row.get_attribute("data-status") in ("done", "failed", "cancelled"):
            break
        page.wait_for_timeout(500)
    print(f"The stock import ended with status {row.get_attribute('data-status')}.")
    page.context.close()


def _running_capture(page: Page, row) -> None:
    """Save the screenshot each time the drawer shows more of a running job.

    A small file may pass through its phases in a few seconds, so the last screenshot
    is the fullest state seen: running, then at least 10 percent, then with the time left,
    then with the rows per second.
    """
    drawer = page.locator("#import-drawer")
    best = 0
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and best < 4:
        status = row.get_attribute("data-status")
        if status in ("done", "failed", "cancelled"):
            break
        pct = float(row.locator("progress").get_attribute("value") or 0)
        rate = drawer.locator("[data-field=rate]").inner_text().strip()
        eta = drawer.locator("[data-field=eta]").inner_text().strip()
        score = sum([
            status in RUNNING_STATUSES, 10 <= pct < 95, eta not in ("", NO_VALUE),
            rate not in ("", NO_VALUE),
        ]) if status in RUNNING_STATUSES else 0
        if score > best:
            best = score
            _save(page, "import-in-progress.png")
            print(f"  at {status} {pct:.0f}%, {rate} rows/s, time left {eta}")
        page.wait_for_timeout(100)
    if best == 0:
        raise RuntimeError(
            "The import was never seen running; set UI_IMPORT_ROWS to a larger number."
        )


def _stock_file_write(portal: Portal) -> Path:
    """Write a stock count of the demo user's stores and plain SKUs, with a few bad rows."""
    script = (
        "import json\n"
        "from django.contrib.auth import get_user_model\n"
        "from inventory.access import stores_for_user\n"
        "from inventory.models import Product\n"
        f"user = get_user_model().objects.get(username={DEMO_USERNAME!r})\n"
        "stores = [store.code for store in stores_for_user(user).filter(is_active=True)]\n"
        "skus = list(Product.objects.filter(is_serialized=False).values_list('sku', flat=True))\n"
        "print(json.dumps({'stores': stores, 'skus': skus}))\n"
    )
    result = subprocess.run(
        [str(PYTHON), "manage.py", "shell", "-c", script], cwd=ROOT, env=portal.env,
        check=True, capture_output=True, text=True, timeout=120,
    )
    names = json.loads(result.stdout.strip().splitlines()[-1])
    if not names["stores"] or not names["skus"]:
        raise RuntimeError(f"{DEMO_USERNAME} has no store or the demo data has no plain SKU.")

    generator = random.Random(7)
    path = Path(portal.env["OPS_VAR_DIR"]) / f"stock-count-{IMPORT_ROWS // 1000}k.csv"
    bad_rows = set(generator.sample(range(IMPORT_ROWS), IMPORT_BAD_ROWS))
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["store", "sku", "qty"])
        for number in range(IMPORT_ROWS):
            quantity = "a few" if number in bad_rows else generator.randint(0, 3)
            writer.writerow([
                generator.choice(names["stores"]), generator.choice(names["skus"]), quantity,
            ])
    return path


def _save(page: Page, name: str, *, full_page: bool = False) -> None:
    path = OUTPUT_DIR / name
    page.screenshot(path=path, full_page=full_page, animations="disabled")
    print(f"Wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    sys.exit(main())
