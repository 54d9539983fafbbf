import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from home.templatetags.home_imports import import_eta, import_line, import_rate
from imports.events import import_event_payload
from imports.models import ImportJob, ImportStatus
from imports.tests.factories import ImportJobFactory
from inventory.tests.factories import (
    ProductFactory,
    StoreFactory,
    back_office_user,
    operations_user,
    staff_user,
)

pytestmark = pytest.mark.django_db

STOCK_CSV = b"store,sku,qty\nS001,ACC-1,5\n"


def _rows(response) -> dict[str, str]:
    """Return the HTML of each listed import by task id."""
    html = response.content.decode()
    rows = {}
    for chunk in html.split('<li class="import-row" data-task-id="')[1:]:
        task_id, _, rest = chunk.partition('"')
        rows[task_id] = rest.split("</li>", 1)[0]
    return rows


def _initial_payloads(html: str) -> list[dict]:
    """Return the payloads that the page hands to import-status.js as JSON."""
    opening = 'id="imports-initial" type="application/json">'
    return json.loads(html.split(opening, 1)[1].split("</script>", 1)[0])


def test_home_lists_imports_in_every_state(client):
    user = operations_user()
    StoreFactory()
    queued = ImportJobFactory(created_by=user, original_name="queued.csv")
    running = ImportJobFactory(
        created_by=user, original_name="running.csv", status=ImportStatus.VALIDATING,
        rows_total=53_000, rows_ok=15_000, pct=42.5, throughput_rps=12_345.4, eta_seconds=7,
    )
    done = ImportJobFactory(
        created_by=user, original_name="done.csv", status=ImportStatus.DONE,
        rows_total=53_000, rows_ok=53_000, pct=100, eta_seconds=0,
    )
    failed = ImportJobFactory(
        created_by=user, original_name="failed.xlsx", status=ImportStatus.FAILED, pct=10,
        failure_code="column_missing", failure_reason="Column qty is missing.",
    )
    cancelled = ImportJobFactory(
        created_by=user, original_name="cancelled.csv", status=ImportStatus.CANCELLED, pct=25.09,
    )
    client.force_login(user)

    response = client.get("/home/")

    rows = _rows(response)
    assert 'id="imports"' in response.content.decode()
    assert "Queued" in rows[str(queued.task_id)]
    assert "Queued... 0% \u00b7 ETA \u2014" in rows[str(queued.task_id)]
    assert "Validating... 42% \u00b7 12,345 rows/s \u00b7 ETA 0:07" in rows[str(running.task_id)]
    assert 'value="42.50"' in rows[str(running.task_id)]
    assert 'aria-label="Progress of running.csv"' in rows[str(running.task_id)]
    assert "53,000 rows imported" in rows[str(done.task_id)]
    assert "Failed: Column qty is missing." in rows[str(failed.task_id)]
    assert "Cancelled at 25%" in rows[str(cancelled.task_id)]
    assert "#fail" in rows[str(failed.task_id)]
    assert "#ok" in rows[str(done.task_id)]


def test_imports_list_is_newest_first_and_capped(client):
    user = operations_user()
    jobs = [ImportJobFactory(created_by=user) for _ in range(12)]
    client.force_login(user)

    response = client.get(reverse("home:imports"))

    listed = list(_rows(response))
    assert len(listed) == 10
    assert listed[0] == str(jobs[-1].task_id)
    assert str(jobs[0].task_id) not in listed


def test_import_row_names_user_and_time(client):
    import datetime

    from django.utils import timezone

    user = operations_user(username="night-shift")
    job = ImportJobFactory(created_by=user)
    ImportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.make_aware(datetime.datetime(2026, 3, 2, 14, 5))
    )
    client.force_login(user)

    response = client.get(reverse("home:imports"))

    row = _rows(response)[str(job.task_id)]
    assert "night-shift &middot; " in row
    assert "2 Mar 14:05</time>" in row


def test_imports_partial_query_count(client, django_assert_max_num_queries):
    user = staff_user(StoreFactory())
    for _ in range(10):
        ImportJobFactory(created_by=user, stores=[StoreFactory()])
    client.force_login(user)

    # Session, user, role, stores and the portal context: the list itself is one query.
    with django_assert_max_num_queries(10):
        response = client.get(reverse("home:imports"))

    assert response.status_code == 200
    assert len(_rows(response)) == 10


def test_staff_see_only_imports_of_their_stores(client):
    own, other = StoreFactory(), StoreFactory()
    clerk = staff_user(own)
    colleague = staff_user(own)
    visible = ImportJobFactory(created_by=colleague, stores=[own], original_name="own-store.csv")
    hidden = ImportJobFactory(
        created_by=colleague, stores=[own, other], original_name="two-stores.csv"
    )
    foreign = ImportJobFactory(stores=[other], original_name="other-store.csv")
    client.force_login(clerk)

    response = client.get(reverse("home:imports"))

    listed = _rows(response)
    assert str(visible.task_id) in listed
    assert str(hidden.task_id) not in listed
    assert str(foreign.task_id) not in listed
    assert b"other-store.csv" not in response.content


