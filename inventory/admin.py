"""The back-office admin of stores, users, products, units, stock, the ledger, transfers,
sales and prices.

Stock changes only through the services, which keep stock levels, serial units and the
ledger in step. So the ledger, sales and transfer lines are read-only here, a unit's
product, store and status cannot be edited, a transfer is received by an action, and an
on-hand correction of a stock level goes through stock_level_adjust().
"""

import logging

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Model, Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import ngettext

from inventory.models import (
    PriceList,
    PriceListEntry,
    Product,
    Sale,
    SaleLine,
    SerialUnit,
    StockLevel,
    StockMovement,
    Store,
    StoreMembership,
    Transfer,
    TransferLine,
)
from inventory.services import stock_level_adjust, transfer_receive
from ops_portal.admin_tools import (
    ExactSearchMixin,
    LargeTableAdmin,
    PortalModelAdmin,
    ReadOnlyAdminMixin,
    money_display,
    quantity_display,
)
from ops_portal.errors import DomainError

logger = logging.getLogger(__name__)

User = get_user_model()

admin.site.site_header = "Ops Portal back office"
admin.site.site_title = "Ops Portal back office"
admin.site.index_title = "Back office"


# Stores, memberships and users


class StoreMembershipInline(admin.TabularInline):
    model = StoreMembership
    fk_name = "store"
    extra = 0
    fields = ("user", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("user", "store")


@admin.register(Store)
class StoreAdmin(PortalModelAdmin):
    list_display = ("code", "name", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("^code", "name")
    ordering = ("code",)
    readonly_fields = ("created_at",)
    inlines = (StoreMembershipInline,)


@admin.register(StoreMembership)
class StoreMembershipAdmin(PortalModelAdmin):
    list_display = ("user", "store", "created_at")
    list_select_related = ("user", "store")
    list_filter = ("store",)
    search_fields = ("^user__username", "^store__code")
    autocomplete_fields = ("user", "store")
    readonly_fields = ("created_at",)


class UserStoreMembershipInline(admin.TabularInline):
    model = StoreMembership
    fk_name = "user"
    extra = 0
    fields = ("store", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("store",)
    verbose_name = "store membership"
    verbose_name_plural = "store memberships (store staff act only on these stores)"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("user", "store")


admin.site.unregister(User)


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    """Django's user admin with the user's store memberships.

    Only a superuser may grant superuser status or single permissions, or change a
    superuser. Without this, anyone with the change-user permission could make
    themselves a superuser.
    """

    inlines = (UserStoreMembershipInline,)
    list_display = (*UserAdmin.list_display, "store_codes")
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        memberships = StoreMembership.objects.select_related("store").order_by("store__code")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("store_memberships", queryset=memberships))
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> tuple:
        readonly = tuple(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ("is_superuser", "user_permissions")
        return readonly

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    @admin.display(description="stores")
    def store_codes(self, user) -> str:
        return ", ".join(membership.store.code for membership in user.store_memberships.all())


# Products and serial units


class EveryStoreChoicesFilter(admin.ChoicesFieldListFilter):
    """A choices filter on a column that an index holds only after the store.

    Filtering on a rare status alone, MariaDB walks the whole serial index for 100
    matches: 1.7 seconds at a million units. Naming every store lets it probe the
    (store, status) index once per store instead.
    """

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        queryset = super().queryset(request, queryset)
        if self.lookup_val is None:
            return queryset
        store_ids = list(Store.objects.order_by().values_list("pk", flat=True))
        return queryset.filter(store_id__in=store_ids)


@admin.register(Product)
class ProductAdmin(PortalModelAdmin):
    list_display = (
        "sku",
        "name",
        "category",
        "is_serialized",
        "barcode",
        "low_stock_threshold",
        "is_active",
    )
    list_filter = ("is_serialized", "is_active", "category")
    search_fields = ("^sku", "=barcode", "name")
    search_help_text = "SKU prefix, exact barcode, or part of the name."
    ordering = ("sku",)
    readonly_fields = ("created_at",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        queryset, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        # The stock level form corrects plain products only, so its product picker
        # offers no serialized ones.
        if request.GET.get("model_name") == "stocklevel":
            queryset = queryset.filter(is_serialized=False)
        return queryset, may_have_duplicates


@admin.register(SerialUnit)
class SerialUnitAdmin(ExactSearchMixin, LargeTableAdmin):
    list_display = (
        "serial",
        "product_sku",
        "product_name",
        "store_code",
        "status",
        "cost_display",
        "received_at",
    )
    list_prefetch_related = ("product", "store")
    list_filter = ("store", ("status", EveryStoreChoicesFilter), "received_at")
    search_fields = ("=serial", "=product__sku")
    search_help_text = "Exact serial, IMEI or SKU."
    exact_search_fields = ("serial",)
    exact_search_related = (("product_id", Product, "sku", "pk"),)
    ordering = ("serial",)
    sortable_by = ("serial",)
    # The product, store and status change through transfers, sales and stock imports,
    # which also update the stock levels and the ledger.
    fields = ("serial", "product", "store", "status", "cost", "received_at", "updated_at")
    readonly_fields = ("product", "store", "status", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description="SKU", ordering="product__sku")
    def product_sku(self, unit: SerialUnit) -> str:
        return unit.product.sku

    @admin.display(description="product")
    def product_name(self, unit: SerialUnit) -> str:
        return unit.product.name

    @admin.display(description="store", ordering="store__code")
    def store_code(self, unit: SerialUnit) -> str:
        return unit.store.code

    @admin.display(description="cost", ordering="cost")
    def cost_display(self, unit: SerialUnit) -> str | None:
        return money_display(unit.cost)


# Stock levels and the ledger


class StockLevelForm(forms.ModelForm):
    on_hand = forms.IntegerField(label="On-hand", min_value=0)
    note = forms.CharField(
        max_length=255,
        help_text="Why the on-hand quantity changes. It is kept on the ledger row.",
    )

    class Meta:
        model = StockLevel
        fields = ("store", "product", "on_hand")


@admin.register(StockLevel)
class StockLevelAdmin(ExactSearchMixin, LargeTableAdmin):
    """Stock levels; saving the form records a manual correction through the service.

    Only plain products can be corrected: a serialized product's on-hand is the count of
    its units, so its levels are view-only here.
    """

    form = StockLevelForm
    list_display = (
        "store_code",
        "product_sku",
        "product_name",
        "on_hand_display",
        "inbound_display",
        "is_low",
    )
    list_prefetch_related = ("store", "product")
    list_filter = ("store",)
    search_fields = ("=product__sku", "=store__code")
    search_help_text = "Exact SKU or store code."
    exact_search_related = (
        ("product_id", Product, "sku", "pk"),
        ("store_id", Store, "code", "pk"),
    )
    # The unique index on (store, product) serves this order. Ordering by the foreign
    # keys by name would sort by store code and SKU through joins over every row.
    ordering = ("store_id", "product_id")
    sortable_by = ()
    autocomplete_fields = ("product",)

    def get_fields(self, request: HttpRequest, obj: StockLevel | None = None) -> tuple:
        if obj is None:
            return ("store", "product", "on_hand", "note")
        return ("store", "product", "on_hand", "inbound", "updated_at", "note")

    def get_readonly_fields(self, request: HttpRequest, obj: StockLevel | None = None) -> tuple:
        if obj is None:
            return ()
        return ("store", "product", "inbound", "updated_at")

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "product":
            kwargs["queryset"] = Product.objects.filter(is_serialized=False)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: StockLevel | None = None) -> bool:
        if obj is not None and obj.product.is_serialized:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: StockLevel, form, change: bool) -> None:
        stock_level_adjust(
            actor=request.user,
            store=obj.store,
            product=obj.product,
            on_hand=form.cleaned_data["on_hand"],
            note=form.cleaned_data["note"],
        )
        # The service wrote the row, and the admin needs its primary key for the redirect
        # and the history entry.
        obj.pk = StockLevel.objects.get(store=obj.store, product=obj.product).pk
        obj.refresh_from_db()

    @admin.display(description="store")
    def store_code(self, level: StockLevel) -> str:
        return level.store.code

    @admin.display(description="SKU")
    def product_sku(self, level: StockLevel) -> str:
        return level.product.sku

    @admin.display(description="product")
    def product_name(self, level: StockLevel) -> str:
        return level.product.name

    @admin.display(description="on-hand")
    def on_hand_display(self, level: StockLevel) -> str:
        return quantity_display(level.on_hand)

    @admin.display(description="inbound")
    def inbound_display(self, level: StockLevel) -> str:
        return quantity_display(level.inbound)

    @admin.display(description="low stock", boolean=True)
    def is_low(self, level: StockLevel) -> bool:
        return level.on_hand <= level.product.low_stock_threshold


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdminMixin, ExactSearchMixin, LargeTableAdmin):
    """The stock ledger: append-only, so no user, superusers included, may add, change or
    delete a row here."""

    list_display = (
        "created_at",
        "store_code",
        "product_sku",
        "serial",
        "kind",
        "bucket",
        "quantity_display",
        "before",
        "after",
        "actor",
        "cause",
    )
    list_prefetch_related = ("store", "product", "serial_unit", "actor")
    # NOTE: the kind filter uses movement_kind_created_idx. No index starts with bucket, so
    # filtering on bucket alone reads the whole ledger (measured at 0.26 to 0.5 s median
    # for the kind filter before its index, at 480,000 rows on a 2-core host).
    list_filter = ("store", "kind", "bucket", "created_at")
    search_fields = ("=product__sku", "=serial_unit__serial")
    search_help_text = "Exact SKU, serial or IMEI."
    exact_search_related = (
        ("product_id", Product, "sku", "pk"),
        ("serial_unit_id", SerialUnit, "serial", "pk"),
    )
    ordering = ("-created_at", "-id")
    sortable_by = ("created_at",)

    @admin.display(description="store")
    def store_code(self, movement: StockMovement) -> str:
        return movement.store.code

    @admin.display(description="SKU")
    def product_sku(self, movement: StockMovement) -> str:
        return movement.product.sku

    @admin.display(description="serial")
    def serial(self, movement: StockMovement) -> str | None:
        return movement.serial_unit.serial if movement.serial_unit_id else None

    @admin.display(description="quantity")
    def quantity_display(self, movement: StockMovement) -> str:
        return quantity_display(movement.quantity, signed=True)

    @admin.display(description="cause")
    def cause(self, movement: StockMovement) -> str:
        if movement.sale_id:
            url = reverse("admin:inventory_sale_change", args=[movement.sale_id])
            return format_html('<a href="{}">Sale {}</a>', url, movement.sale_id)
        if movement.transfer_id:
            url = reverse("admin:inventory_transfer_change", args=[movement.transfer_id])
            return format_html('<a href="{}">Transfer {}</a>', url, movement.transfer_id)
        if movement.import_job_id:
            return f"Import job {movement.import_job_id}, row {movement.import_row}"
        return movement.note


# Transfers


class TransferLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = TransferLine
    fields = ("product", "serial_unit", "quantity")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("product", "serial_unit")


@admin.register(Transfer)
class TransferAdmin(PortalModelAdmin):
    """Transfers, sent from Home and received by the action or at the destination.

    Only the notes can be edited here: the stores, lines and status moved stock when the
    transfer was sent, and receiving it moves stock again through the service.
    """

    list_display = (
        "id",
        "created_at",
        "from_store_code",
        "to_store_code",
        "status",
        "received_at",
        "created_by",
    )
    list_select_related = ("from_store", "to_store", "created_by")
    list_filter = ("status", "from_store", "to_store", "created_at")
    search_fields = ("=from_store__code", "=to_store__code")
    search_help_text = "Exact code of the source or destination store."
    date_hierarchy = "created_at"
    actions = ("receive_selected",)
    fields = (
        "from_store",
        "to_store",
        "status",
        "notes",
        "created_by",
        "created_at",
        "received_by",
        "received_at",
    )
    readonly_fields = (
        "from_store",
        "to_store",
        "status",
        "created_by",
        "created_at",
        "received_by",
        "received_at",
    )
    inlines = (TransferLineInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.action(description="Receive selected transfers", permissions=["change"])
    def receive_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        received: list[str] = []
        for transfer in queryset.select_related("to_store").order_by("pk"):
            try:
                transfer_receive(actor=request.user, transfer=transfer)
            except DomainError as error:
                logger.info(
                    "admin.transfer_receive_rejected id=%s code=%s", transfer.pk, error.code
                )
                self.message_user(request, error.message, messages.ERROR)
                continue
            received.append(str(transfer.pk))

        if received:
            self.message_user(
                request,
                ngettext(
                    "Received %(count)d transfer: %(ids)s.",
                    "Received %(count)d transfers: %(ids)s.",
                    len(received),
                )
                % {"count": len(received), "ids": ", ".join(received)},
                messages.SUCCESS,
            )

    @admin.display(description="from", ordering="from_store__code")
    def from_store_code(self, transfer: Transfer) -> str:
        return transfer.from_store.code

    @admin.display(description="to", ordering="to_store__code")
    def to_store_code(self, transfer: Transfer) -> str:
        return transfer.to_store.code


@admin.register(TransferLine)
class TransferLineAdmin(ReadOnlyAdminMixin, ExactSearchMixin, PortalModelAdmin):
    list_display = ("transfer_link", "product_sku", "serial", "quantity")
    list_select_related = ("transfer", "product", "serial_unit")
    search_fields = ("=product__sku", "=serial_unit__serial")
    search_help_text = "Exact SKU, serial or IMEI."
    exact_search_related = (
        ("product_id", Product, "sku", "pk"),
        ("serial_unit_id", SerialUnit, "serial", "pk"),
    )

    @admin.display(description="transfer", ordering="transfer_id")
    def transfer_link(self, line: TransferLine) -> str:
        url = reverse("admin:inventory_transfer_change", args=[line.transfer_id])
        return format_html('<a href="{}">Transfer {}</a>', url, line.transfer_id)

    @admin.display(description="SKU")
    def product_sku(self, line: TransferLine) -> str:
        return line.product.sku

    @admin.display(description="serial")
    def serial(self, line: TransferLine) -> str | None:
        return line.serial_unit.serial if line.serial_unit_id else None


# Sales


class SaleLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SaleLine
    fields = ("product", "serial_unit", "quantity", "unit_price", "discount", "line_total")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("product", "serial_unit")


@admin.register(Sale)
class SaleAdmin(ReadOnlyAdminMixin, ExactSearchMixin, LargeTableAdmin):
    """Sales, shown but never edited: only the sale service writes them."""

    list_display = (
        "id",
        "sold_at",
        "store_code",
        "payment_method",
        "total_display",
        "receipt_number",
        "created_by",
    )
    list_prefetch_related = ("store", "created_by")
    # NOTE: no index starts with payment_method, so that filter without a store counts
    # every sale: a median of 0.1 to 0.2 s at 660,000 sales on the 2-core benchmark host.
    list_filter = ("store", "payment_method", "sold_at")
    search_fields = ("=receipt_number", "=lines__serial_unit__serial")
    search_help_text = (
        "Sale ID (the number Home shows, as in \"Sale 3047\"), exact receipt number, or the "
        "serial or IMEI of a sold unit."
    )
    exact_search_related = (("pk", SaleLine, "serial_unit__serial", "sale_id"),)
    ordering = ("-sold_at", "-id")
    sortable_by = ("id", "sold_at")
    inlines = (SaleLineInline,)

    def _exact_search_q(self, term: str) -> Q:
        # Receipt numbers are indexed only after the store, as (store, receipt_number).
        # Naming every store turns the lookup into one index probe per store instead of
        # a scan of every sale.
        store_ids = list(Store.objects.order_by().values_list("pk", flat=True))
        condition = super()._exact_search_q(term) | Q(store_id__in=store_ids, receipt_number=term)
        sale_id = _sale_id_parse(term)
        if sale_id is not None:
            condition |= Q(pk=sale_id)
        return condition

    @admin.display(description="store")
    def store_code(self, sale: Sale) -> str:
        return sale.store.code

    @admin.display(description="total")
    def total_display(self, sale: Sale) -> str:
        return money_display(sale.total)


def _sale_id_parse(term: str) -> int | None:
    """Return the sale ID a search term names, such as "3047" or "#3047", else None."""
    digits = term.removeprefix("#")
    if not digits.isascii() or not digits.isdigit():
        return None
    sale_id = int(digits)
    # Larger numbers overflow the signed 64-bit primary key column.
    return sale_id if 0 < sale_id < 2**63 else None


@admin.register(SaleLine)
class SaleLineAdmin(ReadOnlyAdminMixin, ExactSearchMixin, LargeTableAdmin):
    list_display = (
        "id",
        "sale_link",
        "sold_at",
        "store_code",
        "product_sku",
        "serial",
        "quantity",
        "unit_price_display",
        "discount_display",
        "line_total_display",
    )
    list_prefetch_related = ("sale__store", "product", "serial_unit")
    list_filter = ("sale__store",)
    search_fields = ("=product__sku", "=serial_unit__serial")
    search_help_text = "Exact SKU, serial or IMEI."
    exact_search_related = (
        ("product_id", Product, "sku", "pk"),
        ("serial_unit_id", SerialUnit, "serial", "pk"),
    )
    ordering = ("-id",)
    sortable_by = ("id",)

    @admin.display(description="sale")
    def sale_link(self, line: SaleLine) -> str:
        url = reverse("admin:inventory_sale_change", args=[line.sale_id])
        return format_html('<a href="{}">Sale {}</a>', url, line.sale_id)

    @admin.display(description="sold at")
    def sold_at(self, line: SaleLine):
        return line.sale.sold_at

    @admin.display(description="store")
    def store_code(self, line: SaleLine) -> str:
        return line.sale.store.code

    @admin.display(description="SKU")
    def product_sku(self, line: SaleLine) -> str:
        return line.product.sku

    @admin.display(description="serial")
    def serial(self, line: SaleLine) -> str | None:
        return line.serial_unit.serial if line.serial_unit_id else None

    @admin.display(description="unit price")
    def unit_price_display(self, line: SaleLine) -> str:
        return money_display(line.unit_price)

    @admin.display(description="discount")
    def discount_display(self, line: SaleLine) -> str:
        return money_display(line.discount)

    @admin.display(description="line total")
    def line_total_display(self, line: SaleLine) -> str:
        return money_display(line.line_total)


# Price lists


class PriceListEntryInline(admin.TabularInline):
    model = PriceListEntry
    extra = 0
    fields = ("product", "price", "discount_percent", "source")
    autocomplete_fields = ("product",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("product", "price_list")


@admin.register(PriceList)
class PriceListAdmin(PortalModelAdmin):
    """Price lists; a list's entries are edited inline while there are few of them.

    An imported list contains thousands of entries, too many for one form, so above
    ``inline_entries_max`` the form links to the entries' own change list instead.
    """

    inline_entries_max = 200
    list_display = (
        "name",
        "source",
        "priority",
        "currency",
        "valid_from",
        "valid_to",
        "store",
        "is_active",
    )
    list_select_related = ("store",)
    list_filter = ("is_active", "currency", "store")
    search_fields = ("name", "source")
    date_hierarchy = "valid_from"
    autocomplete_fields = ("store",)
    readonly_fields = ("entries_summary", "created_at")

    def get_inlines(self, request: HttpRequest, obj: PriceList | None) -> tuple:
        if obj is not None and obj.entries.count() > self.inline_entries_max:
            return ()
        return (PriceListEntryInline,)

    @admin.display(description="entries")
    def entries_summary(self, price_list: PriceList) -> str:
        if price_list.pk is None:
            return "-"
        count = price_list.entries.count()
        url = reverse("admin:inventory_pricelistentry_changelist")
        return format_html(
            '<a href="{}?price_list__id__exact={}">{} {}</a>',
            url,
            price_list.pk,
            quantity_display(count),
            "entry" if count == 1 else "entries",
        )


@admin.register(PriceListEntry)
class PriceListEntryAdmin(ExactSearchMixin, LargeTableAdmin):
    list_display = (
        "price_list",
        "product_sku",
        "product_name",
        "price_display",
        "discount_percent",
        "source",
    )
    list_prefetch_related = ("price_list", "product")
    list_filter = ("price_list",)
    search_fields = ("=product__sku",)
    search_help_text = "Exact SKU."
    exact_search_related = (("product_id", Product, "sku", "pk"),)
    ordering = ("-id",)
    sortable_by = ()
    autocomplete_fields = ("price_list", "product")

    @admin.display(description="SKU")
    def product_sku(self, entry: PriceListEntry) -> str:
        return entry.product.sku

    @admin.display(description="product")
    def product_name(self, entry: PriceListEntry) -> str:
        return entry.product.name

    @admin.display(description="price")
    def price_display(self, entry: PriceListEntry) -> str:
        return money_display(entry.price, entry.price_list.currency)
