"""Fixtures shared by every app's tests."""

import pytest
from django.db import connection


@pytest.fixture
def mysql_only():
    if connection.vendor != "mysql":
        pytest.skip("needs MySQL or MariaDB row locks; SQLite serialises writers instead")
