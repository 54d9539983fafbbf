"""Day-end settlements: the amount counted per payment method, reconciled against sales."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from inventory.models import PaymentMethod, Store


class ReconciliationStatus(models.TextChoices):
    OK = "ok", "OK"
    WARN = "warn", "WARN"
    FAIL = "fail", "FAIL"


class Settlement(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="settlements")
    business_date = models.DateField()
    notes = models.TextField(blank=True)
    status = models.CharField(
        max_length=8, choices=ReconciliationStatus.choices, default=ReconciliationStatus.OK
    )
    counted_total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    expected_total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    reconciled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The number of saves of the counted amounts. A form sends the version it showed (0 for
    # none), so a save based on counts that someone else has since replaced is rejected.
    # The service creates a row at 0 and saves it as 1 in the same transaction. Rows
    # written in bulk (demo data) start at 1.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-business_date", "store"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "business_date"], name="settlement_store_date_unique"
            ),
        ]
        indexes = [models.Index(fields=["business_date", "status"], name="settlement_date_idx")]

    def __str__(self) -> str:
        return f"{self.store.code} {self.business_date:%Y-%m-%d}"

    @property
    def difference(self) -> Decimal:
        return self.counted_total - self.expected_total


class SettlementLine(models.Model):
    """The counted and expected amount of one payment method in a settlement."""

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="lines")
    payment_method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    counted_amount = models.DecimalField(max_digits=14, decimal_places=2)
    expected_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    difference = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    status = models.CharField(
        max_length=8, choices=ReconciliationStatus.choices, default=ReconciliationStatus.OK
    )

    class Meta:
        ordering = ["payment_method"]
        constraints = [
            models.UniqueConstraint(
                fields=["settlement", "payment_method"], name="settlement_line_method_unique"
            ),
            models.CheckConstraint(
                condition=Q(counted_amount__gte=0), name="settlement_counted_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_payment_method_display()}: {self.counted_amount}"


class SettlementRevision(models.Model):
    """One save of a settlement's counted amounts: who, when, and the counts before and after.

    Append-only. The amounts map a payment method to its counted amount as a string with
    two decimals; a method missing from a map was not counted.
    """

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    revised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revised_at = models.DateTimeField(auto_now_add=True)
    counted_before = models.JSONField(default=dict)
    counted_after = models.JSONField(default=dict)
    status_before = models.CharField(max_length=8, blank=True)
    status_after = models.CharField(max_length=8)
    notes_before = models.TextField(blank=True)
    notes_after = models.TextField(blank=True)

    class Meta:
        ordering = ["settlement", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["settlement", "version"], name="settlement_revision_version_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.settlement_id} v{self.version}"
