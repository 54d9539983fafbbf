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
