"""Forms of Home's quick actions.

The forms parse and type-check what a person typed. The services in inventory and
settlements apply the business rules, and ``form_errors_add`` shows their errors on these
forms.
"""

from django import forms
from django.forms.renderers import Jinja2
from django.utils import timezone

from inventory.errors import InventoryErrorCode
from inventory.models import PaymentMethod, Store
from inventory.selectors import product_find
from inventory.services import SaleLineIn, TransferLineIn
from ops_portal.errors import DomainError
from settlements.models import Settlement

ITEM_MAX_LENGTH = 64
QUANTITY_MAX = 100_000

# Home renders all five forms on every view. Django ships its field and widget templates
# for Jinja2 too, with the same markup, and they rendered these forms in less than half
# the time the Django engine took. The admin keeps the default renderer because its
# widgets have Django templates only.
ACTION_FORM_RENDERER = Jinja2()


class ActionForm(forms.Form):
    """A form of Home's quick actions, rendered by ACTION_FORM_RENDERER."""

    default_renderer = ACTION_FORM_RENDERER


class StoreChoiceField(forms.ChoiceField):
    """A choice among the given stores by id, cleaned to the Store itself.

    The caller passes stores it has already loaded, so rendering the field costs no query.
    An id outside the list is rejected as an invalid choice.
    """

    default_error_messages = {
        "invalid_choice": "Store %(value)s is not one you may choose here. Pick one from the list.",
        "required": "Choose a store.",
    }

    def __init__(self, *, stores: list[Store], **kwargs) -> None:
        self.stores = {str(store.pk): store for store in stores}
        choices = [("", "Choose a store")] + [
            (str(store.pk), f"{store.code} · {store.name}") for store in stores
        ]
        super().__init__(choices=choices, **kwargs)

    def clean(self, value: object) -> Store | None:
        value = super().clean(value)
        return self.stores[value] if value else None


class ItemField(forms.CharField):
    """A SKU, barcode or serial, as typed or scanned."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("label", "SKU or serial")
        kwargs.setdefault("max_length", ITEM_MAX_LENGTH)
        kwargs.setdefault("error_messages", {"required": "Enter or scan a SKU, barcode or serial."})
        super().__init__(**kwargs)
        self.widget.attrs.update({
            "autocomplete": "off", "spellcheck": "false", "autocapitalize": "off",
            "data-scan-field": "",
        })


class _LineFormMixin:
    """Turns the item and quantity fields into one line request for a service.

    A value that matches a serial becomes a serial line of one unit. Any other known value
    is passed on as a SKU or barcode, which the service resolves and checks.
    """

    def _line_fields_clean(self, cleaned_data: dict) -> dict[str, object] | None:
        item = cleaned_data.get("item")
        quantity = cleaned_data.get("quantity")
        if not item or quantity is None:
            return None
        product, unit = product_find(query=item)
        if product is None:
            self.add_error(
                "item",
                f"No product or serial matches {item!r}. Check the SKU, barcode or serial, "
                "or scan it again.",
            )
            return None
        if unit is not None:
            if quantity != 1:
                self.add_error(
                    "quantity",
                    f"Serial {unit.serial} is a single unit, so the quantity must be 1.",
                )
                return None
            return {"serial": unit.serial, "quantity": 1}
        return {"sku": item, "quantity": quantity}


def _quantity_field() -> forms.IntegerField:
    return forms.IntegerField(
        min_value=1,
        max_value=QUANTITY_MAX,
        initial=1,
        error_messages={
            "required": "Enter a quantity of 1 or more.",
            "invalid": "Enter a whole number of 1 or more.",
            "min_value": "Quantity %(limit_value)s or more: enter how many units, such as 1.",
            "max_value": "Quantity %(limit_value)s at most. Split a larger amount over several lines.",
        },
    )


class TransferForm(_LineFormMixin, ActionForm):
    """New Transfer: one line sent from one of the user's stores to another active store."""

    def __init__(self, *args, from_stores: list[Store], to_stores: list[Store], **kwargs) -> None:
        kwargs.setdefault("auto_id", "transfer-%s")
        super().__init__(*args, **kwargs)
        self.fields["from_store"] = StoreChoiceField(stores=from_stores, label="From store")
        self.fields["to_store"] = StoreChoiceField(stores=to_stores, label="To store")
        self.fields["item"] = ItemField()
        self.fields["quantity"] = _quantity_field()
        self.fields["notes"] = forms.CharField(
            required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
        )

    def clean(self) -> dict:
        cleaned_data = super().clean()
        line = self._line_fields_clean(cleaned_data)
        if line is not None:
            cleaned_data["line"] = TransferLineIn(**line)
        return cleaned_data


