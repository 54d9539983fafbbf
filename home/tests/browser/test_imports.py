"""The imports section and the sticky status bar, driven in Chromium against a real worker."""

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from django.utils import timezone

from imports.models import ImportJob
from inventory.models import Product, StockLevel
from inventory.tests.factories import SaleFactory, StoreFactory, operations_user

pytestmark = pytest.mark.browser

STORES = 20
SKUS = 5_000
# A file that takes the worker a few seconds, so the page can watch it move.
LARGE_ROWS = STORES * SKUS
FINISH_TIMEOUT_SECONDS = 120
SAMPLE_SECONDS = 0.2


def _catalog() -> list[str]:
    """Create the stores and plain SKUs of the generated counts; return the store codes."""
    codes = [f"B{number:03d}" for number in range(STORES)]
    for code in codes:
        StoreFactory(code=code)
    Product.objects.bulk_create(
        Product(sku=f"BRW-{number:05d}", name=f"Browser product {number}", category="Accessories")
        for number in range(SKUS)
    )
    return codes


def _large_count(folder: Path, codes: list[str], *, repeat: int = 1) -> Path:
    """Write a count of every store and SKU; with repeat, each pair is listed that often."""
    path = folder / "large-count.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("store,sku,qty\n")
        for _ in range(repeat):
            for code in codes:
                lines = (f"{code},BRW-{number:05d},{number % 17}\n" for number in range(SKUS))
                handle.writelines(lines)
    return path


def _small_count_with_bad_rows(folder: Path, codes: list[str]) -> Path:
    path = folder / "count-with-bad-rows.csv"
    path.write_text(
        "store,sku,qty\n"
        f"{codes[0]},BRW-00001,4\n"
        f"{codes[0]},BRW-00002,not-a-number\n"
        f"{codes[0]},NO-SUCH-SKU,3\n"
        f"{codes[1]},BRW-00003,6\n",
        encoding="utf-8",
    )
    return path


def _upload(page, path: Path, kind: str = "stock") -> None:
    page.goto("/home/#imports")
    form = page.locator("#import-form")
    form.get_by_label("Kind", exact=True).select_option(kind)
    form.get_by_label("File", exact=True).set_input_files(str(path))
    form.get_by_role("button", name="Start import").click()


def _watch_until_finished(page) -> list[dict]:
    """Sample the open drawer until the job finishes or the timeout passes."""
    samples = []
    deadline = time.monotonic() + FINISH_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        samples.append(_drawer_state(page))
        if samples[-1]["phase"] in ("Done", "Failed", "Cancelled"):
            break
        time.sleep(SAMPLE_SECONDS)
    return samples


def _open_details(page, name: str) -> None:
    row = page.locator("#import-list li").first
    row.get_by_text(name).first.wait_for()
    row.get_by_role("button", name=f"Details of {name}").click()
    page.locator("#import-drawer").wait_for()


def _reload_until_fallback(page) -> None:
    """Reload the page and wait for the first poll, which the fallback sends when it starts."""
    with page.expect_request(lambda request: "/api/imports?limit=" in request.url, timeout=20_000):
        page.reload()


def _drawer_state(page) -> dict:
    return page.evaluate(
        """() => {
            const drawer = document.getElementById("import-drawer");
            const text = (name) => drawer.querySelector(`[data-field="${name}"]`).textContent;
            return {
                phase: text("phase"), pct: drawer.querySelector("progress").value,
                pct_text: text("pct"), rows: text("rows"), rate: text("rate"), eta: text("eta"),
            };
        }"""
    )


def test_upload_shows_phases_progress_and_final_state(signed_in, tmp_path):
    codes = _catalog()
    path = _large_count(tmp_path, codes)
    page = signed_in(operations_user(username="operator"))

    _upload(page, path)
    _open_details(page, "large-count.csv")
    samples = _watch_until_finished(page)

    job = ImportJob.objects.get()
    assert samples[-1]["phase"] == "Done", (job.status, job.failure_reason)
    percents = [sample["pct"] for sample in samples]
    assert percents == sorted(percents)
    assert len({pct for pct in percents if 0 < pct < 100}) >= 2
    phases = {sample["phase"] for sample in samples}
    assert phases & {"Validating...", "Loading...", "Finalizing..."}
    assert any(re.fullmatch(r"[\d,]+", sample["rate"]) for sample in samples)
    assert any(re.fullmatch(r"\d+:\d\d", sample["eta"]) for sample in samples)
    assert samples[-1]["rows"] == f"{LARGE_ROWS:,} of {LARGE_ROWS:,}"
    assert samples[-1]["pct_text"] == "100%"
    row_line = page.locator("#import-list li").first.locator("[data-field=line]")
    assert row_line.inner_text() == f"{LARGE_ROWS:,} rows imported"
    assert job.rows_ok == LARGE_ROWS
    # A locator waits without evaluating a string, which the page's CSP forbids.
    expect(page.locator("#live-region")).to_have_text(
        f"Import of large-count.csv finished: {LARGE_ROWS:,} rows imported."
    )


