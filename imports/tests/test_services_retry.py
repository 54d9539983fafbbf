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


def test_retry_in_finalizing_keeps_percent():
    job = ImportJobFactory(
        status=ImportStatus.FAILED, pct=61.25,
        checkpoint={"phase": ImportStatus.FINALIZING, "plain_after": [3, 40]},
    )

    retried = import_job_retry(actor=back_office_user(), job=job, dispatch=False)

    assert retried.status == ImportStatus.QUEUED
    assert retried.pct == 61.25
