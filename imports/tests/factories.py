"""factory_boy factories of import jobs."""

import factory

from imports.models import ImportJob, ImportKind, ImportStatus
from inventory.tests.factories import UserFactory


class ImportJobFactory(factory.django.DjangoModelFactory):
    """A stock import job whose file is never read; pass ``stores`` to set the stores it names."""

    class Meta:
        model = ImportJob
        skip_postgeneration_save = True

    kind = ImportKind.STOCK
    status = ImportStatus.QUEUED
    created_by = factory.SubFactory(UserFactory)
    original_name = factory.Sequence(lambda n: f"count-{n}.csv")
    file = factory.LazyAttribute(lambda job: f"imports/unread/{job.original_name}")
    file_sha256 = factory.Sequence(lambda n: f"{n:064x}")

    @factory.post_generation
    def stores(self, create: bool, stores, **kwargs) -> None:
        if create and stores:
            self.stores.set(stores)
