"""Stores, products, serial units, stock, the stock ledger, transfers, sales and prices."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CARD = "card", "Card"
    MOBILE = "mobile", "Mobile wallet"
    VOUCHER = "voucher", "Voucher"


class Store(models.Model):
    code = models.CharField(max_length=32, unique=True, help_text="The code that files use.")
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class StoreMembership(models.Model):
    """A staff user's right to read and act on one store."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="store_memberships"
    )
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "store"], name="store_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.store.code}"


class Product(models.Model):
    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=255)
    category = models.CharField(max_length=100, db_index=True, blank=True)
    is_serialized = models.BooleanField(
        "serialized", default=False, help_text="Tracked one unit at a time by serial or IMEI."
    )
    barcode = models.CharField(max_length=64, blank=True, db_index=True)
    low_stock_threshold = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class SerialStatus(models.TextChoices):
    IN_STOCK = "in_stock", "In stock"
    RESERVED = "reserved", "Reserved"
    DAMAGED = "damaged", "Damaged"
    TRANSFERRED = "transferred", "In transit"
    SOLD = "sold", "Sold"


# Units in these statuses are physically in their store, so they count towards the
# store's on-hand quantity; only IN_STOCK units can be sold or sent.
ON_HAND_STATUSES = (SerialStatus.IN_STOCK, SerialStatus.RESERVED, SerialStatus.DAMAGED)


class SerialUnit(models.Model):
    serial = models.CharField(max_length=64, unique=True, help_text="Serial number or IMEI.")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="units")
    store = models.ForeignKey(
        Store,
        on_delete=models.PROTECT,
        related_name="units",
        help_text="The store the unit is in, or the store it left while in transit.",
    )
    status = models.CharField(
        max_length=16, choices=SerialStatus.choices, default=SerialStatus.IN_STOCK
    )
    cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    received_at = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["serial"]
        indexes = [
            models.Index(fields=["store", "status"], name="serial_store_status_idx"),
            models.Index(fields=["product", "store", "status"], name="serial_product_store_idx"),
            models.Index(fields=["status", "serial"], name="serial_status_serial_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(cost__isnull=True) | Q(cost__gte=0), name="serial_cost_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.serial


class StockLevel(models.Model):
    """On-hand and inbound quantity of one product at one store."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="stock_levels")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    inbound = models.IntegerField(default=0, help_text="In transit to this store.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store", "product"]
        constraints = [
            models.UniqueConstraint(fields=["store", "product"], name="stock_level_store_product"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_non_negative"),
            models.CheckConstraint(condition=Q(inbound__gte=0), name="stock_inbound_non_negative"),
        ]
        indexes = [models.Index(fields=["product", "store"], name="stock_product_store_idx")]

    def __str__(self) -> str:
        return f"{self.store_id}/{self.product_id}: {self.on_hand} (+{self.inbound})"


class MovementKind(models.TextChoices):
    SALE = "sale", "Sale"
    RETURN = "return", "Return"
    TRANSFER_OUT = "transfer_out", "Transfer out"
    TRANSFER_IN = "transfer_in", "Transfer in"
    IMPORT_ADJUSTMENT = "import_adjustment", "Import adjustment"
    MANUAL_CORRECTION = "manual_correction", "Manual correction"


class StockBucket(models.TextChoices):
    ON_HAND = "on_hand", "On-hand"
    INBOUND = "inbound", "Inbound"


class StockMovement(models.Model):
    """One append-only ledger row: a change of one stock bucket of one store and product."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="movements")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="movements")
    serial_unit = models.ForeignKey(
        SerialUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="movements"
    )
    kind = models.CharField(max_length=24, choices=MovementKind.choices)
    bucket = models.CharField(
        max_length=8, choices=StockBucket.choices, default=StockBucket.ON_HAND
    )
    quantity = models.IntegerField(help_text="Signed change of the bucket.")
    before = models.IntegerField()
    after = models.IntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sale = models.ForeignKey(
        "Sale", on_delete=models.PROTECT, null=True, blank=True, related_name="movements"
    )
    transfer = models.ForeignKey(
        "Transfer", on_delete=models.PROTECT, null=True, blank=True, related_name="movements"
    )
    import_job_id = models.BigIntegerField(null=True, blank=True)
    import_row = models.PositiveIntegerField(null=True, blank=True)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Covers Home's stock movements chart (a store's on-hand rows of 7 days summed
            # per kind) without reading the rows; its store and created_at prefix serves
            # the newest-movement lookup and the admin's store filter as before.
            models.Index(
                fields=["store", "created_at", "bucket", "kind", "quantity"],
                name="movement_store_created_idx",
            ),
            models.Index(fields=["product", "created_at"], name="movement_product_created_idx"),
            models.Index(fields=["kind", "created_at"], name="movement_kind_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(after=F("before") + F("quantity")), name="movement_after_matches"
            ),
            models.UniqueConstraint(
                fields=["import_job_id", "import_row", "store", "product", "bucket"],
                name="movement_unique_per_import_row",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity:+d}"


class TransferStatus(models.TextChoices):
    IN_TRANSIT = "in_transit", "In transit"
    RECEIVED = "received", "Received"


class Transfer(models.Model):
    from_store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="transfers_out")
    to_store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="transfers_in")
    status = models.CharField(
        max_length=16, choices=TransferStatus.choices, default=TransferStatus.IN_TRANSIT
    )
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["from_store", "created_at"], name="transfer_from_created_idx"),
            models.Index(fields=["to_store", "status"], name="transfer_to_status_idx"),
            models.Index(fields=["created_at"], name="transfer_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_store=F("to_store")), name="transfer_stores_differ"
            ),
        ]

    def __str__(self) -> str:
        return f"Transfer {self.pk}"


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    serial_unit = models.ForeignKey(
        SerialUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="transfer_lines"
    )
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_line_quantity"),
        ]


