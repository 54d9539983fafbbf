import pytest

from imports.models import ImportStatus
from imports.services import import_job_retry
from imports.tests.factories import ImportJobFactory
from inventory.tests.factories import back_office_user

pytestmark = pytest.mark.django_db


def test_retry_from_start_resets_percent():
    job = ImportJobFactory(status=ImportStatus.FAILED, pct=27.5, checkpoint={})

    retried = import_job_retry(actor=back_office_user(), job=job, dispatch=False)

    assert retried.status == ImportStatus.QUEUED
    assert retried.pct == 0


def test_retry_from_start_resets_row_counts():
    job = ImportJobFactory(
        status=ImportStatus.CANCELLED, checkpoint={}, rows_total=200_000, rows_done=185_000,
        rows_ok=183_851, rows_bad=1_149,
    )

    import_job_retry(actor=back_office_user(), job=job, dispatch=False)

    job.refresh_from_db()
    assert (job.rows_done, job.rows_ok, job.rows_bad) == (0, 0, 0)
    assert job.rows_total is None


def test_retry_in_finalizing_keeps_percent():
    job = ImportJobFactory(
        status=ImportStatus.FAILED, pct=61.25,
        checkpoint={"phase": ImportStatus.FINALIZING, "plain_after": [3, 40]},
    )

    job.rows_ok, job.rows_bad = 90_000, 12
    job.save()

    retried = import_job_retry(actor=back_office_user(), job=job, dispatch=False)

    assert retried.status == ImportStatus.QUEUED
    assert retried.pct == 61.25
    assert (retried.rows_ok, retried.rows_bad) == (90_000, 12)


@pytest.mark.parametrize("code", ["column_missing", "header_missing", "file_unsupported"])
def test_retry_rejects_failure_of_file(code):
    from imports.errors import ImportRequestError

    job = ImportJobFactory(status=ImportStatus.FAILED, failure_code=code,
                           failure_reason="Column 'qty' is missing.", checkpoint={})

    with pytest.raises(ImportRequestError) as error:
        import_job_retry(actor=back_office_user(), job=job, dispatch=False)

    assert error.value.status_code == 409
    assert error.value.code == "not_retryable"
    assert "upload it again" in error.value.message
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED


@pytest.mark.parametrize(("status", "code", "retryable"), [
    (ImportStatus.FAILED, "worker_fault", True),
    (ImportStatus.FAILED, "file_missing", True),
    (ImportStatus.CANCELLED, "", True),
    (ImportStatus.FAILED, "column_duplicate", False),
    (ImportStatus.DONE, "", False),
])
def test_payload_says_whether_retry_can_help(status, code, retryable):
    from imports.events import import_event_payload

    job = ImportJobFactory(status=status, failure_code=code)

    assert import_event_payload(job=job)["retryable"] is retryable
