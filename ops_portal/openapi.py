"""The API's OpenAPI document, as exported to docs/openapi.json.

Ninja describes its own operations. The two streaming endpoints of an import (live events
and the error report) are plain Django views, so they are added here by hand, to give API
clients one document with every endpoint.
"""

import json
from pathlib import Path

from django.conf import settings

OPENAPI_PATH = Path(settings.BASE_DIR) / "docs" / "openapi.json"

_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
_TASK_ID = {
    "in": "path",
    "name": "task_id",
    "required": True,
    "schema": {"format": "uuid", "title": "Task Id", "type": "string"},
}
_SECURITY = [{"BearerTokenAuth": []}, {"PortalSessionAuth": []}]


def _streaming_paths() -> dict:
    events = {
        "operationId": "imports_views_job_events",
        "summary": "Job Events",
        "description": (
            "Stream the job's state as Server-Sent Events until it finishes: `import.progress` "
            "while it runs (at least one per second), then one `import.finished`. A client "
            "that reconnects with the final event's id as `Last-Event-ID` gets 204. "
            "docs/events.md describes the events."
        ),
        "tags": ["imports"],
        "parameters": [
            _TASK_ID,
            {"in": "header", "name": "Last-Event-ID", "required": False,
             "schema": {"type": "string"}},
        ],
        "responses": {
            "200": {"description": "OK", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
            "204": {"description": "The job had finished at the event the client saw last."},
            "401": {"description": "Unauthorized", **_ERROR},
            "404": {"description": "Not Found", **_ERROR},
        },
        "security": _SECURITY,
    }
    errors = {
        "operationId": "imports_views_job_errors_csv",
        "summary": "Job Errors Csv",
        "description": (
            "Download the error report: one line per problem (row_number, column, value, "
            "error_code, message), then the row's original cells. UTF-8 with a byte order "
            "mark; cells that a spreadsheet would run as a formula start with an apostrophe."
        ),
        "tags": ["imports"],
        "parameters": [_TASK_ID],
        "responses": {
            "200": {"description": "OK", "content": {"text/csv": {"schema": {"type": "string"}}}},
            "401": {"description": "Unauthorized", **_ERROR},
            "404": {"description": "Not Found", **_ERROR},
        },
        "security": _SECURITY,
    }
    return {
        "/api/imports/{task_id}/events": {"get": events},
        "/api/imports/{task_id}/errors.csv": {"get": errors},
    }


def openapi_document() -> dict:
    """Return the OpenAPI document of /api/: ninja's operations plus the streaming views."""
    from ops_portal.api import api

    document = dict(api.get_openapi_schema(path_prefix="/api/"))
    document["paths"] = {**document["paths"], **_streaming_paths()}
    return document


def openapi_text() -> str:
    """Return the document as JSON with sorted keys and a final newline, so diffs stay small."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