class SaleForm(_LineFormMixin, ActionForm):
    """Quick Sale: one serial, or a SKU and quantity, at one of the user's stores."""

    def __init__(self, *args, stores: list[Store], **kwargs) -> None:
        kwargs.setdefault("auto_id", "sale-%s")
        super().__init__(*args, **kwargs)
        self.fields["store"] = StoreChoiceField(stores=stores)
        self.fields["item"] = ItemField(label="Serial or SKU")
        self.fields["item"].widget.attrs["autofocus"] = True
        self.fields["quantity"] = _quantity_field()
        self.fields["payment_method"] = forms.ChoiceField(
            label="Payment method",
            choices=PaymentMethod.choices,
            widget=forms.RadioSelect,
            error_messages={
                "required": "Choose a payment method.",
                "invalid_choice": "Payment method %(value)s is invalid. Choose one from the list.",
            },
        )
        self.fields["discount"] = forms.DecimalField(
            required=False,
            min_value=0,
            max_digits=12,
            decimal_places=2,
            help_text="Amount off the line, on top of the price list discount.",
            error_messages={
                "invalid": "Enter an amount of zero or more, such as 5.00.",
                "min_value": "Enter a discount of zero or more, such as 5.00.",
            },
        )
        self.fields["discount"].widget.attrs["inputmode"] = "decimal"

    def clean(self) -> dict:
        cleaned_data = super().clean()
        line = self._line_fields_clean(cleaned_data)
        if line is not None:
            discount = cleaned_data.get("discount")
            cleaned_data["line"] = SaleLineIn(**line, discount=discount or 0)
        return cleaned_data


class SettlementForm(ActionForm):
    """Record Settlement: the amount counted per payment method for a store and day.

    Amounts stay text here because the settlement service parses them (it also accepts
    a decimal comma) and reports each invalid one on its own field. A blank amount is not
    counted. ``version`` is the version of the saved settlement the form showed, 0 for none.
    Changing the store or the date fetches the form again from ``refresh_url``, which
    fills in the saved settlement of that store and day.
    """

    def __init__(
        self, *args, stores: list[Store], saved: Settlement | None = None,
        refresh_url: str = "", **kwargs,
    ) -> None:
        kwargs.setdefault("auto_id", "settlement-%s")
        super().__init__(*args, **kwargs)
        self.saved = saved
        today = timezone.localdate()
        self.fields["business_date"] = forms.DateField(
            label="Date",
            initial=today,
            widget=forms.DateInput(attrs={"type": "date", "max": today.isoformat()}),
            error_messages={
                "required": "Enter the business date.",
                "invalid": "Enter a date such as 2026-01-31.",
            },
        )
        self.fields["store"] = StoreChoiceField(stores=stores)
        for method in PaymentMethod:
            self.fields[method.value] = forms.CharField(
                label=method.label, required=False, max_length=20,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.00"}),
            )
        self.fields["notes"] = forms.CharField(
            required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
        )
        self.fields["version"] = forms.IntegerField(
            required=False, min_value=0, initial=saved.version if saved else 0,
            widget=forms.HiddenInput,
        )
        if refresh_url:
            for name in ("business_date", "store"):
                self.fields[name].widget.attrs.update({
                    "hx-get": refresh_url, "hx-trigger": "change",
                    "hx-include": "closest form", "hx-target": "closest form",
                    "hx-swap": "outerHTML",
                })

    @classmethod
    def initial_for(cls, saved: Settlement) -> dict[str, object]:
        """Return the initial values that show a saved settlement's counts and notes."""
        initial: dict[str, object] = {
            "store": saved.store_id,
            "business_date": saved.business_date,
            "notes": saved.notes,
            "version": saved.version,
        }
        for line in saved.lines.all():
            initial[line.payment_method] = f"{line.counted_amount:.2f}"
        return initial

    def amount_fields(self) -> list[forms.BoundField]:
        return [self[method.value] for method in PaymentMethod]

    def counted(self) -> dict[str, str]:
        """Return the typed amount of each payment method that has one."""
        return {
            method.value: self.cleaned_data[method.value]
            for method in PaymentMethod
            if self.cleaned_data.get(method.value, "").strip()
        }

    def saved_note(self) -> str:
        """Describe the saved settlement this form replaces, or return "" when there is none."""
        if self.saved is None:
            return ""
        saved_at = timezone.localtime(self.saved.updated_at)
        when = f"at {saved_at:%H:%M}"
        if saved_at.date() != timezone.localdate():
            when = f"on {saved_at:%-d %b %Y} {when}"
        saved_by = self.saved.updated_by or self.saved.created_by
        by = f" by {saved_by.get_username()}" if saved_by else ""
        return (
            f"{self.saved.store.code} already has a settlement for "
            f"{self.saved.business_date:%-d %b %Y}. Saving updates the settlement saved "
            f"{when}{by}: its counts become the amounts below, and a blank amount is not "
            "counted."
        )


