"""Requests generated from the API's OpenAPI document must never get a server error.

schemathesis builds requests for every operation of the OpenAPI document that
docs/openapi.json is exported from: valid and invalid parameters, bodies, files and
headers. It sends them to the Django application in this process through WSGI. Each
request carries a bearer token of a back office user, who may call every operation.
Examples per operation are few, so that the run stays within a couple of minutes.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from inventory.tests.factories import ProductFactory, StoreFactory, back_office_user
from ops_portal.openapi import openapi_document
from ops_portal.tokens import api_token_create

# Examples per operation; a deeper run sets SCHEMATHESIS_MAX_EXAMPLES, such as 500.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "20"))


# NOTE: loaded at import rather than through schemathesis.pytest.from_fixture(), which in
# schemathesis 4.32.5 fails under pytest 9 (it sets the removed attribute Function._nodeid).
schema = schemathesis.openapi.from_dict(openapi_document())
schema.app = get_wsgi_application()


@pytest.fixture
def connection_kept_open():
    """Keep the test's database connection open across requests, as Django's test client does.

    The WSGI handler closes old connections when a request starts and ends, which closes
    the connection that contains the test's transaction (on MySQL and MariaDB).
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer_headers(db, settings, tmp_path, connection_kept_open) -> dict[str, str]:
    settings.MEDIA_ROOT = tmp_path / "media"
    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    _token, key = api_token_create(user=back_office_user(username="schemathesis"), name="tests")
    return {"Authorization": f"Bearer {key}"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_generated_requests_get_no_server_error(case, bearer_headers):
    case.call_and_validate(headers=bearer_headers, checks=[not_a_server_error])
