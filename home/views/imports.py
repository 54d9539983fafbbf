"""Home's imports section: the recent imports list as an htmx partial, and the upload form.

static/js/home/imports.js uploads through POST /api/imports and keeps the list live.
The form's own action, imports_upload, serves browsers without JavaScript and calls the
same service.
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from home.forms import ImportColumnsForm
from home.selectors.imports import (
    DEFAULT_STORE_KINDS,
    import_kinds_for_user,
    import_rows_for_user,
)
from imports.columns import columns_guess, kind_fields
from imports.models import COLUMN_FAILURE_CODES, ImportJob, ImportStatus
from imports.selectors import import_job_get_for_user
from imports.services import import_job_rerun, import_job_start
from ops_portal.errors import DomainError, NotFoundError

# Form fields that become entries of the options object of POST /api/imports.
OPTION_FIELDS = ("default_store", "price_list", "sheet")


def imports_list_context(request: HttpRequest) -> dict:
    """Build the context of the recent imports list."""
    rows = import_rows_for_user(user=request.user)
    return {"import_rows": rows, "import_payloads": [payload for _job, payload in rows]}


def imports_context(request: HttpRequest) -> dict:
    """Build the context of the whole imports section: the list and the upload form."""
    return {
        **imports_list_context(request),
        "import_kinds": import_kinds_for_user(user=request.user),
        "import_column_failures": sorted(COLUMN_FAILURE_CODES),
    }


@require_GET
def imports_list(request: HttpRequest) -> HttpResponse:
    """Render the recent imports list alone, for htmx to swap in."""
    return render(request, "home/partials/imports/list.html", imports_list_context(request))


@require_POST
def imports_upload(request: HttpRequest) -> HttpResponse:
    """Start an import from the form posted without JavaScript, then go back to Home."""
    values = {name: request.POST.get(name, "").strip() for name in OPTION_FIELDS}
    options: dict = {name: value for name, value in values.items() if value}
    if request.POST.get("dry_run"):
        options["dry_run"] = True
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "No file was uploaded. Choose a CSV, TSV or XLSX file to import.")
        return redirect(reverse("home:index") + "#imports")
    try:
        started = import_job_start(
            actor=request.user, kind=request.POST.get("kind", ""), upload=upload, options=options
        )
    except DomainError as error:
        messages.error(request, f"The import was not started: {error.message}")
        return redirect(reverse("home:index") + "#imports")

    messages.success(request, _queued_text(started.job) + ".")
    return redirect(reverse("home:index") + "#imports")


@require_http_methods(["GET", "POST"])
def import_columns(request: HttpRequest, task_id) -> HttpResponse:
    """Choose the columns of an import that failed on them, then import its file again.

    The page lists each field of the import's kind with a select of the file's header
    names, preset where a column fits. Saving starts a new import of the same stored
    file with that column map and goes back to Home, where it shows live.
    """
    try:
        job = import_job_get_for_user(user=request.user, task_id=task_id)
    except NotFoundError as error:
        raise Http404(error.message) from None
    header = list(job.summary.get("header") or [])
    if not _columns_choosable(job, header):
        messages.error(
            request,
            f"The columns of the import of {job.original_name} cannot be chosen again: only an "
            "import that failed on its columns, whose file is still kept, offers it.",
        )
        return redirect(reverse("home:index") + "#imports")

    specs = kind_fields(job.kind)
    preset = job.options.get("column_map") or columns_guess(header, job.kind)
    form = ImportColumnsForm(
        request.POST or None, specs=specs, header=header,
        store_optional=job.kind in DEFAULT_STORE_KINDS and job.default_store_id is not None,
        initial_map={name: column for name, column in preset.items() if column in header},
    )
    if request.method == "POST" and form.is_valid():
        try:
            rerun = import_job_rerun(actor=request.user, job=job, column_map=form.column_map())
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _queued_text(rerun) + " with the columns you chose.")
            return redirect(reverse("home:index") + "#imports")
    return render(
        request, "home/import_columns.html", {"job": job, "form": form, "header": header},
        status=400 if form.errors else 200,
    )


def _queued_text(job: ImportJob) -> str:
    """Return "Import of FILE queued", or "Dry run of FILE queued" for a dry run."""
    return f"{'Dry run' if job.is_dry_run else 'Import'} of {job.original_name} queued"


def _columns_choosable(job: ImportJob, header: list[str]) -> bool:
    return (
        job.status == ImportStatus.FAILED
        and job.failure_code in COLUMN_FAILURE_CODES
        and bool(header)
        and job.purged_at is None
    )


urlpatterns = [
    path("imports/", imports_list, name="imports"),
    path("imports/<uuid:task_id>/columns/", import_columns, name="import-columns"),
    path("imports/upload/", imports_upload, name="imports-upload"),
]