class Sale(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="sales")
    sold_at = models.DateTimeField(db_index=True)
    payment_method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    receipt_number = models.CharField(
        max_length=64, null=True, blank=True, help_text="Receipt or invoice number of imported sales."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sold_at", "-id"]
        indexes = [
            models.Index(fields=["store", "sold_at"], name="sale_store_sold_idx"),
            models.Index(fields=["payment_method", "sold_at"], name="sale_method_sold_idx"),
        ]
        constraints = [
            # Imports upsert receipts by store and number; till sales have no number.
            models.UniqueConstraint(
                fields=["store", "receipt_number"], name="sale_store_receipt_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"Sale {self.pk}"


class SaleLine(models.Model):
    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(
        null=True, blank=True, help_text="Place of the line in its receipt, for imported sales."
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="sale_lines")
    serial_unit = models.ForeignKey(
        SerialUnit, on_delete=models.PROTECT, null=True, blank=True, related_name="sale_lines"
    )
    quantity = models.IntegerField(help_text="Negative for a return.")
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    discount = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), help_text="Amount off the line."
    )
    line_total = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sale", "position"], name="sale_line_position_unique"),
            models.CheckConstraint(condition=~Q(quantity=0), name="sale_line_quantity_nonzero"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="sale_line_price"),
            models.CheckConstraint(condition=Q(discount__gte=0), name="sale_line_discount"),
        ]


class PriceList(models.Model):
    name = models.CharField(max_length=120)
    source = models.CharField(max_length=120, help_text="Where the prices came from.")
    priority = models.IntegerField(default=0, help_text="The highest valid list wins.")
    currency = models.CharField(max_length=3, default="EUR")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="Inclusive; empty means open.")
    store = models.ForeignKey(
        Store,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="price_lists",
        help_text="Empty means every store.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-priority", "-created_at"]
        indexes = [models.Index(fields=["valid_from", "valid_to"], name="pricelist_validity_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="pricelist_validity_order",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PriceListEntry(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="entries")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_entries")
    price = models.DecimalField(max_digits=12, decimal_places=2)
    discount_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("0"), help_text="0 to 100."
    )
    source = models.CharField(
        max_length=120, blank=True, help_text="Where this price came from, when not the list's source."
    )

    class Meta:
        verbose_name_plural = "price list entries"
        constraints = [
            models.UniqueConstraint(fields=["price_list", "product"], name="price_entry_unique"),
            models.CheckConstraint(condition=Q(price__gte=0), name="price_entry_price"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100),
                name="price_entry_discount_range",
            ),
        ]
        indexes = [models.Index(fields=["product", "price_list"], name="price_entry_product_idx")]

    def __str__(self) -> str:
        return f"{self.price_list_id}/{self.product_id}: {self.price}"
