from django.conf import settings

from imports.tasks import IMPORT_QUEUE, RESUME_STALE_TASK


def test_stale_sweep_runs_every_minute_on_imports_queue():
    entry = settings.CELERY_BEAT_SCHEDULE["imports-resume-stale"]

    assert entry["task"] == RESUME_STALE_TASK
    assert entry["schedule"] == 60.0
    assert entry["options"]["queue"] == IMPORT_QUEUE