class LookupForm(ActionForm):
    """Find Price and Find Stock: one SKU, barcode or serial."""

    q = ItemField(error_messages={"required": "Enter or scan a SKU, barcode or serial to look up."})


# Form fields that show service errors of these codes, whatever key the error names.
_FIELDS_BY_CODE = {
    InventoryErrorCode.INSUFFICIENT_STOCK: "quantity",
    InventoryErrorCode.INVALID_QUANTITY: "quantity",
    InventoryErrorCode.INVALID_DISCOUNT: "discount",
    InventoryErrorCode.INVALID_PAYMENT_METHOD: "payment_method",
}


def form_errors_add(
    form: forms.Form, error: DomainError, *, fields_by_key: dict[str, str] | None = None
) -> None:
    """Show a service's error on the form: each failing line's message on its field.

    ``fields_by_key`` maps a key of the error's field errors (such as ``lines`` or
    ``store``), or ``""`` for an error that names no field, to a form field. Messages
    that fit no field are shown above the form.
    """
    fields_by_key = fields_by_key or {}
    for problem in getattr(error, "problems", None) or [error]:
        keys = list(problem.field_errors) or [""]
        if len(keys) == 1:
            field = _field_for(form, problem, keys[0], fields_by_key)
            form.add_error(field, problem.message)
            continue
        for key, messages in problem.field_errors.items():
            field = _field_for(form, problem, key, fields_by_key)
            for message in messages:
                form.add_error(field, message)


def _field_for(
    form: forms.Form, problem: DomainError, key: str, fields_by_key: dict[str, str]
) -> str | None:
    candidates = [
        _FIELDS_BY_CODE.get(problem.code),
        fields_by_key.get(key),
        fields_by_key.get(key.split(".")[0]),
        key,
    ]
    return next((name for name in candidates if name and name in form.fields), None)


class ImportColumnsForm(forms.Form):
    """The column of a failed import's file that each field of its kind is read from.

    One select per field, offering the file's header names; the required ones must be
    chosen, and a column may feed one field only.
    """

    NOT_IN_FILE = ""

    def __init__(self, *args, specs, header: list[str], store_optional: bool,
                 initial_map: dict[str, str], **kwargs) -> None:
        super().__init__(*args, initial=initial_map, label_suffix="", **kwargs)
        choices = [(self.NOT_IN_FILE, "Not in the file")] + [
            (name, name) for name in dict.fromkeys(name for name in header if name.strip())
        ]
        for spec in specs:
            required = spec.required and not (spec.name == "store" and store_optional)
            self.fields[spec.name] = forms.ChoiceField(
                label=spec.name, choices=choices, required=required,
                help_text="Required." if required else "Optional.",
                error_messages={"required": f"Choose the column that holds {spec.name}."},
            )

    def clean(self) -> dict:
        cleaned = super().clean()
        fields_by_column: dict[str, list[str]] = {}
        for name, column in cleaned.items():
            if column:
                fields_by_column.setdefault(column, []).append(name)
        for column, names in fields_by_column.items():
            if len(names) > 1:
                self.add_error(
                    None,
                    f"Column '{column}' is chosen for {' and '.join(names)}. Choose it for one "
                    "field only.",
                )
        return cleaned

    def column_map(self) -> dict[str, str]:
        """Return the chosen column of each field that has one."""
        return {name: column for name, column in self.cleaned_data.items() if column}