def test_error_report_link_downloads_rejected_rows(signed_in, tmp_path):
    codes = _catalog()
    path = _small_count_with_bad_rows(tmp_path, codes)
    page = signed_in(operations_user(username="operator"))

    _upload(page, path)
    row = page.locator("#import-list li").first
    row.locator("[data-field=line]").filter(has_text="rows imported").wait_for(timeout=60_000)
    row.get_by_role("button", name="Details of count-with-bad-rows.csv").click()
    link = page.locator("#import-drawer").get_by_role("link", name="Download error report")
    link.wait_for()
    report = page.request.get(link.get_attribute("href"))

    assert row.locator("[data-field=line]").inner_text() == "2 rows imported \u00b7 2 rejected"
    assert page.locator("#import-drawer [data-field=rows_bad]").inner_text() == "2"
    assert report.status == 200
    text = report.text()
    assert text.startswith("\ufeffrow_number,column,value,error_code,message")
    assert "not-a-number" in text
    assert "NO-SUCH-SKU" in text


def test_sticky_bar_follows_user_to_other_pages(signed_in, tmp_path):
    codes = _catalog()
    path = _large_count(tmp_path, codes)
    sale = SaleFactory(store=StoreFactory(code=codes[0]))
    page = signed_in(operations_user(username="operator"))

    _upload(page, path)
    page.locator("#import-list li").first.get_by_text("large-count.csv").first.wait_for()
    page.goto(f"/home/?date={timezone.localdate().isoformat()}")
    bar = page.locator("#import-status-bar")
    bar.get_by_text(re.compile(r"Importing large-count\.csv \u2014 ")).wait_for()
    on_home = bar.inner_text()
    page.goto(f"/home/sales/{sale.pk}/")
    bar.get_by_text(re.compile(r"Importing large-count\.csv \u2014 ")).wait_for()
    link = bar.get_by_role("link", name="Show imports")
    link_href = link.get_attribute("href")
    page.goto("/admin/")
    bar.get_by_text(re.compile(r"Importing large-count\.csv \u2014 ")).wait_for()

    assert "ETA" in on_home
    assert link_href == "/home/#imports"
    bar.wait_for(state="hidden", timeout=FINISH_TIMEOUT_SECONDS * 1000)
    assert ImportJob.objects.get().status == "done"


def test_upload_errors_show_at_fields(signed_in, tmp_path):
    codes = _catalog()
    picture = tmp_path / "count.csv"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    page = signed_in(operations_user(username="operator"))
    page.goto("/home/#imports")
    form = page.locator("#import-form")

    small = _small_count_with_bad_rows(tmp_path, codes)
    form.get_by_label("File", exact=True).set_input_files(str(small))
    form.get_by_role("button", name="Start import").click()
    kind_error = page.locator("#import-kind-error")
    kind_error.wait_for()
    kind_message = kind_error.inner_text()
    form.get_by_label("Kind", exact=True).select_option("stock")
    form.get_by_label("File", exact=True).set_input_files(str(picture))
    form.get_by_role("button", name="Start import").click()
    file_error = page.locator("#import-file-error")
    file_error.wait_for()

    assert kind_message == "Choose what the file contains."
    assert "not a table of data" in file_error.inner_text()
    assert form.get_by_label("File", exact=True).get_attribute("aria-invalid") == "true"
    assert page.locator("#import-kind-error").is_hidden()
    assert ImportJob.objects.count() == 0


def test_empty_upload_marks_kind_and_file(signed_in):
    _catalog()
    page = signed_in(operations_user(username="operator"))
    page.goto("/home/#imports")
    form = page.locator("#import-form")

    form.get_by_role("button", name="Start import").click()

    expect(page.locator("#import-kind-error")).to_have_text("Choose what the file contains.")
    expect(page.locator("#import-file-error")).to_have_text("Choose a file to import.")
    expect(form.get_by_label("Kind", exact=True)).to_be_focused()
    expect(form.get_by_label("Price list name", exact=True)).to_be_hidden()
    assert ImportJob.objects.count() == 0


