"""Rows per second of a phase that starts with rows already handled, and the final pct."""

import time

import pytest

from imports.models import ImportJob, ImportStatus
from imports.pipeline.progress import ProgressReporter
from imports.tests.factories import ImportJobFactory
from inventory.tests.factories import back_office_user

pytestmark = pytest.mark.django_db


def test_rows_done_before_phase_not_counted_as_rate():
    job = ImportJobFactory(created_by=back_office_user(), status=ImportStatus.VALIDATING)
    reporter = ProgressReporter(job)

    reporter.phase_start(ImportStatus.LOADING, total=100_000, done=80_000)
    reporter.advance(80_000, force=True)
    time.sleep(0.2)
    reporter.advance(100_000, force=True)

    job = ImportJob.objects.get(pk=job.pk)
    assert job.status == ImportStatus.LOADING
    assert job.rows_done == 100_000
    # 20,000 rows in 0.2 s or more; counting the 80,000 done before would give 500,000.
    assert 0 < job.throughput_rps <= 110_000


def test_rate_counts_from_work_started_before_phase():
    job = ImportJobFactory(created_by=back_office_user(), status=ImportStatus.VALIDATING)
    reporter = ProgressReporter(job)

    reporter.phase_start(ImportStatus.LOADING, total=100_000, done=50_000,
                         work_started=time.monotonic() - 2.0)
    reporter.advance(100_000, force=True)

    job = ImportJob.objects.get(pk=job.pk)
    # 50,000 rows over 2 s or more; timed from the phase's start it would be millions.
    assert 0 < job.throughput_rps <= 25_000


def test_phase_start_reports_rows_already_done():
    job = ImportJobFactory(created_by=back_office_user(), status=ImportStatus.VALIDATING)
    reporter = ProgressReporter(job)

    reporter.phase_start(ImportStatus.LOADING, total=100_000, done=80_000)

    job = ImportJob.objects.get(pk=job.pk)
    assert job.rows_done == 80_000
    assert job.throughput_rps is None


@pytest.mark.parametrize("status", [ImportStatus.CANCELLED, ImportStatus.FAILED])
def test_finish_counts_rows_since_last_write(status):
    job = ImportJobFactory(created_by=back_office_user(), status=ImportStatus.PARSING)
    reporter = ProgressReporter(job)
    reporter.phase_start(ImportStatus.VALIDATING, total=1_000)
    reporter.advance(10, force=True)

    # Within the write interval, so only the job object has these rows.
    reporter.advance(500)
    reporter.finish(status)

    job = ImportJob.objects.get(pk=job.pk)
    assert job.status == status
    assert job.rows_done == 500
    # Validating spans 5 to 35%, so half of its rows is 20%.
    assert job.pct == 20.0
    assert job.eta_seconds is None
