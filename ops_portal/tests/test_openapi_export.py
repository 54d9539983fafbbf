import json

import pytest
from django.core.management import CommandError, call_command

from ops_portal.openapi import OPENAPI_PATH, openapi_document, openapi_text


def test_docs_openapi_json_is_current():
    committed = OPENAPI_PATH.read_text(encoding="utf-8")

    assert committed == openapi_text(), (
        "docs/openapi.json is out of date with the API. Run `make openapi` and commit it."
    )


def test_export_writes_sorted_json_with_final_newline(tmp_path):
    output = tmp_path / "openapi.json"

    call_command("export_openapi", "--output", str(output))
    text = output.read_text(encoding="utf-8")

    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_export_check_fails_on_stale_file(tmp_path):
    output = tmp_path / "openapi.json"
    output.write_text("{}\n", encoding="utf-8")

    with pytest.raises(CommandError, match="make openapi"):
        call_command("export_openapi", "--output", str(output), "--check")

    assert output.read_text(encoding="utf-8") == "{}\n"


def test_document_lists_streaming_import_endpoints():
    paths = openapi_document()["paths"]

    assert "text/event-stream" in paths["/api/imports/{task_id}/events"]["get"]["responses"]["200"]["content"]
    assert "text/csv" in paths["/api/imports/{task_id}/errors.csv"]["get"]["responses"]["200"]["content"]
    assert "/api/imports" in paths
    assert "/api/imports/{task_id}/retry" in paths


def test_document_declares_both_auth_schemes():
    schemes = openapi_document()["components"]["securitySchemes"]

    assert schemes["BearerTokenAuth"] == {"scheme": "bearer", "type": "http"}
    assert schemes["PortalSessionAuth"]["in"] == "cookie"
