"""Fields of each import kind and the matching of a file's header to them.

A header cell matches a field when its normalised text (lowercase, without spaces,
underscores, hyphens and dots) equals the field's name or one of its aliases. The alias
table below is the one place to teach the importer a new column name.
"""

import re
from collections.abc import Container
from dataclasses import dataclass, field

from imports.problems import ImportErrorCode, ImportFileError
from imports.readers.table import column_letter

# Aliases per field, as people write them. Matching normalises both sides, and a
# field's own name always matches, so it is not repeated here.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "store": ("store_code", "storecode", "shop", "branch", "location"),
    "sku": (
        "stockcode",
        "item code",
        "itemcode",
        "article",
        "article number",
        "product code",
        "item",
    ),
    "name": ("description", "product name", "title"),
    "category": (),
    "serialized": ("is_serialized", "serial tracked"),
    "barcode": ("ean", "gtin", "upc"),
    "low_stock_threshold": ("min stock", "reorder level"),
    "price": ("list price", "retail price"),
    "currency": (),
    "valid_from": ("from", "start date"),
    "valid_to": ("to", "end date", "valid until"),
    "discount": (),
    "source": ("supplier",),
    "price_list": ("list", "price list name"),
    "serial": ("imei", "serial number", "sn"),
    "qty": ("quantity", "on hand", "onhand", "count", "units"),
    "status": ("state", "condition"),
    "unit_cost": ("cost", "unit cost", "purchase price"),
    "received_at": ("received_date", "received", "date received"),
    "receipt": ("invoice", "invoiceno", "invoice number", "receipt number", "order"),
    "sold_at": ("invoicedate", "date", "sale date", "timestamp", "time"),
    "unit_price": ("unitprice", "sale price"),
    "payment_method": ("payment", "tender"),
}

# Aliases that belong to a field only in some kinds, because another kind uses the
# same word for a different field ("price" is the list price of a pricelist but the
# selling price of a sale).
# A price list's discount is a percentage, a sale line's an amount.
KIND_EXTRA_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "pricelist": {"discount": ("discount %", "discount percent")},
    "sales": {"unit_price": ("price",), "discount": ("discount amount",)},
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    required: bool
    aliases: tuple[str, ...]


def _fields(
    kind: str, *, required: tuple[str, ...], optional: tuple[str, ...]
) -> tuple[FieldSpec, ...]:
    extra = KIND_EXTRA_ALIASES.get(kind, {})
    return tuple(
        FieldSpec(name, name in required, FIELD_ALIASES[name] + extra.get(name, ()))
        for name in required + optional
    )


KIND_FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "products": _fields(
        "products",
        required=("sku", "name"),
        optional=("category", "serialized", "barcode", "low_stock_threshold"),
    ),
    "pricelist": _fields(
        "pricelist",
        required=("sku", "price"),
        optional=(
            "currency",
            "valid_from",
            "valid_to",
            "discount",
            "source",
            "store",
            "price_list",
        ),
    ),
    "stock": _fields(
        "stock",
        required=("store", "sku"),
        optional=("serial", "qty", "status", "unit_cost", "received_at"),
    ),
    # store is required unless the job names a default store (see columns_match).
    "sales": _fields(
        "sales",
        required=("receipt", "sold_at", "store", "qty", "unit_price"),
        optional=("sku", "serial", "discount", "payment_method"),
    ),
}

_SEPARATORS = re.compile(r"[\s_\-.]+")

# Header texts that look like data: a first line of values instead of names.
_DATA_LIKE = re.compile(r"^\s*(?:[+-]?\d+(?:[.,]\d+)*|\d{1,4}[./-]\d{1,2}[./-]\d{1,4}.*)\s*$")


@dataclass(slots=True)
class ColumnMatch:
    """The column of each field in the rows of one file, and the header names left unused.

    `indexes` maps a field name to its 0-based column. `ignored` lists the header names
    that match no field, for the job summary. `notes` explains choices a person may want
    to check, such as an alias column left out (and listed in `ignored`) because another
    column is named exactly like the field.
    """

    indexes: dict[str, int]
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def header_normalise(text: str) -> str:
    """Return the form in which header names and aliases are compared."""
    return _SEPARATORS.sub("", text.strip().casefold())


def kind_fields(kind: str) -> tuple[FieldSpec, ...]:
    """Return the field specs of an import kind, or raise ImportFileError for an unknown kind."""
    try:
        return KIND_FIELDS[kind]
    except KeyError:
        raise ImportFileError(
            ImportErrorCode.KIND_UNKNOWN,
            f"Import kind '{kind}' is unknown. Choose one of {', '.join(KIND_FIELDS)}.",
        ) from None


def columns_guess(header: list[str], kind: str) -> dict[str, str]:
    """Return the header name that each field would be read from, where one column fits.

    The same rules as columns_match(), except that a field with no column or with two
    equally good ones is left out instead of raising, so a form can offer the rest.
    """
    normalised = [header_normalise(name) for name in header]
    used_columns: set[int] = set()
    guess: dict[str, str] = {}
    for spec in kind_fields(kind):
        exact, alias = _field_candidates(spec, normalised, used_columns)
        best = exact or alias
        if len(best) == 1:
            used_columns.add(best[0])
            guess[spec.name] = header[best[0]]
    return guess