def test_kind_shows_its_columns_and_template(signed_in):
    _catalog()
    page = signed_in(operations_user(username="operator"))
    page.goto("/home/#imports")
    form = page.locator("#import-form")
    kind = form.get_by_label("Kind", exact=True)
    expect(form.locator("#import-kind-columns [data-kinds]:visible")).to_have_count(0)

    kind.select_option("pricelist")

    columns = form.locator("#import-kind-columns [data-kinds]:visible")
    expect(columns).to_have_count(1)
    expect(columns).to_contain_text("Columns: sku, price required;")
    expect(kind).to_have_accessible_description(re.compile(r"^Columns: sku, price required;"))
    with page.expect_download() as download_info:
        columns.get_by_role("link", name="Download the price list template (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == "pricelist-template.csv"
    header = Path(download.path()).read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.startswith("sku,price,currency,")


def test_drawer_closes_on_escape_and_returns_focus(signed_in, tmp_path):
    codes = _catalog()
    path = _small_count_with_bad_rows(tmp_path, codes)
    page = signed_in(operations_user(username="operator"))
    _upload(page, path)
    row = page.locator("#import-list li").first
    details = row.get_by_role("button", name="Details of count-with-bad-rows.csv")
    details.focus()

    page.keyboard.press("Enter")
    page.locator("#import-drawer").wait_for()
    page.keyboard.press("Escape")

    assert page.locator("#import-drawer").is_hidden()
    assert page.evaluate("document.activeElement.hasAttribute('data-import-details')")


def test_progress_follows_sse_without_websocket(signed_in, tmp_path):
    codes = _catalog()
    path = _large_count(tmp_path, codes, repeat=3)
    page = signed_in(operations_user(username="operator"))
    page.route_web_socket(re.compile(r"/ws/imports/$"), lambda socket: socket.close())
    _reload_until_fallback(page)
    streams = []
    page.on("request", lambda request: streams.append(request.url))

    _upload(page, path)
    _open_details(page, "large-count.csv")
    samples = _watch_until_finished(page)

    assert samples[-1]["phase"] == "Done"
    assert len({sample["pct"] for sample in samples if 0 < sample["pct"] < 100}) >= 2
    assert any(url.endswith("/events") for url in streams)


def test_progress_polls_without_websocket_and_sse(signed_in, tmp_path):
    codes = _catalog()
    path = _large_count(tmp_path, codes)
    page = signed_in(operations_user(username="operator"))
    page.route_web_socket(re.compile(r"/ws/imports/$"), lambda socket: socket.close())
    page.route("**/events", lambda route: route.abort())
    _reload_until_fallback(page)
    polls = []
    page.on("request", lambda request: polls.append(request.url))

    _upload(page, path)
    _open_details(page, "large-count.csv")
    samples = _watch_until_finished(page)

    # Only polling can bring the final state here. A job of a few seconds may pass between
    # two polls 2 s apart, so the streams' tests check the rising percent instead.
    assert samples[-1]["phase"] == "Done"
    assert [url for url in polls if "/api/imports?limit=" in url]


def test_cancel_then_retry_from_drawer(signed_in, tmp_path):
    codes = _catalog()
    path = _large_count(tmp_path, codes)
    page = signed_in(operations_user(username="operator"))
    _upload(page, path)
    _open_details(page, "large-count.csv")
    drawer = page.locator("#import-drawer")

    drawer.get_by_role("button", name="Cancel import").click()
    phase = drawer.locator("[data-field=phase]")
    phase.get_by_text("Cancelled", exact=True).wait_for(timeout=60_000)
    cancelled = ImportJob.objects.get().status
    drawer.get_by_role("button", name="Retry import").click()
    phase.get_by_text("Done", exact=True).wait_for(timeout=FINISH_TIMEOUT_SECONDS * 1000)

    job = ImportJob.objects.get()
    assert cancelled == "cancelled"
    assert job.status == "done"
    assert job.rows_ok == LARGE_ROWS
    assert drawer.get_by_role("button", name="Retry import").is_hidden()
    assert drawer.get_by_role("button", name="Cancel import").is_hidden()


def test_drawer_offers_no_retry_for_file_failure(signed_in, tmp_path):
    codes = _catalog()
    path = tmp_path / "no-sku.csv"
    path.write_text(f"store,qty\n{codes[0]},4\n", encoding="utf-8")
    page = signed_in(operations_user(username="operator"))

    _upload(page, path)
    _open_details(page, "no-sku.csv")
    drawer = page.locator("#import-drawer")
    drawer.locator("[data-field=phase]").get_by_text("Failed", exact=True).wait_for(timeout=60_000)

    expect(drawer.locator("[data-field=failure]")).to_contain_text("sku")
    expect(drawer.get_by_role("button", name="Retry import")).to_be_hidden()


def test_columns_chosen_after_failure_import(signed_in, tmp_path):
    codes = _catalog()
    path = tmp_path / "odd-header.csv"
    path.write_text(f"Shop,Article No,Amount\n{codes[0]},BRW-00001,4\n", encoding="utf-8")
    page = signed_in(operations_user(username="operator"))
    _upload(page, path)
    _open_details(page, "odd-header.csv")
    drawer = page.locator("#import-drawer")
    drawer.locator("[data-field=phase]").get_by_text("Failed", exact=True).wait_for(timeout=60_000)

    drawer.get_by_role("link", name="Choose the columns").click()
    expect(page.get_by_role("heading", name="Choose the columns of odd-header.csv")).to_be_visible()
    expect(page.get_by_label("store", exact=True)).to_have_value("Shop")
    page.get_by_label("sku", exact=True).select_option("Article No")
    page.get_by_label("qty", exact=True).select_option("Amount")
    page.get_by_role("button", name="Import again with these columns").click()

    expect(page.locator(".messages .success")).to_contain_text("queued with the columns you chose")
    row = page.locator("#import-list li").first
    row.get_by_text("Done", exact=True).wait_for(timeout=FINISH_TIMEOUT_SECONDS * 1000)
    rerun = ImportJob.objects.order_by("-id").first()
    assert rerun.status == "done"
    assert rerun.rows_ok == 1
    assert rerun.options["column_map"] == {"store": "Shop", "sku": "Article No", "qty": "Amount"}


def test_dry_run_then_import_now(signed_in, tmp_path):
    codes = _catalog()
    path = _small_count_with_bad_rows(tmp_path, codes)
    page = signed_in(operations_user(username="operator"))
    page.goto("/home/#imports")
    form = page.locator("#import-form")
    form.get_by_label("Kind", exact=True).select_option("stock")
    form.get_by_label("File", exact=True).set_input_files(str(path))
    form.get_by_label("Dry run: check the file only").check()
    form.get_by_role("button", name="Start dry run").click()

    expect(page.locator(".toast-success").first).to_contain_text("Dry run of count-with-bad-rows.csv queued")
    _open_details(page, "count-with-bad-rows.csv")
    drawer = page.locator("#import-drawer")
    drawer.locator("[data-field=phase]").get_by_text("Done", exact=True).wait_for(timeout=60_000)
    row = page.locator("#import-list li").first
    expect(row).to_contain_text("Dry run: 2 rows OK \u00b7 2 rejected, nothing changed")
    levels_after_dry_run = StockLevel.objects.count()
    drawer.get_by_role("button", name="Import now").click()

    expect(page.locator("#import-list li")).to_have_count(2)
    page.locator("#import-list li").first.get_by_text("2 rows imported \u00b7 2 rejected").wait_for(
        timeout=FINISH_TIMEOUT_SECONDS * 1000
    )
    jobs = list(ImportJob.objects.order_by("id"))
    assert levels_after_dry_run == 0
    assert [job.is_dry_run for job in jobs] == [True, False]
    assert StockLevel.objects.count() == 2


def test_refresh_renders_list_again(signed_in, tmp_path):
    codes = _catalog()
    path = _small_count_with_bad_rows(tmp_path, codes)
    page = signed_in(operations_user(username="operator"))
    _upload(page, path)
    row = page.locator("#import-list li").first
    row.locator("[data-field=line]").filter(has_text="rows imported").wait_for(timeout=60_000)

    page.get_by_role("button", name="Refresh the list of imports").click()
    page.wait_for_load_state("networkidle")

    rows = page.locator("#import-list li")
    assert rows.count() == 1
    line = rows.first.locator("[data-field=line]").inner_text()
    assert line == "2 rows imported \u00b7 2 rejected"
    rows.first.get_by_role("button", name="Details of count-with-bad-rows.csv").click()
    assert page.locator("#import-drawer [data-field=rows_bad]").inner_text() == "2"


def test_toast_link_opens_drawer(signed_in, tmp_path):
    codes = _catalog()
    page = signed_in(operations_user(username="operator"))
    _upload(page, _small_count_with_bad_rows(tmp_path, codes))

    page.locator("#toasts").get_by_role("link", name="Show progress").click()
    drawer = page.locator("#import-drawer")
    drawer.wait_for()

    assert drawer.locator("[data-field=file_name]").first.inner_text() == "count-with-bad-rows.csv"
