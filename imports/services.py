"""Starting, retrying and cancelling import jobs."""

import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from imports.errors import ImportErrorCode, ImportRequestError
from imports.models import (
    COLUMN_FAILURE_CODES, ImportJob, ImportKind, ImportStatus, RUNNING_STATUSES,
)
from imports.retention import import_purged_error
from inventory.access import user_sees_all_stores
from inventory.selectors import store_get_for_user

logger = logging.getLogger(__name__)

# Kinds that change data shared by every store, so only users who see every store run them.
ALL_STORE_KINDS = (ImportKind.PRODUCTS, ImportKind.PRICELIST)
_OPTION_NAMES = {
    "column_map", "sheet", "price_list", "default_store", "priority", "source", "default_valid_from",
    "dry_run",
}
MIB = 1024 * 1024
# Linux file systems take names of at most 255 bytes, and 100 CJK characters are 300 bytes
# of UTF-8. A stem of at most 120 bytes leaves room for the suffix and for the characters
# that the storage adds to make a name unique.
MAX_STEM_BYTES = 120


@dataclass(frozen=True)
class ImportStart:
    job: ImportJob
    created: bool


def import_job_start(
    *,
    actor: AbstractBaseUser,
    kind: str,
    upload: UploadedFile,
    options: dict | None = None,
    idempotency_key: str | None = None,
    dispatch: bool = True,
) -> ImportStart:
    """Store an uploaded file and queue its import; no parsing happens here.

    The same idempotency key from the same user returns the job it started before, as long
    as the file is the same; a different file under that key raises IDEMPOTENCY_CONFLICT.
    With ``dispatch`` off the job is not queued, and the caller runs it itself.
    """
    # Kinds are matched as the header aliases are: "Stock" and " stock " mean stock.
    kind = kind.strip().casefold()
    options = _import_check_request(actor=actor, kind=kind, upload=upload, options=options or {})
    digest = _file_sha256(upload)
    key = (idempotency_key or "").strip()[:255] or None

    if key:
        existing = _job_for_key(actor=actor, key=key, kind=kind, digest=digest,
                                dry_run=options.get("dry_run", False))
        if existing is not None:
            return ImportStart(job=existing, created=False)

    try:
        with transaction.atomic():
            job = _job_create(actor=actor, kind=kind, upload=upload, options=options,
                              key=key, digest=digest, dispatch=dispatch)
    except IntegrityError:
        # Another request with the same key won the race; return its job.
        existing = (
            _job_for_key(actor=actor, key=key, kind=kind, digest=digest,
                         dry_run=options.get("dry_run", False))
            if key else None
        )
        if existing is None:
            raise
        return ImportStart(job=existing, created=False)

    logger.info("import.queued task_id=%s kind=%s size=%s", job.task_id, kind, job.file_size)
    return ImportStart(job=job, created=True)


def _import_check_request(
    *, actor: AbstractBaseUser, kind: str, upload: UploadedFile, options: dict
) -> dict:
    if kind not in ImportKind.values:
        raise ImportRequestError(
            f"Import kind {kind!r} is invalid. Choose one of: {', '.join(ImportKind.values)}.",
            code=ImportErrorCode.KIND_UNKNOWN,
            field_errors={"kind": ["Choose products, pricelist, stock or sales."]},
        )
    _import_check_kind_allowed(actor=actor, kind=kind)
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    if upload.size > limit:
        raise ImportRequestError(
            f"The file is {upload.size / MIB:.1f} MiB, over the upload limit of "
            f"{limit / MIB:.0f} MiB. Split it into smaller files.",
            code=ImportErrorCode.FILE_TOO_LARGE,
            field_errors={"file": ["File too large."]},
        ).with_status(413)
    if upload.size == 0:
        raise ImportRequestError(
            "The file is empty. Choose a CSV, TSV or XLSX file with a header row.",
            code=ImportErrorCode.FILE_EMPTY,
            field_errors={"file": ["File is empty."]},
        )
    return _options_clean(actor=actor, kind=kind, options=options)


def _import_check_kind_allowed(*, actor: AbstractBaseUser, kind: str) -> None:
    if kind in ALL_STORE_KINDS and not user_sees_all_stores(actor):
        raise ImportRequestError(
            f"{ImportKind(kind).label} imports change every store's data, so only back office "
            "and operations may run them.",
            code=ImportErrorCode.PERMISSION_DENIED,
        ).with_status(403)