def test_error_report_link_only_with_bad_rows(client):
    user = operations_user()
    with_bad = ImportJobFactory(
        created_by=user, status=ImportStatus.DONE, rows_ok=5, rows_bad=2, pct=100
    )
    clean = ImportJobFactory(created_by=user, status=ImportStatus.DONE, rows_ok=7, pct=100)
    client.force_login(user)

    response = client.get(reverse("home:imports"))

    rows = _rows(response)
    report_url = reverse("imports:job-errors", kwargs={"task_id": with_bad.task_id})
    assert f'href="{report_url}"' in rows[str(with_bad.task_id)]
    assert "5 rows imported \u00b7 2 rejected" in rows[str(with_bad.task_id)]
    assert "errors.csv" not in rows[str(clean.task_id)]


def test_hostile_file_name_shows_as_text(client):
    user = operations_user()
    name = '<script>alert("x")</script><img src=x onerror=alert(1)>.csv'
    ImportJobFactory(created_by=user, original_name=name)
    client.force_login(user)

    response = client.get(reverse("home:imports"))

    html = response.content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert escape(name) in html
    assert _initial_payloads(html)[0]["file_name"] == name


def test_initial_json_carries_event_payloads(client):
    user = operations_user()
    job = ImportJobFactory(created_by=user, status=ImportStatus.LOADING, pct=60, rows_total=10)
    client.force_login(user)

    response = client.get(reverse("home:imports"))

    job.refresh_from_db()
    assert _initial_payloads(response.content.decode()) == [import_event_payload(job=job)]


def test_upload_form_offers_allowed_kinds(client):
    store = StoreFactory()
    client.force_login(staff_user(store))

    response = client.get("/home/")

    html = response.content.decode()
    form = html.split('id="import-form"', 1)[1].split("</form>", 1)[0]
    assert '<option value="stock">' in form
    assert '<option value="sales">' in form
    assert '<option value="products">' not in form
    assert '<option value="pricelist">' not in form
    assert f'<option value="{store.code}">' in form


def test_upload_form_lists_columns_per_kind(client):
    client.force_login(staff_user(StoreFactory()))

    response = client.get("/home/")

    form = response.content.decode().split('id="import-form"', 1)[1].split("</form>", 1)[0]
    stock = form.split('data-kinds="stock">', 1)[1].split("</p>", 1)[0]
    assert "Columns: store, sku required; serial, qty, status, unit_cost, received_at optional." in stock
    assert "With a default store, store may be left out." in stock
    assert 'href="/api/imports/templates/stock" download' in stock
    assert 'data-kinds="products"' not in form


def test_back_office_may_start_every_kind(client):
    StoreFactory()
    client.force_login(back_office_user())

    response = client.get("/home/")

    form = response.content.decode().split('id="import-form"', 1)[1].split("</form>", 1)[0]
    for kind in ("stock", "sales", "products", "pricelist"):
        assert f'<option value="{kind}">' in form


def test_upload_without_javascript_starts_import(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    store = StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    client.force_login(staff_user(store))

    response = client.post(
        reverse("home:imports-upload"),
        {
            "kind": "stock",
            "file": SimpleUploadedFile("count.csv", STOCK_CSV),
            "default_store": "S001",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/home/#imports"
    job = ImportJob.objects.get()
    assert job.kind == "stock"
    assert job.default_store == store


def test_upload_without_javascript_reports_error(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    store = StoreFactory()
    client.force_login(staff_user(store))

    response = client.post(
        reverse("home:imports-upload"),
        {"kind": "products", "file": SimpleUploadedFile("products.csv", b"sku,name\nA,B\n")},
        follow=True,
    )

    assert b"The import was not started" in response.content
    assert b"only back office" in response.content
    assert ImportJob.objects.count() == 0


def test_upload_without_javascript_needs_file(client):
    client.force_login(staff_user(StoreFactory()))

    response = client.post(reverse("home:imports-upload"), {"kind": "stock"}, follow=True)

    assert b"No file was uploaded" in response.content
    assert ImportJob.objects.count() == 0


def test_api_upload_without_file_names_the_field(client):
    client.force_login(operations_user())

    response = client.post("/api/imports", {"kind": "stock", "options": "{}"})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "file_empty"
    assert body["field_errors"] == {"file": ["Choose a file to import."]}
    assert ImportJob.objects.count() == 0


def test_api_upload_without_kind_and_file_names_both(client):
    client.force_login(operations_user())

    response = client.post("/api/imports", {"options": "{}"})

    assert response.status_code == 400
    body = response.json()
    assert body["field_errors"] == {
        "kind": ["Choose a kind: products, pricelist, stock, sales."],
        "file": ["Choose a file to import."],
    }
    assert ImportJob.objects.count() == 0


def test_imports_partial_requires_login(client):
    response = client.get(reverse("home:imports"))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "\u2014"), (0, "0:00"), (7, "0:07"), (65, "1:05"), (3_725, "1:02:05")],
)
def test_eta_reads_as_clock_time(seconds, text):
    assert import_eta(seconds) == text


def test_rate_rounds_and_groups_thousands():
    assert import_rate(12_345.6) == "12,346"
    assert import_rate(None) == "\u2014"


def test_line_of_failed_job_without_reason():
    payload = {"status": "failed", "failure_reason": None, "pct": 10}

    assert import_line(payload) == "Failed: no reason was recorded."
