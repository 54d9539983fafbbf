"""Ninja schemas of the imports API."""

import datetime
import uuid

from ninja import Field, Schema


class ImportStartOut(Schema):
    task_id: uuid.UUID
    status: str
    status_url: str
    events_url: str


class ImportJobOut(Schema):
    task_id: uuid.UUID
    kind: str
    file_name: str
    status: str
    rows_total: int | None
    rows_ok: int
    rows_bad: int
    rows_done: int
    pct: float
    throughput_rps: float | None
    eta_seconds: int | None
    phase_timings: dict
    summary: dict
    failure_code: str | None
    failure_reason: str | None
    retryable: bool
    dry_run: bool
    error_report_url: str | None
    status_url: str
    events_url: str
    updated_at: datetime.datetime | None
    created_by: str
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    purged_at: datetime.datetime | None


class ImportRerunIn(Schema):
    # A misspelt choice is rejected rather than ignored.
    model_config = {"extra": "forbid"}

    column_map: dict[str, str] | None = Field(
        default=None,
        description="Field name to column header, replacing the import's column map; "
                    "leave out to keep the import's options as they were.",
    )
    dry_run: bool | None = Field(
        default=None,
        description="true to only check the file, false to import it; leave out to do "
                    "what the import did.",
    )


class ErrorOut(Schema):
    code: str
    message: str
    field_errors: dict[str, list[str]]
