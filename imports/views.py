"""Streaming endpoints of the imports API: live events (SSE) and the error report (CSV).

They are plain async Django views rather than ninja operations, so that a slow client
keeps no worker thread busy while it reads a long stream.
"""

import asyncio
import json
import time

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

from imports.events import import_event_payload
from imports.models import ImportJob
from imports.reports import error_report_batch, error_report_head
from imports.retention import import_purged_error
from imports.selectors import import_job_get_for_user
from ops_portal.errors import DomainError
from ops_portal.tokens import api_token_user, bearer_key

POLL_SECONDS = 0.25
# Every running job sends at least one event per this many seconds, even without change.
HEARTBEAT_SECONDS = 1.0
# A stream ends after this long; EventSource reconnects with Last-Event-ID by itself.
MAX_STREAM_SECONDS = 30 * 60


def _not_authenticated() -> JsonResponse:
    return JsonResponse(
        {
            "code": "not_authenticated",
            "message": (
                "Log in to use the API: the request has no valid session or bearer token."
            ),
            "field_errors": {},
        },
        status=401,
    )


async def _job_for_request(request: HttpRequest, task_id) -> ImportJob | HttpResponse:
    key = bearer_key(request)
    user = await sync_to_async(api_token_user)(key) if key else await request.auser()
    if user is None or not user.is_authenticated:
        return _not_authenticated()
    try:
        return await sync_to_async(import_job_get_for_user)(user=user, task_id=task_id)
    except DomainError as error:
        return JsonResponse(error.as_dict(), status=error.status_code)


def event_id(job: ImportJob) -> str:
    """Return the id of the job's current state; it grows with every state change."""
    return str(int(job.updated_at.timestamp() * 1000))


def event_format(job: ImportJob) -> str:
    name = "import.finished" if job.is_finished else "import.progress"
    data = json.dumps(import_event_payload(job=job), separators=(",", ":"))
    return f"id: {event_id(job)}\nevent: {name}\ndata: {data}\n\n"


@login_not_required
async def job_events(request: HttpRequest, task_id) -> HttpResponse:
    """Stream a job's state as Server-Sent Events until it finishes.

    A state change is sent within POLL_SECONDS, and a running job sends at least one event
    per HEARTBEAT_SECONDS. The last event is the final state. A client that reconnects
    with the id of the final state as Last-Event-ID gets 204, the status on which
    EventSource stops reconnecting.
    """
    found = await _job_for_request(request, task_id)
    if isinstance(found, HttpResponse):
        return found
    job = found
    last_seen = request.headers.get("Last-Event-ID", "")
    if job.is_finished and last_seen == event_id(job):
        return HttpResponse(status=204)

    async def stream():
        yield "retry: 2000\n\n"
        sent_id, sent_at = last_seen, 0.0
        ends_at = time.monotonic() + MAX_STREAM_SECONDS
        current = job
        while True:
            now = time.monotonic()
            changed = event_id(current) != sent_id
            # Send the heartbeat at the last poll before it is due, since the next poll
            # comes only after POLL_SECONDS and a database read.
            heartbeat_due = now - sent_at + POLL_SECONDS >= HEARTBEAT_SECONDS
            if changed or heartbeat_due:
                yield event_format(current)
                sent_id, sent_at = event_id(current), now
            if current.is_finished or now >= ends_at:
                return
            await asyncio.sleep(POLL_SECONDS)
            current = await ImportJob.objects.aget(pk=job.pk)

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


@login_not_required
async def job_errors_csv(request: HttpRequest, task_id) -> HttpResponse:
    """Stream the error report: one line per problem, then the row's original cells.

    UTF-8 with a byte order mark so that spreadsheet programs detect the encoding, and
    every cell that a spreadsheet would run as a formula is neutralised.
    """
    found = await _job_for_request(request, task_id)
    if isinstance(found, HttpResponse):
        return found
    job = found
    if job.purged_at is not None:
        purged_error = import_purged_error(job=job, subject="error report").with_status(410)
        return JsonResponse(purged_error.as_dict(), status=purged_error.status_code)

    async def stream():
        yield error_report_head(job)
        after_id = 0
        while found := await sync_to_async(error_report_batch)(job.pk, after_id):
            text, after_id = found
            yield text

    stem = job.original_name.rsplit(".", 1)[0] or "import"
    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    # RFC 6266 form: a name outside Latin-1 goes in filename*, which a plain header cannot carry.
    response["Content-Disposition"] = content_disposition_header(True, f"{stem}-errors.csv")
    return response
