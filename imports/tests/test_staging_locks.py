"""Staging rows and the job row: loading a staging file never blocks a progress write."""

import threading

import pytest
from django.db import connection, transaction

from imports.models import ImportJob, ImportStatus, StagedPrice, StagedProduct, StagedSale, StagedStock
from imports.tests.factories import ImportJobFactory
from inventory.tests.factories import ProductFactory, StoreFactory
from inventory.tests.locking import write_while_locked

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "mysql", reason="reads MySQL's and MariaDB's locks"),
]


def test_staging_tables_have_no_foreign_keys():
    tables = [model._meta.db_table for model in (StagedProduct, StagedPrice, StagedStock, StagedSale)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT TABLE_NAME, CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS "
            f"WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME IN ({', '.join(['%s'] * len(tables))})",
            tables,
        )
        constraints = cursor.fetchall()

    assert constraints == ()


def test_job_row_writable_while_staging_uncommitted():
    job = ImportJobFactory(status=ImportStatus.VALIDATING)
    store = StoreFactory()
    product = ProductFactory()

    def stage(staged: threading.Event, release: threading.Event) -> None:
        with transaction.atomic():
            StagedStock.objects.create(
                job_id=job.pk, row_number=2, store_id=store.pk, product_id=product.pk,
                serial="", quantity=1, status="",
            )
            staged.set()
            release.wait(10)

    updated = write_while_locked(
        stage, lambda: ImportJob.objects.filter(pk=job.pk).update(rows_done=5)
    )

    assert updated == 1
    assert StagedStock.objects.filter(job_id=job.pk).count() == 1
