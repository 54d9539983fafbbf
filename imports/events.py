"""Import progress events: one payload shape for the websocket, the SSE stream and the API."""

import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.urls import reverse

from imports.models import ImportJob

logger = logging.getLogger(__name__)

GROUP_ALL = "imports.all"
# After a failed send, progress events are dropped for this long. Otherwise each event
# would wait for the layer's connect timeout (5 s on Redis, see CHANNEL_LAYERS) while
# Redis hangs, and the worker would make one progress write per timeout. Events of
# finished jobs are always sent.
LAYER_RETRY_AFTER_SECONDS = 5.0

_layer_failed_at: float | None = None


def import_event_payload(*, job: ImportJob) -> dict:
    """Return the public state of a job, as events and the status endpoint carry it."""
    has_report = job.rows_bad > 0 and job.is_finished and job.purged_at is None
    return {
        "task_id": str(job.task_id),
        "kind": job.kind,
        "file_name": job.original_name,
        "status": job.status,
        "rows_total": job.rows_total,
        "rows_ok": job.rows_ok,
        "rows_bad": job.rows_bad,
        "rows_done": job.rows_done,
        "pct": float(job.pct),
        "throughput_rps": job.throughput_rps,
        "eta_seconds": job.eta_seconds,
        "failure_code": job.failure_code or None,
        "failure_reason": job.failure_reason or None,
        "retryable": job.is_retryable,
        "dry_run": job.is_dry_run,
        "error_report_url": (
            reverse("imports:job-errors", kwargs={"task_id": job.task_id}) if has_report else None
        ),
        "updated_at": job.updated_at.isoformat() if job.updated_at else None,
    }


def import_event_send(*, job: ImportJob) -> None:
    """Push a job's state to the websockets, each of which passes it on if its user may see it.

    A lost event costs nothing but latency: readers fall back to the job row. So a failing
    channel layer is logged and otherwise ignored, and progress events are dropped for
    LAYER_RETRY_AFTER_SECONDS after a failure.
    """
    global _layer_failed_at
    layer = get_channel_layer()
    if layer is None:
        return
    failed_recently = (
        _layer_failed_at is not None
        and time.monotonic() - _layer_failed_at < LAYER_RETRY_AFTER_SECONDS
    )
    if failed_recently and not job.is_finished:
        return
    # Every socket is in GROUP_ALL, so the worker makes one send per event however many
    # stores the job touches. created_by and store_ids let each consumer apply the
    # visibility rule of import_jobs_for_user(); they are not part of the public event.
    message = {
        "type": "import.event",
        "event": import_event_payload(job=job),
        "created_by": job.created_by_id,
        "store_ids": job.store_ids_cached(),
    }
    try:
        async_to_sync(layer.group_send)(GROUP_ALL, message)
    except Exception:  # noqa: BLE001 - any layer fault only delays the progress bar
        _layer_failed_at = time.monotonic()
        logger.warning("import.event_send_failed task_id=%s", job.task_id, exc_info=True)
    else:
        _layer_failed_at = None
