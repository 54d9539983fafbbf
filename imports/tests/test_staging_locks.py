"""Staging rows and the job row: loading a staging file never blocks a progress write."""

import threading

import pytest
from django.db import connection, transaction

from imports.models import ImportJob, ImportStatus, StagedPrice, StagedProduct, StagedSale, StagedStock
from imports.tests.factories import ImportJobFactory
from inventory.tests.factories import ProductFactory, StoreFactory

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
    staged = threading.Event()
    release = threading.Event()

    def stage_and_wait() -> None:
        try:
            with transaction.atomic():
                StagedStock.objects.create(
                    job_id=job.pk, row_number=2, store_id=store.pk, product_id=product.pk,
                    serial="", quantity=1, status="",
                )
                staged.set()
                release.wait(10)
        finally:
            connection.close()

    stager = threading.Thread(target=stage_and_wait)
    stager.start()
    try:
        assert staged.wait(10)
        with connection.cursor() as cursor:
            # A write that waits for a lock fails after 1 s instead of the default 50 s.
            cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
        try:
            updated = ImportJob.objects.filter(pk=job.pk).update(rows_done=5)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET SESSION innodb_lock_wait_timeout = DEFAULT")
    finally:
        release.set()
        stager.join(10)

    assert updated == 1
    assert StagedStock.objects.filter(job_id=job.pk).count() == 1