def _options_clean(*, actor: AbstractBaseUser, kind: str, options: dict) -> dict:
    unknown = sorted(set(options) - _OPTION_NAMES)
    if unknown:
        raise _options_error(
            f"Unknown import option {unknown[0]!r}. Known options: {', '.join(sorted(_OPTION_NAMES))}."
        )
    cleaned: dict = {}
    column_map = options.get("column_map") or {}
    if not isinstance(column_map, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in column_map.items()
    ):
        raise _options_error('column_map must map field names to column headers, such as {"sku": "Item"}.')
    if column_map:
        cleaned["column_map"] = column_map
    for name in ("sheet", "price_list", "source"):
        value = options.get(name)
        if value not in (None, ""):
            if not isinstance(value, str) or len(value) > 120:
                raise _options_error(f"Option {name} must be text of at most 120 characters.")
            cleaned[name] = value.strip()
    if options.get("priority") not in (None, ""):
        try:
            cleaned["priority"] = int(options["priority"])
        except (TypeError, ValueError):
            raise _options_error(f"Option priority {options['priority']!r} is not a whole number.") from None
    if options.get("default_store"):
        store = store_get_for_user(user=actor, code=str(options["default_store"]).strip())
        cleaned["default_store"] = store.code
    if "dry_run" in options:
        if not isinstance(options["dry_run"], bool):
            raise _options_error(
                f"Option dry_run {options['dry_run']!r} is invalid. Send true or false."
            )
        if options["dry_run"]:
            cleaned["dry_run"] = True
    if kind == ImportKind.PRICELIST and not cleaned.get("price_list"):
        cleaned.setdefault("price_list", "")
    return cleaned


def _options_error(message: str) -> ImportRequestError:
    return ImportRequestError(
        message, code=ImportErrorCode.OPTIONS_INVALID, field_errors={"options": [message]}
    )


