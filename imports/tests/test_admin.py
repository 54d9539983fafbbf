import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from imports.models import ImportJob, ImportStatus
from imports.services import import_job_start
from inventory.tests.factories import ProductFactory, StoreFactory, operations_user, staff_user

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/imports/importjob/"


def _queued_job(user) -> ImportJob:
    StoreFactory(code="S001")
    ProductFactory(sku="ACC-1")
    upload = SimpleUploadedFile("count.csv", b"store,sku,qty\nS001,ACC-1,5\n")
    return import_job_start(actor=user, kind="stock", upload=upload, dispatch=False).job


def test_operations_cancel_from_admin(client):
    user = operations_user()
    job = _queued_job(user)
    client.force_login(user)

    response = client.post(CHANGELIST, {"action": "cancel_selected", "_selected_action": [job.pk]},
                           follow=True)

    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED
    assert b"1 import(s) cancelled." in response.content


def test_retry_of_queued_job_shows_error(client):
    user = operations_user()
    job = _queued_job(user)
    client.force_login(user)

    response = client.post(CHANGELIST, {"action": "retry_selected", "_selected_action": [job.pk]},
                           follow=True)

    job.refresh_from_db()
    assert job.status == ImportStatus.QUEUED
    assert b"only failed or cancelled imports can be retried" in response.content


def test_changelist_queries_do_not_grow(client, django_assert_max_num_queries):
    user = operations_user()
    for _ in range(3):
        _queued_job(user)
    client.force_login(user)

    with django_assert_max_num_queries(12):
        response = client.get(CHANGELIST)

    assert response.status_code == 200
    assert b"count.csv" in response.content


def test_change_page_links_error_report(client):
    user = operations_user()
    job = _queued_job(user)
    ImportJob.objects.filter(pk=job.pk).update(rows_bad=2, status=ImportStatus.DONE)
    client.force_login(user)

    response = client.get(f"{CHANGELIST}{job.pk}/change/")

    assert response.status_code == 200
    assert f"/api/imports/{job.task_id}/errors.csv".encode() in response.content


def test_changelist_marks_dry_runs(client):
    user = operations_user()
    job = _queued_job(user)
    ImportJob.objects.filter(pk=job.pk).update(options={"dry_run": True})
    client.force_login(user)

    response = client.get(CHANGELIST)

    content = response.content.decode()
    assert '<th scope="col" class="column-dry_run">' in content
    cell = content.split('<td class="field-dry_run">', 1)[1].split("</td>", 1)[0]
    assert 'alt="True"' in cell


def test_staff_cannot_open_import_admin(client):
    client.force_login(staff_user(StoreFactory()))

    response = client.get(CHANGELIST)

    assert response.status_code == 302
