"""Home's imports section: the recent imports list as an htmx partial, and the upload form.

static/js/home/imports.js uploads through POST /api/imports and keeps the list live.
The form's own action, imports_upload, serves browsers without JavaScript and calls the
same service.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from home.selectors.imports import import_kinds_for_user, import_rows_for_user
from imports.services import import_job_start
from ops_portal.errors import DomainError

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
    }


@require_GET
def imports_list(request: HttpRequest) -> HttpResponse:
    """Render the recent imports list alone, for htmx to swap in."""
    return render(request, "home/partials/imports/list.html", imports_list_context(request))


@require_POST
def imports_upload(request: HttpRequest) -> HttpResponse:
    """Start an import from the form posted without JavaScript, then go back to Home."""
    values = {name: request.POST.get(name, "").strip() for name in OPTION_FIELDS}
    options = {name: value for name, value in values.items() if value}
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

    job = started.job
    messages.success(request, f"Import of {job.original_name} queued.")
    return redirect(reverse("home:index") + "#imports")


urlpatterns = [
    path("imports/", imports_list, name="imports"),
    path("imports/upload/", imports_upload, name="imports-upload"),
]