def columns_match(
    header: list[str],
    kind: str,
    column_map: dict[str, str] | None = None,
    *,
    has_default_store: bool = False,
) -> ColumnMatch:
    """Match the header of a file to the fields of an import kind.

    `column_map` maps a field name to a header name as written in the file, and wins over
    the aliases. Otherwise a header that is the field's own name wins over headers that
    are aliases of it, and the alias column is ignored with a note. Header names that
    match no field are listed in `ignored`.

    Raises ImportFileError when two columns match one field equally well or a required
    field has no column. Store is optional for sales with a default store. The column
    map raises it too when it names an unknown field or a header that the file lacks.
    """
    specs = kind_fields(kind)
    normalised = [header_normalise(name) for name in header]
    column_fields: dict[int, str] = {}
    match = ColumnMatch(indexes={})

    for field_name, column in _map_resolve(header, normalised, specs, column_map or {}).items():
        match.indexes[field_name] = column
        column_fields[column] = field_name

    for spec in specs:
        if spec.name in match.indexes:
            continue
        column = _field_column(spec, header, normalised, column_fields, match)
        if column is not None:
            match.indexes[spec.name] = column
            column_fields[column] = spec.name

    for index, name in enumerate(header):
        if index not in column_fields and normalised[index]:
            match.ignored.append(name)

    _require_fields(header, specs, match, has_default_store)
    return match


def _map_resolve(
    header: list[str],
    normalised: list[str],
    specs: tuple[FieldSpec, ...],
    column_map: dict[str, str],
) -> dict[str, int]:
    known = {spec.name for spec in specs}
    resolved: dict[str, int] = {}
    for field_name, header_name in column_map.items():
        if field_name not in known:
            raise ImportFileError(
                ImportErrorCode.COLUMN_MAP_INVALID,
                f"The column map names the field '{field_name}', which the import kind does not "
                f"have. Map one of {', '.join(sorted(known))}.",
            )

        expected_name = header_normalise(header_name)
        columns = [
            index
            for index, name in enumerate(normalised)
            if name == expected_name and expected_name
        ]
        if not columns:
            raise ImportFileError(
                ImportErrorCode.COLUMN_MAP_INVALID,
                f"The column map sends '{header_name}' to {field_name}, but the file has no "
                f"column '{header_name}'. Its columns are: {_header_list(header)}.",
            )
        if len(columns) > 1:
            raise ImportFileError(
                ImportErrorCode.COLUMN_DUPLICATE,
                f"The column map sends '{header_name}' to {field_name}, but columns "
                f"{_letters(columns)} are {_all(columns)} named '{header_name}'. Rename all "
                "but one of them.",
            )
        if columns[0] in resolved.values():
            raise ImportFileError(
                ImportErrorCode.COLUMN_MAP_INVALID,
                f"The column map sends column '{header_name}' to more than one field. "
                "Map each column to one field.",
            )
        resolved[field_name] = columns[0]
    return resolved


def _field_column(
    spec: FieldSpec,
    header: list[str],
    normalised: list[str],
    column_fields: dict[int, str],
    match: ColumnMatch,
) -> int | None:
    exact, alias = _field_candidates(spec, normalised, column_fields)
    best = exact or alias
    if not best:
        return None
    if len(best) > 1:
        raise _duplicate_error(spec.name, header, best)
    if exact and alias:
        for index in alias:
            match.notes.append(
                f"Column {column_letter(index)} ('{header[index].strip()}') was not imported as "
                f"{spec.name} because column {column_letter(exact[0])} is named {spec.name}."
            )
    return best[0]


def _field_candidates(
    spec: FieldSpec, normalised: list[str], taken: Container[int]
) -> tuple[list[int], list[int]]:
    """Return the free columns named exactly like the field, and those named like an alias."""
    own = header_normalise(spec.name)
    aliases = {header_normalise(alias) for alias in spec.aliases} - {own}
    exact = [index for index, name in enumerate(normalised) if name == own and index not in taken]
    alias = [
        index for index, name in enumerate(normalised) if name in aliases and index not in taken
    ]
    return exact, alias


def _duplicate_error(field_name: str, header: list[str], columns: list[int]) -> ImportFileError:
    names = {header[index].strip() for index in columns}
    if len(names) == 1:
        message = (
            f"Columns {_letters(columns)} are {_all(columns)} named '{names.pop()}', so it is "
            f"unclear which one holds {field_name}. Rename or delete all but one of them."
        )
    else:
        named = ", ".join(
            f"{column_letter(index)} ('{header[index].strip()}')" for index in columns
        )
        message = (
            f"Columns {named} {_all(columns)} match {field_name}, so it is unclear which one "
            "to import. Rename or delete all but one, or choose one in the column map."
        )
    return ImportFileError(
        ImportErrorCode.COLUMN_DUPLICATE, message, field_errors={field_name: [message]}
    )


def _require_fields(
    header: list[str], specs: tuple[FieldSpec, ...], match: ColumnMatch, has_default_store: bool
) -> None:
    missing = [
        spec
        for spec in specs
        if spec.required
        and spec.name not in match.indexes
        and not (spec.name == "store" and has_default_store)
    ]
    if not missing:
        return

    field_errors = {
        spec.name: [
            f"Column '{spec.name}' is missing. Name a column "
            f"{_or_list((spec.name, *spec.aliases))}, or map one in the column map."
        ]
        for spec in missing
    }
    message = " ".join(errors[0] for errors in field_errors.values())
    if any(_DATA_LIKE.match(name) for name in header if name.strip()):
        message += (
            f" The first row reads {_header_list(header)}, which looks like data: add a "
            "header row that names the columns."
        )
    raise ImportFileError(ImportErrorCode.COLUMN_MISSING, message, field_errors=field_errors)


def _or_list(names: tuple[str, ...]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _letters(columns: list[int]) -> str:
    letters = [column_letter(index) for index in columns]
    return ", ".join(letters[:-1]) + " and " + letters[-1]


def _all(columns: list[int]) -> str:
    return "both" if len(columns) == 2 else "all"


def _header_list(header: list[str]) -> str:
    names = ", ".join(f"'{name.strip()}'" for name in header[:12] if name.strip())
    return names + (", ..." if len(header) > 12 else "")
