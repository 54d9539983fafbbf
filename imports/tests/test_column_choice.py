"""Importing again a file that failed on its columns, with the columns a person chose."""

import pytest
from django.test import Client
from django.utils.html import escape

from home.forms import ImportColumnsForm
from imports.columns import columns_guess, kind_fields
from imports.models import ImportJob, ImportStatus
from imports.pipeline.runner import import_job_run
from imports.services import import_job_rerun, import_job_retry
from imports.tests.helpers import import_run
from inventory.models import StockLevel
from inventory.tests.factories import (
    ProductFactory,
    StoreFactory,
    operations_user,
    staff_user,
)
from ops_portal.errors import DomainError

pytestmark = pytest.mark.django_db

# "Shop" is an alias of store, "Article No" matches nothing, so sku has no column.
ODD_HEADER_CSV = "Shop,Article No,Amount\r\nT01,CBL-7,12\r\nT01,CBL-8,3\r\n"


@pytest.fixture
def failed(tmp_path):
    """A stock count that failed with column_missing, and its user."""
    StoreFactory(code="T01")
    ProductFactory(sku="CBL-7")
    ProductFactory(sku="CBL-8")
    user = operations_user()
    path = tmp_path / "count.csv"
    path.write_text(ODD_HEADER_CSV, encoding="utf-8")
    return import_run(path, kind="stock", user=user), user


@pytest.fixture
def owner_client(failed):
    """A client logged in as the user of the failed import."""
    client = Client()
    client.force_login(failed[1])
    return client


def _columns_post(client, job, choices: dict[str, str]):
    return client.post(f"/home/imports/{job.task_id}/columns/", choices)


def test_guess_leaves_out_fields_without_column():
    guess = columns_guess(["Shop", "Article No", "Amount", "qty"], "stock")

    assert guess == {"store": "Shop", "qty": "qty"}


def test_guess_leaves_out_field_with_two_columns():
    guess = columns_guess(["SKU", "Item code", "Store", "Store"], "stock")

    assert guess == {"sku": "SKU"}


def test_failed_job_keeps_header(failed):
    job, _user = failed

    assert job.status == ImportStatus.FAILED
    assert job.failure_code == "column_missing"
    assert job.summary["header"] == ["Shop", "Article No", "Amount"]
    assert job.is_retryable is False


def test_retry_points_to_column_map(failed):
    job, user = failed

    with pytest.raises(DomainError) as raised:
        import_job_retry(actor=user, job=job, dispatch=False)

    assert raised.value.code == "not_retryable"
    assert "rerun it with a column map" in raised.value.message


def test_rerun_with_column_map_imports_rows(failed):
    job, user = failed

    rerun = import_job_rerun(actor=user, job=job, dispatch=False,
                             column_map={"sku": "Article No", "qty": "Amount"})
    import_job_run(job_id=rerun.pk)

    rerun.refresh_from_db()
    assert rerun.status == ImportStatus.DONE
    assert rerun.options["column_map"] == {"sku": "Article No", "qty": "Amount"}
    assert rerun.summary["rerun_of"] == str(job.task_id)
    assert rerun.rows_ok == 2
    assert StockLevel.objects.get(product__sku="CBL-7").on_hand == 12


def test_staff_cannot_rerun_products_import(tmp_path):
    path = tmp_path / "products.csv"
    path.write_text("Article No,name\r\nCBL-9,Cable\r\n", encoding="utf-8")
    failed = import_run(path, kind="products", user=operations_user())
    clerk = staff_user(StoreFactory(code="T02"))
    ImportJob.objects.filter(pk=failed.pk).update(created_by=clerk)

    with pytest.raises(DomainError) as raised:
        import_job_rerun(actor=clerk, job=failed, dispatch=False, column_map={"sku": "Article No"})

    assert raised.value.code == "permission_denied"
    assert ImportJob.objects.count() == 1


def test_rerun_rejects_map_that_is_not_text(failed):
    job, user = failed

    with pytest.raises(DomainError) as raised:
        import_job_rerun(actor=user, job=job, dispatch=False, column_map={"sku": 4})

    assert raised.value.code == "options_invalid"
    assert ImportJob.objects.count() == 1