def _file_sha256(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _job_for_key(
    *, actor: AbstractBaseUser, key: str, kind: str, digest: str, dry_run: bool
) -> ImportJob | None:
    job = ImportJob.objects.filter(created_by=actor, idempotency_key=key).first()
    if job is None:
        return None
    if job.file_sha256 != digest:
        raise ImportRequestError(
            f"Idempotency-Key {key!r} was already used for another file ({job.original_name}). "
            "Use a new key for a new file.",
            code=ImportErrorCode.IDEMPOTENCY_CONFLICT,
        ).with_status(409)
    if job.kind != kind:
        raise ImportRequestError(
            f"Idempotency-Key {key!r} was already used to import this file as {job.kind}, "
            f"not {kind}. Use a new key to import it as {kind}.",
            code=ImportErrorCode.IDEMPOTENCY_CONFLICT,
        ).with_status(409)
    if job.is_dry_run != dry_run:
        used_for = "a dry run, which changes nothing" if job.is_dry_run else "a real import"
        raise ImportRequestError(
            f"Idempotency-Key {key!r} was already used for {used_for} of this file. Use a new "
            "key to import it the other way.",
            code=ImportErrorCode.IDEMPOTENCY_CONFLICT,
        ).with_status(409)
    return job


def safe_file_name(name: str) -> str:
    """Return a file name without path parts, control characters or odd symbols."""
    name = unicodedata.normalize("NFKC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C")
    name = re.sub(r"[^\w.\- ]+", "_", name).strip(" .") or "upload"
    stem, dot, suffix = name.rpartition(".")
    if dot and len(suffix) <= 8:
        return f"{_utf8_truncate(stem[:100], MAX_STEM_BYTES)}.{suffix}"
    return _utf8_truncate(name[:100], MAX_STEM_BYTES)


def _utf8_truncate(text: str, max_bytes: int) -> str:
    return text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")


def _job_create(
    *, actor: AbstractBaseUser, kind: str, upload: UploadedFile, options: dict,
    key: str | None, digest: str, dispatch: bool,
) -> ImportJob:
    from imports.tasks import import_job_enqueue

    name = safe_file_name(upload.name)
    job = ImportJob(
        kind=kind, created_by=actor, original_name=name, file_size=upload.size,
        file_sha256=digest, options=options, idempotency_key=key,
    )
    if options.get("default_store"):
        job.default_store = store_get_for_user(user=actor, code=options["default_store"])
    job.file.save(name, upload, save=False)
    _file_check_type(job)
    try:
        job.save()
    except IntegrityError:
        # A concurrent request with the same idempotency key saved its job first.
        job.file.delete(save=False)
        raise
    if job.default_store is not None:
        job.stores.add(job.default_store)
    if dispatch:
        import_job_enqueue(job=job)
    _event_send_after_commit(job)
    return job


def _event_send_after_commit(job: ImportJob) -> None:
    from imports.events import import_event_send

    transaction.on_commit(lambda: import_event_send(job=job))


def _file_check_type(job: ImportJob) -> None:
    """Reject a stored upload whose content is not CSV, TSV or XLSX, whatever its name."""
    from imports.readers import ImportFileError, file_kind_detect

    try:
        job.file_format = file_kind_detect(Path(job.file.path))
    except ImportFileError as error:
        job.file.delete(save=False)
        raise ImportRequestError(
            error.message, code=error.code, field_errors={"file": [error.message]}
        ) from None


def import_job_retry(*, actor: AbstractBaseUser, job: ImportJob, dispatch: bool = True) -> ImportJob:
    """Run a failed or cancelled job again.

    A job that had reached finalizing resumes after its last committed chunk; any other
    starts over from the file. Live writes are keyed by job and row number, so nothing is
    written twice either way.
    """
    from imports.tasks import import_job_enqueue

    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status not in (ImportStatus.FAILED, ImportStatus.CANCELLED):
            raise ImportRequestError(
                f"Import {job.task_id} is {job.get_status_display().lower()}; only failed or "
                "cancelled imports can be retried.",
                code=ImportErrorCode.NOT_RETRYABLE,
            ).with_status(409)
        if job.purged_at is not None:
            raise import_purged_error(job=job, subject="file")
        if not job.is_retryable:
            fix = (
                "rerun it with a column map (POST rerun with a column_map), or fix the file "
                "and upload it again"
                if job.failure_code in COLUMN_FAILURE_CODES else
                "fix the file and upload it again"
            )
            raise ImportRequestError(
                f"Import {job.task_id} failed on the file itself ({job.failure_code}): "
                f"{job.failure_reason} A retry reads the same file and would fail the same "
                f"way, so {fix}.",
                code=ImportErrorCode.NOT_RETRYABLE,
            ).with_status(409)
        if job.checkpoint.get("phase") != ImportStatus.FINALIZING:
            # It starts over from parsing, so its bar and row counts must not show the
            # last run's values, nor its error report link the last run's rows.
            job.pct = 0
            job.rows_done = job.rows_ok = job.rows_bad = 0
            job.rows_total = None
        job.status = ImportStatus.QUEUED
        job.attempts = 0
        job.failure_code = ""
        job.failure_reason = ""
        job.cancel_requested = False
        job.finished_at = None
        job.heartbeat_at = None
        job.eta_seconds = None
        job.throughput_rps = None
        job.save()
        if dispatch:
            import_job_enqueue(job=job)
        _event_send_after_commit(job)

    logger.info("import.retried task_id=%s by=%s", job.task_id, actor.pk)
    return job


def import_job_rerun(
    *, actor: AbstractBaseUser, job: ImportJob, column_map: dict[str, str] | None = None,
    dry_run: bool | None = None, dispatch: bool = True,
) -> ImportJob:
    """Import a finished job's file again as a new job with the same kind and options.

    Upserts make a rerun of an unchanged file change nothing; a rerun after master data
    was fixed imports the rows that were rejected before. ``column_map`` replaces the
    job's column map, so a file that failed on its columns can be read with the columns
    a person chose; an empty map leaves the columns to their names. ``dry_run`` sets
    whether the new job only checks the file (True) or imports it (False); None keeps
    the job's own choice, so a dry run is imported for real with False.
    """
    from imports.tasks import import_job_enqueue

    _import_check_kind_allowed(actor=actor, kind=job.kind)
    if not job.is_finished:
        raise ImportRequestError(
            f"Import {job.task_id} is still {job.get_status_display().lower()}. Wait for it "
            "to finish or cancel it first.",
            code=ImportErrorCode.NOT_RETRYABLE,
        ).with_status(409)
    job.refresh_from_db(fields=["purged_at"])
    if job.purged_at is not None:
        raise import_purged_error(job=job, subject="file")
    with transaction.atomic():
        # A price list row without valid_from dates from the day of the first import, also
        # when the file is imported again on a later day.
        options = {"default_valid_from": timezone.localdate(job.created_at).isoformat(), **job.options}
        if column_map is not None:
            options.pop("column_map", None)
            cleaned = _options_clean(actor=actor, kind=job.kind, options={"column_map": column_map})
            if "column_map" in cleaned:
                options["column_map"] = cleaned["column_map"]
        if dry_run is not None:
            options.pop("dry_run", None)
            if dry_run:
                options["dry_run"] = True
        rerun = ImportJob.objects.create(
            kind=job.kind, created_by=actor, original_name=job.original_name,
            file_size=job.file_size, file_sha256=job.file_sha256, options=options,
            default_store=job.default_store, file=job.file.name,
            summary={"rerun_of": str(job.task_id)},
        )
        if job.default_store_id:
            rerun.stores.add(job.default_store_id)
        if dispatch:
            import_job_enqueue(job=rerun)
        _event_send_after_commit(rerun)
    logger.info("import.rerun task_id=%s of=%s", rerun.task_id, job.task_id)
    return rerun


def import_job_cancel(*, actor: AbstractBaseUser, job: ImportJob) -> ImportJob:
    """Cancel a job: at once when queued, else at the worker's next chunk boundary.

    Chunks the worker already finalized stay in place, so a cancelled job may have changed
    live data; a retry applies the rest without writing those chunks twice.
    """
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status not in RUNNING_STATUSES:
            raise ImportRequestError(
                f"Import {job.task_id} is already {job.get_status_display().lower()}, so it "
                "cannot be cancelled.",
                code=ImportErrorCode.NOT_CANCELLABLE,
            ).with_status(409)
        job.cancel_requested = True
        fields = ["cancel_requested", "updated_at"]
        if job.status == ImportStatus.QUEUED:
            job.status = ImportStatus.CANCELLED
            job.finished_at = timezone.now()
            fields += ["status", "finished_at"]
        job.save(update_fields=fields)

    from imports.events import import_event_send

    transaction.on_commit(lambda: import_event_send(job=job))
    logger.info("import.cancel_requested task_id=%s by=%s", job.task_id, actor.pk)
    return job
