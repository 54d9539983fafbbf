import asyncio
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from imports.models import ImportJob, ImportStatus
from imports.pipeline.runner import import_job_run
from inventory.tests.factories import (
    ProductFactory,
    StoreFactory,
    back_office_user,
    operations_user,
    staff_user,
)

pytestmark = pytest.mark.django_db


def _stream_text(response) -> str:
    """Read an async streaming response; its queries run on other threads, so the test
    data must be committed (a transactional test)."""

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return asyncio.run(collect()).decode("utf-8")

STOCK_CSV = b"store,sku,qty\nS001,ACC-1,5\nS001,ACC-2,x\n"


def _upload(content: bytes = STOCK_CSV, name: str = "count.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def _post(client, *, content: bytes = STOCK_CSV, name: str = "count.csv", kind: str = "stock",
          options: dict | None = None, key: str | None = None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        "/api/imports",
        {"file": _upload(content, name), "kind": kind, "options": json.dumps(options or {})},
        **headers,
    )


@pytest.fixture
def catalog():
    store = StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    ProductFactory(sku="ACC-2")
    return store


def test_post_answers_202_with_urls(client, catalog):
    client.force_login(operations_user())

    response = _post(client)

    assert response.status_code == 202
    body = response.json()
    job = ImportJob.objects.get()
    assert body["task_id"] == str(job.task_id)
    assert body["status"] == "queued"
    assert body["status_url"] == f"/api/imports/{job.task_id}"
    assert body["events_url"] == f"/api/imports/{job.task_id}/events"


def test_post_rejects_anonymous():
    from django.test import Client

    response = _post(Client(enforce_csrf_checks=True))

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert ImportJob.objects.count() == 0


def test_same_idempotency_key_returns_same_job(client, catalog):
    client.force_login(operations_user())

    first = _post(client, key="upload-1")
    second = _post(client, key="upload-1")

    assert first.json()["task_id"] == second.json()["task_id"]
    assert ImportJob.objects.count() == 1


def test_same_key_with_other_file_is_conflict(client, catalog):
    client.force_login(operations_user())
    _post(client, key="upload-1")

    response = _post(client, key="upload-1", content=STOCK_CSV + b"S001,ACC-1,1\n")

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert ImportJob.objects.count() == 1


def test_same_key_with_other_kind_names_kinds(client, catalog):
    client.force_login(operations_user())
    _post(client, key="upload-1")

    response = _post(client, key="upload-1", kind="products")

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert "as stock, not products" in response.json()["message"]
    assert "another file" not in response.json()["message"]
    assert ImportJob.objects.count() == 1


@pytest.mark.parametrize("kind", ["Stock", " STOCK "])
def test_post_accepts_kind_in_any_case(client, catalog, kind):
    client.force_login(operations_user())

    response = _post(client, kind=kind)

    assert response.status_code == 202
    assert ImportJob.objects.get().kind == "stock"


def test_post_rejects_file_over_limit(client, settings, catalog):
    settings.IMPORT_MAX_UPLOAD_BYTES = 10
    client.force_login(operations_user())

    response = _post(client)

    assert response.status_code == 413
    assert "limit" in response.json()["message"]
    assert ImportJob.objects.count() == 0


