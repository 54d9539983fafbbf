import io

import pytest
from django.core.management import CommandError, call_command

from imports.models import ImportJob, ImportStatus
from imports.tests.helpers import CASES_DIR, catalog_for
from inventory.models import StockLevel
from inventory.tests.factories import ProductFactory, StoreFactory, UserFactory, operations_user
from ops_portal.models import ApiToken
from ops_portal.tokens import api_token_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_import_file_prints_progress_and_outcome():
    path = CASES_DIR / "19-ragged-rows.csv"
    catalog_for(path)
    user = operations_user()
    out = io.StringIO()

    call_command("import_file", str(path), kind="stock", user=user.username, stdout=out)

    text = out.getvalue()
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.DONE
    assert "100.0%" in text
    assert "imported 4, rejected 2" in text
    assert f"/api/imports/{job.task_id}/errors.csv" in text


def test_import_file_fails_on_failed_job():
    path = CASES_DIR / "14-duplicate-headers.xlsx"
    catalog_for(path)

    with pytest.raises(CommandError) as error:
        call_command("import_file", str(path), kind="stock", user=operations_user().username,
                     stdout=io.StringIO())

    assert "failed" in str(error.value)
    assert "qty" in str(error.value)


def test_import_file_rejects_missing_path():
    with pytest.raises(CommandError) as error:
        call_command("import_file", "/nonexistent/file.csv", kind="stock", stdout=io.StringIO())

    assert "was not found" in str(error.value)


def test_import_file_rejects_folder(tmp_path):
    with pytest.raises(CommandError) as error:
        call_command("import_file", str(tmp_path), kind="stock", stdout=io.StringIO())

    assert "is a folder" in str(error.value)


def test_import_file_writes_error_report(tmp_path):
    path = CASES_DIR / "19-ragged-rows.csv"
    catalog_for(path)
    report = tmp_path / "errors.csv"
    out = io.StringIO()

    call_command("import_file", str(path), kind="stock", user=operations_user().username,
                 error_report=report, stdout=out)

    job = ImportJob.objects.get()
    lines = report.read_text(encoding="utf-8-sig").splitlines()
    assert f"written to {report}" in out.getvalue()
    assert lines[0].startswith("row_number,column,value,error_code,message,")
    assert len(lines) == 1 + job.row_errors.count()
    assert {line.split(",")[3] for line in lines[1:]} == {"field_count"}


def test_import_status_writes_error_report_of_job(tmp_path):
    path = CASES_DIR / "19-ragged-rows.csv"
    catalog_for(path)
    call_command("import_file", str(path), kind="stock", user=operations_user().username,
                 stdout=io.StringIO())
    job = ImportJob.objects.get()
    report = tmp_path / "later.csv"

    call_command("import_status", str(job.pk), error_report=report, stdout=io.StringIO())

    assert report.read_bytes().startswith(b"\xef\xbb\xbfrow_number,")
    assert len(report.read_text(encoding="utf-8-sig").splitlines()) == 1 + job.row_errors.count()


def test_import_status_report_needs_job(tmp_path):
    with pytest.raises(CommandError) as error:
        call_command("import_status", error_report=tmp_path / "x.csv", stdout=io.StringIO())

    assert "needs the import" in str(error.value)


def test_import_status_rejects_limit_zero():
    with pytest.raises(CommandError) as error:
        call_command("import_status", limit=0, stdout=io.StringIO())

    assert "--limit must be 1 or more" in str(error.value)


def test_rerun_import_of_done_job_changes_nothing():
    path = CASES_DIR / "01-bom-first-header.csv"
    catalog_for(path)
    user = operations_user()
    call_command("import_file", str(path), kind="stock", user=user.username, stdout=io.StringIO())
    levels = sorted(StockLevel.objects.values_list("store_id", "product_id", "on_hand"))
    first = ImportJob.objects.get()

    call_command("rerun_import", str(first.task_id), user=user.username, stdout=io.StringIO())

    rerun = ImportJob.objects.exclude(pk=first.pk).get()
    assert rerun.status == ImportStatus.DONE
    assert rerun.summary["rerun_of"] == str(first.task_id)
    assert sorted(StockLevel.objects.values_list("store_id", "product_id", "on_hand")) == levels


def test_rerun_import_with_column_map_after_failure(tmp_path):
    StoreFactory(code="T01")
    ProductFactory(sku="CBL-7")
    user = operations_user()
    path = tmp_path / "count.csv"
    path.write_text("Shop,Article No,Amount\r\nT01,CBL-7,12\r\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import_file", str(path), kind="stock", user=user.username,
                     stdout=io.StringIO())
    failed = ImportJob.objects.get()

    call_command("rerun_import", str(failed.task_id), user=user.username,
                 column_map='{"sku": "Article No", "qty": "Amount"}', stdout=io.StringIO())

    rerun = ImportJob.objects.exclude(pk=failed.pk).get()
    assert failed.failure_code == "column_missing"
    assert rerun.status == ImportStatus.DONE
    assert rerun.options["column_map"] == {"sku": "Article No", "qty": "Amount"}
    assert StockLevel.objects.get(product__sku="CBL-7").on_hand == 12


def test_rerun_import_rejects_column_map_not_json():
    with pytest.raises(CommandError) as error:
        call_command("rerun_import", "1", column_map="{sku", stdout=io.StringIO())

    assert "--column-map is not valid JSON" in str(error.value)


def test_import_status_lists_jobs():
    path = CASES_DIR / "01-bom-first-header.csv"
    catalog_for(path)
    call_command("import_file", str(path), kind="stock", user=operations_user().username,
                 stdout=io.StringIO())
    out = io.StringIO()

    call_command("import_status", stdout=out)
    call_command("import_status", str(ImportJob.objects.get().pk), stdout=out)

    assert "01-bom-first-header.csv" in out.getvalue()
    assert "finalizing" in out.getvalue()


def test_create_api_token_prints_working_token():
    user = UserFactory(username="erp-bot")
    out = io.StringIO()

    call_command("create_api_token", "erp-bot", name="ERP", stdout=out, stderr=io.StringIO())

    key = out.getvalue().strip()
    assert key.startswith("ops_")
    assert api_token_user(key) == user
    assert ApiToken.objects.get().key_hash != key
