"""Dry runs: every row is checked and reported, and no data changes."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from home.templatetags.home_imports import import_line
from imports.events import import_event_payload
from imports.models import ImportJob, ImportRowError, ImportStatus, StagedStock
from imports.pipeline.runner import import_job_run
from imports.services import import_job_rerun, import_job_start
from imports.tests.helpers import import_run
from inventory.models import StockLevel, StockMovement
from inventory.tests.factories import ProductFactory, StoreFactory, operations_user
from ops_portal.errors import DomainError

pytestmark = pytest.mark.django_db

COUNT_CSV = "store,sku,qty\r\nT01,CBL-7,12\r\nT01,NO-SUCH,3\r\nT01,CBL-8,lots\r\nT01,CBL-8,5\r\n"


@pytest.fixture
def count(tmp_path):
    StoreFactory(code="T01")
    ProductFactory(sku="CBL-7")
    ProductFactory(sku="CBL-8")
    path = tmp_path / "count.csv"
    path.write_text(COUNT_CSV, encoding="utf-8")
    return path


def _upload(content: str = COUNT_CSV) -> SimpleUploadedFile:
    return SimpleUploadedFile("count.csv", content.encode(), content_type="text/csv")


def test_dry_run_reports_rows_and_changes_nothing(count):
    job = import_run(count, kind="stock", user=operations_user(), dry_run=True)

    assert job.status == ImportStatus.DONE
    assert job.pct == 100.0
    assert (job.rows_total, job.rows_ok, job.rows_bad) == (4, 2, 2)
    assert set(job.phase_timings) == {"parsing", "validating"}
    assert sorted(ImportRowError.objects.filter(job=job).values_list("row_number", flat=True)) == [3, 4]
    assert job.summary["columns"] == {"store": "store", "sku": "sku", "qty": "qty"}
    assert StockLevel.objects.count() == 0
    assert StockMovement.objects.count() == 0
    assert StagedStock.objects.filter(job=job).count() == 0


def test_dry_run_payload_and_line(count):
    job = import_run(count, kind="stock", user=operations_user(), dry_run=True)

    payload = import_event_payload(job=job)

    assert payload["dry_run"] is True
    assert payload["error_report_url"] == f"/api/imports/{job.task_id}/errors.csv"
    assert import_line(payload) == "Dry run: 2 rows OK \u00b7 2 rejected, nothing changed"


def test_rerun_of_dry_run_imports_file(count):
    user = operations_user()
    checked = import_run(count, kind="stock", user=user, dry_run=True)

    job = import_job_rerun(actor=user, job=checked, dry_run=False, dispatch=False)
    import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.is_dry_run is False
    assert job.status == ImportStatus.DONE
    assert job.summary["rerun_of"] == str(checked.task_id)
    assert StockLevel.objects.get(product__sku="CBL-7").on_hand == 12
    assert StockLevel.objects.get(product__sku="CBL-8").on_hand == 5


def test_dry_run_option_must_be_boolean():
    with pytest.raises(DomainError) as raised:
        import_job_start(actor=operations_user(), kind="stock", upload=_upload(),
                         options={"dry_run": "yes"}, dispatch=False)

    assert raised.value.code == "options_invalid"
    assert "dry_run 'yes' is invalid. Send true or false." in raised.value.message


def test_same_key_for_dry_run_and_import_conflicts(count):
    user = operations_user()
    first = import_job_start(actor=user, kind="stock", upload=_upload(), options={"dry_run": True},
                             idempotency_key="count-1", dispatch=False)
    again = import_job_start(actor=user, kind="stock", upload=_upload(), options={"dry_run": True},
                             idempotency_key="count-1", dispatch=False)

    with pytest.raises(DomainError) as raised:
        import_job_start(actor=user, kind="stock", upload=_upload(), idempotency_key="count-1",
                         dispatch=False)

    assert again.job.pk == first.job.pk
    assert raised.value.code == "idempotency_conflict"
    assert "already used for a dry run" in raised.value.message


def test_api_starts_dry_run_and_imports_it(count):
    user = operations_user()
    client = Client()
    client.force_login(user)

    response = client.post("/api/imports", {
        "kind": "stock", "file": _upload(), "options": '{"dry_run": true}',
    })
    checked = ImportJob.objects.get(task_id=response.json()["task_id"])
    import_job_run(job_id=checked.pk)
    rerun = client.post(f"/api/imports/{checked.task_id}/rerun", {"dry_run": False},
                        content_type="application/json")

    assert response.status_code == 202
    assert client.get(f"/api/imports/{checked.task_id}").json()["dry_run"] is True
    assert rerun.status_code == 202
    assert rerun.json()["dry_run"] is False
    assert ImportJob.objects.get(task_id=rerun.json()["task_id"]).is_dry_run is False


@pytest.mark.django_db(transaction=True)
def test_commands_dry_run_then_import(count):
    user = operations_user()
    out = io.StringIO()

    call_command("import_file", str(count), kind="stock", user=user.username, dry_run=True,
                 stdout=out)
    levels_after_dry_run = StockLevel.objects.count()
    checked = ImportJob.objects.get()
    call_command("rerun_import", str(checked.pk), user=user.username, import_for_real=True,
                 stdout=io.StringIO())

    assert "valid 2, rejected 2" in out.getvalue()
    assert "Dry run finished: nothing changed." in out.getvalue()
    assert levels_after_dry_run == 0
    assert StockLevel.objects.get(product__sku="CBL-7").on_hand == 12


def test_home_upload_without_javascript_starts_dry_run(count, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = Client()
    client.force_login(operations_user())

    response = client.post("/home/imports/upload/", {
        "kind": "stock", "file": _upload(), "dry_run": "true",
    }, follow=True)

    assert ImportJob.objects.get().is_dry_run is True
    assert "Dry run of count.csv queued." in response.content.decode()
