"""Back-office view of import jobs, with retry and cancel actions."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from imports.models import ImportJob, ImportRowError
from imports.services import import_job_cancel, import_job_retry
from ops_portal.errors import DomainError


class ImportRowErrorInline(admin.TabularInline):
    model = ImportRowError
    fields = ("row_number", "column", "value", "code", "message")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    ordering = ("row_number", "id")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The first rows only: the full list is the downloadable error report.
        queryset = super().get_queryset(request)
        ids = list(queryset.values_list("id", flat=True)[:50])
        return queryset.filter(id__in=ids)


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("task_id", "kind", "original_name", "status", "dry_run", "progress",
                    "rows_total", "rows_ok", "rows_bad", "created_by", "created_at")
    list_filter = ("status", "kind", "created_at")
    search_fields = ("=task_id", "original_name", "created_by__username")
    list_select_related = ("created_by",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    ordering = ("-created_at",)
    actions = ["retry_selected", "cancel_selected"]
    inlines = [ImportRowErrorInline]
    readonly_fields = (
        "task_id", "kind", "status", "dry_run", "progress", "created_by", "created_at", "started_at",
        "finished_at", "original_name", "file_size", "file_sha256", "file_format", "options",
        "idempotency_key", "default_store", "rows_total", "rows_ok", "rows_bad", "throughput_rps",
        "eta_seconds", "phase_timings", "summary", "failure_code", "failure_reason", "attempts",
        "checkpoint", "error_report", "purged_at",
    )
    exclude = ("file", "stores", "cancel_requested", "celery_task_id", "heartbeat_at", "rows_done", "pct")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Dry run", boolean=True)
    def dry_run(self, job: ImportJob) -> bool:
        return job.is_dry_run

    @admin.display(description="Progress")
    def progress(self, job: ImportJob) -> str:
        return format_html('<progress max="100" value="{}"></progress> {}%', job.pct, round(job.pct, 1))

    @admin.display(description="Error report")
    def error_report(self, job: ImportJob) -> str:
        if not job.rows_bad:
            return "No rejected rows"
        if job.purged_at is not None:
            return f"Removed with the uploaded file on {timezone.localdate(job.purged_at):%Y-%m-%d}"
        url = reverse("imports:job-errors", kwargs={"task_id": job.task_id})
        return format_html('<a href="{}">Download error report ({} rows)</a>', url, job.rows_bad)

    @admin.action(description="Retry selected imports", permissions=["change"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, import_job_retry, "queued again")

    @admin.action(description="Cancel selected imports", permissions=["change"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, import_job_cancel, "cancelled")

    def _each(self, request, queryset, service, done_text: str) -> None:
        succeeded = 0
        for job in queryset:
            try:
                service(actor=request.user, job=job)
                succeeded += 1
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)
        if succeeded:
            self.message_user(request, f"{succeeded} import(s) {done_text}.", messages.SUCCESS)