def test_post_rejects_file_that_is_no_table(client, catalog):
    client.force_login(operations_user())

    response = _post(client, content=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", name="count.csv")

    assert response.status_code == 400
    assert response.json()["code"] == "file_unsupported"
    assert ImportJob.objects.count() == 0


def test_post_rejects_unknown_kind(client):
    client.force_login(operations_user())

    response = _post(client, kind="customers")

    assert response.status_code == 400
    assert response.json()["code"] == "kind_unknown"


def test_staff_cannot_import_products(client, catalog):
    client.force_login(staff_user(catalog))

    response = _post(client, kind="products", content=b"sku,name\nX-1,Thing\n")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert ImportJob.objects.count() == 0


def test_detail_reports_progress_and_report_link(client, catalog):
    user = operations_user()
    client.force_login(user)
    task_id = _post(client).json()["task_id"]
    import_job_run(job_id=ImportJob.objects.get().pk)

    body = client.get(f"/api/imports/{task_id}").json()

    assert body["status"] == ImportStatus.DONE
    assert (body["rows_total"], body["rows_ok"], body["rows_bad"]) == (2, 1, 1)
    assert body["pct"] == 100
    assert body["error_report_url"] == f"/api/imports/{task_id}/errors.csv"
    assert set(body["phase_timings"]) == {"parsing", "validating", "loading", "finalizing"}


def test_staff_sees_only_jobs_of_their_stores(client, catalog):
    other = StoreFactory(code="S002")
    back_office = back_office_user()
    client.force_login(back_office)
    own_job = _post(client).json()["task_id"]
    foreign_job = _post(client, content=b"store,sku,qty\nS002,ACC-1,5\n").json()["task_id"]
    for job in ImportJob.objects.all():
        import_job_run(job_id=job.pk)
    client.force_login(staff_user(catalog))

    listed = [job["task_id"] for job in client.get("/api/imports").json()]
    foreign = client.get(f"/api/imports/{foreign_job}")

    assert listed == [own_job]
    assert foreign.status_code == 404
    assert other.pk in ImportJob.objects.get(task_id=foreign_job).store_ids_cached()


@pytest.mark.django_db(transaction=True)
def test_error_report_neutralises_formulas(client, catalog):
    client.force_login(operations_user())
    task_id = _post(client, content=b"store,sku,qty\nS001,=HYPERLINK(1),5\n").json()["task_id"]
    import_job_run(job_id=ImportJob.objects.get().pk)

    response = client.get(f"/api/imports/{task_id}/errors.csv")
    text = _stream_text(response)

    assert response.status_code == 200
    assert text.startswith("\ufeffrow_number,column,value,error_code,message,store,sku,qty")
    assert "'=HYPERLINK(1)" in text
    assert ",=HYPERLINK" not in text


def test_cancel_queued_job(client, catalog):
    client.force_login(operations_user())
    task_id = _post(client).json()["task_id"]

    response = client.post(f"/api/imports/{task_id}/cancel")

    assert response.status_code == 202
    assert response.json()["status"] == ImportStatus.CANCELLED


def test_retry_rejects_running_job(client, catalog):
    client.force_login(operations_user())
    task_id = _post(client).json()["task_id"]

    response = client.post(f"/api/imports/{task_id}/retry")

    assert response.status_code == 409
    assert response.json()["code"] == "not_retryable"


@pytest.mark.django_db(transaction=True)
def test_events_stream_ends_with_final_state(client, catalog):
    client.force_login(operations_user())
    task_id = _post(client).json()["task_id"]
    import_job_run(job_id=ImportJob.objects.get().pk)

    response = client.get(f"/api/imports/{task_id}/events")
    body = _stream_text(response)

    assert response["Content-Type"] == "text/event-stream"
    assert "event: import.finished" in body
    assert '"status":"done"' in body


def test_bearer_token_posts_without_csrf(catalog):
    from django.test import Client

    from ops_portal.tokens import api_token_create

    _token, key = api_token_create(user=operations_user(), name="ERP export")
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/api/imports", {"file": _upload(), "kind": "stock", "options": "{}"},
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    listed = client.get("/api/imports", HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code == 202
    assert len(listed.json()) == 1


def test_revoked_token_is_rejected(catalog):
    from django.test import Client
    from django.utils import timezone

    from ops_portal.tokens import api_token_create

    token, key = api_token_create(user=operations_user(), name="Old script")
    token.revoked_at = timezone.now()
    token.save()

    response = Client().get("/api/imports", HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code == 401


def test_session_post_needs_csrf_token(catalog):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(operations_user())

    response = client.post("/api/imports", {"file": _upload(), "kind": "stock", "options": "{}"})

    assert response.status_code == 403
    assert ImportJob.objects.count() == 0
