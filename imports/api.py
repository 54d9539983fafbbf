"""Imports API: start, follow, retry and cancel import jobs."""

import json

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from pydantic import ValidationError
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from imports.errors import ImportErrorCode, ImportRequestError
from imports.events import import_event_payload
from imports.columns import kind_fields
from imports.models import ImportJob, ImportKind
from imports.problems import ImportFileError
from imports.reports import csv_line
from imports.schemas import ErrorOut, ImportJobOut, ImportRerunIn, ImportStartOut
from imports.selectors import import_job_get_for_user, import_job_list_for_user
from imports.services import (
    import_job_cancel,
    import_job_rerun,
    import_job_retry,
    import_job_start,
)

router = Router(tags=["imports"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut}


def _urls(job: ImportJob) -> dict:
    return {
        "status_url": reverse("api:import-detail", kwargs={"task_id": job.task_id}),
        "events_url": reverse("imports:job-events", kwargs={"task_id": job.task_id}),
    }


def _job_out(job: ImportJob) -> dict:
    return {
        **import_event_payload(job=job),
        **_urls(job),
        "phase_timings": job.phase_timings,
        "summary": job.summary,
        "created_by": job.created_by.get_username(),
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "purged_at": job.purged_at,
    }


# file is optional in the signature, so a missing file gets the API's error shape with a field
# message instead of ninja's validation list. The schema still marks it as required.
_REQUIRED_FORM_FIELDS = {
    "requestBody": {"content": {"multipart/form-data": {"schema": {"required": ["file", "kind"]}}}}
}


@router.post(
    "/imports", response={202: ImportStartOut, **ERRORS}, url_name="import-list-create",
    openapi_extra=_REQUIRED_FORM_FIELDS,
)
def import_create(
    request: HttpRequest,
    file: File[UploadedFile | None] = None,
    kind: Form[str] = "",
    options: Form[str] = "{}",
) -> Status:
    """Upload a file and queue its import. The response comes at once; follow status_url or events_url.

    `options` is a JSON object: `column_map` (field name to column header), `sheet`,
    `price_list`, `source`, `priority`, `default_store` (store code), `dry_run` (true to
    check the file without changing data). Send an
    `Idempotency-Key` header to make a retried upload return the same job.
    """
    if file is None or not kind.strip():
        # Both missing fields are named at once, so a form can mark each of them.
        field_errors = {}
        if not kind.strip():
            field_errors["kind"] = [f"Choose a kind: {', '.join(ImportKind.values)}."]
        if file is None:
            field_errors["file"] = ["Choose a file to import."]
        raise ImportRequestError(
            "No file was uploaded. Send a CSV, TSV or XLSX file in the form field 'file'."
            if file is None else
            f"No import kind was given. Send one of {', '.join(ImportKind.values)} in the form field 'kind'.",
            code=ImportErrorCode.FILE_EMPTY if file is None else ImportErrorCode.KIND_UNKNOWN,
            field_errors=field_errors,
        )
    try:
        parsed = json.loads(options or "{}")
    except json.JSONDecodeError as error:
        raise ImportRequestError(
            f"options is not valid JSON ({error.msg} at position {error.pos}).",
            code=ImportErrorCode.OPTIONS_INVALID,
        ) from None
    if not isinstance(parsed, dict):
        raise ImportRequestError(
            "options must be a JSON object, such as {\"default_store\": \"S001\"}.",
            code=ImportErrorCode.OPTIONS_INVALID,
        )
    started = import_job_start(
        actor=request.user, kind=kind, upload=file, options=parsed,
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    job = started.job
    return Status(202, {"task_id": job.task_id, "status": job.status, **_urls(job)})


@router.get(
    "/imports/templates/{str:kind}",
    response={200: None, 401: ErrorOut, 404: ErrorOut},
    url_name="import-template",
    openapi_extra={"responses": {200: {
        "description": "A CSV file with the kind's header row.",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }}},
)
def import_template(request: HttpRequest, kind: str) -> HttpResponse:
    """Return a CSV template of an import kind: its header row, required fields first.

    The header names are the fields' own names, which every file may use; the aliases
    that also match are listed in docs/imports.md.
    """
    try:
        specs = kind_fields(kind)
    except ImportFileError as error:
        raise ImportRequestError(error.message, code=error.code).with_status(404) from None
    response = HttpResponse(
        "\ufeff" + csv_line([spec.name for spec in specs]),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = content_disposition_header(True, f"{kind}-template.csv")
    return response


@router.get("/imports", response=list[ImportJobOut], url_name="import-list")
def import_list(request: HttpRequest, limit: int = 20) -> list[dict]:
    """List the most recent imports the caller may see, newest first."""
    jobs = import_job_list_for_user(user=request.user, limit=max(1, min(limit, 100)))
    return [_job_out(job) for job in jobs]


@router.get("/imports/{uuid:task_id}", response={200: ImportJobOut, **ERRORS}, url_name="import-detail")
def import_detail(request: HttpRequest, task_id: str) -> dict:
    """Return one import's status and progress."""
    return _job_out(import_job_get_for_user(user=request.user, task_id=task_id))


@router.post("/imports/{uuid:task_id}/retry", response={202: ImportJobOut, **ERRORS}, url_name="import-retry")
def import_retry(request: HttpRequest, task_id: str) -> Status:
    """Run a failed or cancelled import again; rows already applied are not applied twice."""
    job = import_job_get_for_user(user=request.user, task_id=task_id)
    return Status(202, _job_out(import_job_retry(actor=request.user, job=job)))


@router.post(
    "/imports/{uuid:task_id}/rerun",
    response={202: ImportJobOut, **ERRORS},
    url_name="import-rerun",
    openapi_extra={"requestBody": {
        "required": False,
        "content": {"application/json": {"schema": ImportRerunIn.model_json_schema()}},
    }},
)
def import_rerun(request: HttpRequest, task_id: str) -> Status:
    """Import a finished import's file again as a new import, optionally with other choices.

    The new import has the same kind and options. A file that failed on its columns
    (column_missing) can be read with a `column_map` of the file's header names, which the
    failed import's summary lists under `header`. `dry_run: false` imports a file that a
    dry run checked. The JSON body is optional.
    """
    job = import_job_get_for_user(user=request.user, task_id=task_id)
    body = _rerun_body(request)
    rerun = import_job_rerun(
        actor=request.user, job=job, column_map=body.column_map, dry_run=body.dry_run
    )
    return Status(202, _job_out(rerun))


def _rerun_body(request: HttpRequest) -> ImportRerunIn:
    """Read the optional JSON body of a rerun; an empty body keeps every choice.

    The body is read as JSON whatever its Content-Type, because `curl -d` sends
    JSON as a form by default. An empty form, as a client without data sends it,
    counts as no body.
    """
    empty_form = request.content_type == "multipart/form-data" and not (
        request.POST or request.FILES
    )
    if empty_form or not request.body.strip():
        return ImportRerunIn()
    try:
        return ImportRerunIn.model_validate_json(request.body)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "body"
        raise ImportRequestError(
            f"The rerun body is invalid at {where}: {problem['msg']}. Send a JSON object "
            'such as {"column_map": {"sku": "Item"}} or {"dry_run": false}.',
            code=ImportErrorCode.OPTIONS_INVALID,
        ) from None


@router.post("/imports/{uuid:task_id}/cancel", response={202: ImportJobOut, **ERRORS}, url_name="import-cancel")
def import_cancel(request: HttpRequest, task_id: str) -> Status:
    """Cancel a queued or running import; a running one stops after its current chunk."""
    job = import_job_get_for_user(user=request.user, task_id=task_id)
    return Status(202, _job_out(import_job_cancel(actor=request.user, job=job)))


