"""The back-office admin of day-end settlements.

Settlements are recorded on Home through settlement_record(), which checks the store and
the date, so they cannot be added here. Back office may correct the counted amounts.
Saving the form, or the "Re-run reconciliation" action, reconciles the settlement again.
Every save of the counts, on Home, through the API or here, adds a revision, which the
change page lists under "Change history". The form sends back the version it showed, and
a save after another one made meanwhile is rejected, as on Home.
"""

import logging

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import ngettext

from ops_portal.admin_tools import PortalModelAdmin, ReadOnlyAdminMixin, money_display
from ops_portal.errors import DomainError
from settlements.models import (
    ReconciliationStatus,
    Settlement,
    SettlementLine,
    SettlementRevision,
)
from settlements.errors import SettlementError
from settlements.services import (
    settlement_check_version,
    settlement_reconcile,
    settlement_revision_add,
    settlement_snapshot,
)

logger = logging.getLogger(__name__)


class SettlementLineInline(admin.TabularInline):
    model = SettlementLine
    extra = 0
    can_delete = False
    fields = ("payment_method", "counted_amount", "expected_amount", "difference", "status")
    readonly_fields = ("expected_amount", "difference", "status")


class SettlementAdminForm(forms.ModelForm):
    """The change form, with the settlement version it was opened at."""

    shown_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Settlement
        fields = ("notes",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["shown_version"].initial = self.instance.version

    def clean(self) -> dict:
        """Reject the save when the settlement was saved after the form was opened.

        The admin's change view runs in one transaction, so the row lock taken here
        holds until the save and its revision are written.
        """
        cleaned = super().clean()
        locked = (
            Settlement.objects.select_for_update()
            .select_related("store", "updated_by", "created_by")
            .get(pk=self.instance.pk)
        )
        try:
            settlement_check_version(
                settlement=locked, expected_version=cleaned.get("shown_version"),
                advice="Reload the page to see its counts, then make your change again.",
            )
        except SettlementError as error:
            raise forms.ValidationError(error.message, code=error.code) from None
        return cleaned


@admin.register(Settlement)
class SettlementAdmin(PortalModelAdmin):
    form = SettlementAdminForm
    list_display = (
        "business_date",
        "store_code",
        "status",
        "counted_display",
        "expected_display",
        "difference_display",
        "reconciled_at",
    )
    list_select_related = ("store",)
    list_filter = ("status", "store", "business_date")
    search_fields = ("=store__code",)
    search_help_text = "Exact store code."
    date_hierarchy = "business_date"
    # The unique constraint on (store, business_date) makes this order total without a
    # join. Ordering by "store" would sort by the store's code through a join.
    ordering = ("-business_date", "store_id")
    actions = ("reconcile_selected",)
    fields = (
        "store",
        "business_date",
        "status",
        "counted_total",
        "expected_total",
        "notes",
        "reconciled_at",
        "created_by",
        "created_at",
        "updated_by",
        "updated_at",
        "version",
        "shown_version",
        "history_display",
    )
    readonly_fields = (
        "store",
        "business_date",
        "status",
        "counted_total",
        "expected_total",
        "reconciled_at",
        "created_by",
        "created_at",
        "updated_by",
        "updated_at",
        "version",
        "history_display",
    )
    inlines = (SettlementLineInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("store")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Settlement, form, change: bool) -> None:
        # The form locked the row when it checked the version, in the change view's
        # transaction. The counts before the inline saves them go into the revision.
        locked = Settlement.objects.get(pk=obj.pk)
        obj._revision_before = settlement_snapshot(settlement=locked)
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        settlement = settlement_reconcile(settlement=form.instance)
        settlement_revision_add(
            settlement=settlement, actor=request.user, before=settlement._revision_before
        )

    @admin.display(description="change history")
    def history_display(self, settlement: Settlement) -> SafeString | str:
        revisions = list(
            SettlementRevision.objects.filter(settlement=settlement)
            .select_related("revised_by")
            .order_by("-version")
        )
        if not revisions:
            return "No saves recorded."
        return format_html(
            "<ol reversed>{}</ol>",
            format_html_join("", "<li>{}</li>", ((_revision_text(r),) for r in revisions)),
        )

    @admin.action(description="Re-run reconciliation", permissions=["change"])
    def reconcile_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        reconciled = 0
        changes: list[str] = []
        for settlement in queryset.select_related("store").order_by("pk"):
            before = ReconciliationStatus(settlement.status)
            try:
                settlement = settlement_reconcile(settlement=settlement)
            except DomainError as error:
                logger.info(
                    "admin.settlement_reconcile_rejected id=%s code=%s", settlement.pk, error.code
                )
                self.message_user(request, f"{settlement}: {error.message}", messages.ERROR)
                continue
            reconciled += 1
            after = ReconciliationStatus(settlement.status)
            if after != before:
                changes.append(f"{settlement} {before.label} to {after.label}")

        if not reconciled:
            return
        message = ngettext(
            "Reconciled %(count)d settlement.",
            "Reconciled %(count)d settlements.",
            reconciled,
        ) % {"count": reconciled}
        if changes:
            message += " Status changed: " + "; ".join(changes) + "."
        else:
            message += " No status changed."
        self.message_user(request, message, messages.SUCCESS)

    @admin.display(description="store", ordering="store__code")
    def store_code(self, settlement: Settlement) -> str:
        return settlement.store.code

    @admin.display(description="counted")
    def counted_display(self, settlement: Settlement) -> str:
        return money_display(settlement.counted_total)

    @admin.display(description="expected")
    def expected_display(self, settlement: Settlement) -> str:
        return money_display(settlement.expected_total)

    @admin.display(description="difference")
    def difference_display(self, settlement: Settlement) -> str:
        return money_display(settlement.difference)


def _revision_text(revision: SettlementRevision) -> str:
    saved_at = timezone.localtime(revision.revised_at)
    saved_by = revision.revised_by.get_username() if revision.revised_by else "unknown user"
    methods = sorted(set(revision.counted_before) | set(revision.counted_after))
    changes = [
        f"{method} {revision.counted_before.get(method, 'not counted')} to "
        f"{revision.counted_after.get(method, 'not counted')}"
        for method in methods
        if revision.counted_before.get(method) != revision.counted_after.get(method)
    ]
    status = revision.status_after.upper()
    if revision.status_before and revision.status_before != revision.status_after:
        status = f"{revision.status_before.upper()} to {status}"
    text = f"Version {revision.version}, {saved_at:%Y-%m-%d %H:%M} by {saved_by}: "
    text += ", ".join(changes) if changes else "counts unchanged"
    text += f"; status {status}."
    if revision.notes_before != revision.notes_after:
        text += f" Notes changed from {revision.notes_before!r} to {revision.notes_after!r}."
    return text


@admin.register(SettlementLine)
class SettlementLineAdmin(ReadOnlyAdminMixin, PortalModelAdmin):
    """Lines of every settlement, to find failing payment methods; edit them in the settlement."""

    list_display = (
        "settlement",
        "payment_method",
        "counted_display",
        "expected_display",
        "difference_display",
        "status",
    )
    list_select_related = ("settlement__store",)
    list_filter = ("status", "payment_method", "settlement__store")
    search_fields = ("=settlement__store__code",)
    search_help_text = "Exact store code."
    ordering = ("-pk",)

    @admin.display(description="counted")
    def counted_display(self, line: SettlementLine) -> str:
        return money_display(line.counted_amount)

    @admin.display(description="expected")
    def expected_display(self, line: SettlementLine) -> str:
        return money_display(line.expected_amount)

    @admin.display(description="difference")
    def difference_display(self, line: SettlementLine) -> str:
        return money_display(line.difference)