def test_api_rerun_takes_column_map(failed, owner_client):
    job = failed[0]
    client = owner_client

    response = client.post(
        f"/api/imports/{job.task_id}/rerun",
        {"column_map": {"sku": "Article No", "qty": "Amount"}},
        content_type="application/json",
    )

    assert response.status_code == 202
    rerun = ImportJob.objects.get(task_id=response.json()["task_id"])
    assert rerun.pk != job.pk
    assert rerun.options["column_map"] == {"sku": "Article No", "qty": "Amount"}


@pytest.mark.parametrize(("body", "where"), [
    ('{"column_mpa": {}}', "column_mpa"),
    ('{"column_map": {"sku": 4}}', "column_map.sku"),
    ("[1]", "body"),
    ("{nope", "body"),
])
def test_api_rerun_rejects_invalid_body(failed, owner_client, body, where):
    job = failed[0]
    client = owner_client

    response = client.post(f"/api/imports/{job.task_id}/rerun", body,
                           content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "options_invalid"
    assert f"The rerun body is invalid at {where}:" in response.json()["message"]
    assert ImportJob.objects.count() == 1


def test_api_rerun_without_body_keeps_options(failed, owner_client):
    job = failed[0]
    client = owner_client

    response = client.post(f"/api/imports/{job.task_id}/rerun")

    assert response.status_code == 202
    rerun = ImportJob.objects.get(task_id=response.json()["task_id"])
    assert "column_map" not in rerun.options
    assert rerun.is_dry_run is False


def test_page_presets_fitting_columns(failed, owner_client):
    job = failed[0]
    client = owner_client

    response = client.get(f"/home/imports/{job.task_id}/columns/")

    assert response.status_code == 200
    form = response.context["form"]
    assert form["store"].value() == "Shop"
    assert form["sku"].value() is None
    assert form.fields["sku"].required is True
    assert form.fields["qty"].required is False
    assert escape(job.failure_reason) in response.content.decode()


def test_page_post_starts_import_with_choices(failed, owner_client):
    choices = {"store": "Shop", "sku": "Article No", "qty": "Amount"}

    response = _columns_post(owner_client, failed[0], choices)

    assert response.status_code == 302
    assert response["Location"] == "/home/#imports"
    rerun = ImportJob.objects.exclude(pk=failed[0].pk).get()
    assert rerun.options["column_map"] == {"store": "Shop", "sku": "Article No", "qty": "Amount"}
    assert rerun.status in (ImportStatus.QUEUED, ImportStatus.DONE)


def test_page_rejects_column_chosen_twice(failed, owner_client):
    choices = {"store": "Shop", "sku": "Amount", "qty": "Amount"}

    response = _columns_post(owner_client, failed[0], choices)

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "Column 'Amount' is chosen for sku and qty. Choose it for one field only."
    ]
    assert ImportJob.objects.count() == 1


def test_page_requires_each_required_field(failed, owner_client):
    response = _columns_post(owner_client, failed[0], {"store": "Shop"})

    assert response.status_code == 400
    assert response.context["form"].errors["sku"] == ["Choose the column that holds sku."]


def test_page_of_done_job_redirects_with_message(tmp_path):
    StoreFactory(code="T01")
    ProductFactory(sku="CBL-7")
    user = operations_user()
    path = tmp_path / "count.csv"
    path.write_text("store,sku,qty\r\nT01,CBL-7,1\r\n", encoding="utf-8")
    job = import_run(path, kind="stock", user=user)
    client = Client()
    client.force_login(user)

    response = client.get(f"/home/imports/{job.task_id}/columns/", follow=True)

    assert response.redirect_chain == [("/home/#imports", 302)]
    assert "cannot be chosen again" in response.content.decode()


def test_page_of_other_store_job_not_found(failed):
    job, _user = failed
    client = Client()
    client.force_login(staff_user(StoreFactory(code="OTHER")))

    response = client.get(f"/home/imports/{job.task_id}/columns/")

    assert response.status_code == 404


def test_store_optional_with_default_store():
    form = ImportColumnsForm(
        specs=kind_fields("sales"), header=["a"], store_optional=True, initial_map={}
    )

    assert form.fields["store"].required is False
    assert form.fields["receipt"].required is True
