"""Batched inserts with ids chosen up front, so rows can point at rows not yet written."""

from collections import Counter

from django.db import models
from django.db.models import Max


class IdSequence:
    """Primary keys for new rows of one model, counting up from the table's highest id.

    Choosing ids in Python lets a child row reference its parent before either is
    inserted, on every backend: MySQL 8 does not return the ids of a bulk insert.
    The caller must be the only writer of the table while it loads.
    """

    def __init__(self, model: type[models.Model]) -> None:
        highest = model.objects.aggregate(highest=Max("pk"))["highest"]
        self._next = (highest or 0) + 1

    def take(self) -> int:
        value = self._next
        self._next += 1
        return value


class BulkInserter:
    """Buffer unsaved rows per model and insert them with bulk_create in batches.

    Models are flushed in the order given, so list parents before children: a child
    added after its parent never reaches the database before it (MySQL checks foreign
    keys on each insert).
    """

    def __init__(self, *models_in_order: type[models.Model], batch_size: int) -> None:
        self._buffers: dict[type[models.Model], list[models.Model]] = {
            model: [] for model in models_in_order
        }
        self._batch_size = batch_size
        self.counts: Counter[type[models.Model]] = Counter()

    def add(self, row: models.Model) -> None:
        buffer = self._buffers[type(row)]
        buffer.append(row)
        if len(buffer) >= self._batch_size:
            self.flush()

    def flush(self) -> None:
        for model, buffer in self._buffers.items():
            if buffer:
                model.objects.bulk_create(buffer, batch_size=self._batch_size)
                self.counts[model] += len(buffer)
                buffer.clear()
