import pytest

from imports.columns import KIND_FIELDS, columns_match, header_normalise
from imports.problems import ImportErrorCode, ImportFileError
from imports.readers import open_table
from imports.tests.conftest import case_path, shared_data_path

STOCK_HEADER = ["store_code", "sku", "serial", "qty", "cost", "status", "received_date"]


@pytest.mark.parametrize("kind", list(KIND_FIELDS))
def test_aliases_unique_per_kind(kind):
    owners: dict[str, list[str]] = {}

    for spec in KIND_FIELDS[kind]:
        for name in {header_normalise(name) for name in (spec.name, *spec.aliases)}:
            owners.setdefault(name, []).append(spec.name)

    shared = {name: fields for name, fields in owners.items() if len(fields) > 1}
    assert shared == {}


@pytest.mark.parametrize(
    "kind, header_name, field",
    [
        ("stock", "Store Code", "store"),
        ("stock", "shop", "store"),
        ("stock", "Branch", "store"),
        ("stock", "LOCATION", "store"),
        ("stock", "StockCode", "sku"),
        ("stock", "Item code", "sku"),
        ("stock", "item-code", "sku"),
        ("stock", "Article Number", "sku"),
        ("stock", "Product Code", "sku"),
        ("stock", "IMEI", "serial"),
        ("stock", "Serial Number", "serial"),
        ("stock", "SN", "serial"),
        ("stock", "On Hand", "qty"),
        ("stock", "Quantity", "qty"),
        ("stock", "units", "qty"),
        ("stock", "Purchase Price", "unit_cost"),
        ("stock", "unit.cost", "unit_cost"),
        ("stock", "Date received", "received_at"),
        ("stock", "condition", "status"),
        ("products", "Description", "name"),
        ("products", "Product Name", "name"),
        ("products", "EAN", "barcode"),
        ("products", "GTIN", "barcode"),
        ("products", "Serial tracked", "serialized"),
        ("products", "Reorder level", "low_stock_threshold"),
        ("pricelist", "List Price", "price"),
        ("pricelist", "Retail price", "price"),
        ("pricelist", "Discount %", "discount"),
        ("pricelist", "Start date", "valid_from"),
        ("pricelist", "Valid until", "valid_to"),
        ("pricelist", "Supplier", "source"),
        ("pricelist", "Price list name", "price_list"),
        ("sales", "InvoiceNo", "receipt"),
        ("sales", "Receipt number", "receipt"),
        ("sales", "InvoiceDate", "sold_at"),
        ("sales", "Timestamp", "sold_at"),
        ("sales", "UnitPrice", "unit_price"),
        ("sales", "Price", "unit_price"),
        ("sales", "Tender", "payment_method"),
    ],
)
def test_alias_matches_field(kind, header_name, field):
    required = {
        "stock": ["store", "sku"],
        "products": ["sku", "name"],
        "pricelist": ["sku", "price"],
        "sales": ["receipt", "sold_at", "store", "qty", "unit_price"],
    }[kind]
    header = [name for name in required if name != field] + [header_name]

    match = columns_match(header, kind)

    assert match.indexes[field] == len(header) - 1


def test_headers_trimmed_and_case_folded():
    table = open_table(case_path("15"))

    match = columns_match(table.header, "pricelist")

    assert match.indexes == {
        "sku": 0,
        "price": 1,
        "currency": 2,
        "valid_from": 3,
        "valid_to": 4,
        "discount": 5,
        "source": 6,
    }
    assert match.ignored == []


def test_bom_file_header_matches_stock():
    table = open_table(case_path("01"))

    match = columns_match(table.header, "stock")

    assert match.indexes["store"] == 0
    assert match.indexes["unit_cost"] == 4
    assert match.indexes["received_at"] == 6


def test_duplicate_header_names_column_letters():
    table = open_table(case_path("14"))

    with pytest.raises(ImportFileError) as raised:
        columns_match(table.header, "stock")

    message = raised.value.message
    assert raised.value.code == ImportErrorCode.COLUMN_DUPLICATE
    assert "'qty'" in message
    assert "D and F" in message
    assert raised.value.field_errors == {"qty": [message]}


def test_two_aliases_one_field_rejected():
    header = ["store", "sku", "Quantity", "Units"]

    with pytest.raises(ImportFileError) as raised:
        columns_match(header, "stock")

    assert raised.value.code == ImportErrorCode.COLUMN_DUPLICATE
    assert "C ('Quantity')" in raised.value.message
    assert "D ('Units')" in raised.value.message
    assert "qty" in raised.value.message


def test_exact_name_beats_alias():
    table = open_table(case_path("21"))

    match = columns_match(table.header, "pricelist")

    assert match.indexes["price"] == 1
    assert match.ignored == ["list_price"]
    assert match.notes == [
        "Column H ('list_price') was not imported as price because column B is named price."
    ]


def test_unknown_columns_are_listed_as_ignored():
    table = open_table(case_path("12"))

    match = columns_match(table.header, "products")

    assert match.indexes == {"sku": 0, "name": 1, "category": 3}
    assert match.ignored == ["brand", "note"]


def test_missing_column_names_its_aliases():
    with pytest.raises(ImportFileError) as raised:
        columns_match(["store", "qty"], "stock")

    assert raised.value.code == ImportErrorCode.COLUMN_MISSING
    assert raised.value.message == (
        "Column 'sku' is missing. Name a column sku, stockcode, item code, itemcode, article, "
        "article number, product code or item, or map one in the column map."
    )
    assert list(raised.value.field_errors) == ["sku"]


def test_every_missing_column_is_reported():
    with pytest.raises(ImportFileError) as raised:
        columns_match(["note"], "pricelist")

    assert list(raised.value.field_errors) == ["sku", "price"]
    assert "Column 'price' is missing." in raised.value.message


def test_data_row_as_header_hint():
    with pytest.raises(ImportFileError) as raised:
        columns_match(["S014", "PHN-A15-128-BLK", "356465816998392", "1", "161.40"], "stock")

    assert "looks like data" in raised.value.message


def test_sales_store_optional_with_default_store():
    header = ["receipt", "sold_at", "sku", "qty", "unit_price"]

    match = columns_match(header, "sales", has_default_store=True)

    assert "store" not in match.indexes


def test_sales_store_required_without_default_store():
    header = ["receipt", "sold_at", "sku", "qty", "unit_price"]

    with pytest.raises(ImportFileError) as raised:
        columns_match(header, "sales")

    assert list(raised.value.field_errors) == ["store"]


def test_column_map_wins_over_aliases():
    header = ["Artikel", "Bezeichnung", "sku"]

    match = columns_match(header, "products", {"sku": "Artikel", "name": " bezeichnung "})

    assert match.indexes == {"sku": 0, "name": 1}
    assert match.ignored == ["sku"]


def test_column_map_missing_header():
    with pytest.raises(ImportFileError) as raised:
        columns_match(["sku", "name"], "products", {"name": "Bezeichnung"})

    assert raised.value.code == ImportErrorCode.COLUMN_MAP_INVALID
    assert "'Bezeichnung'" in raised.value.message
    assert "'sku', 'name'" in raised.value.message


def test_column_map_unknown_field():
    with pytest.raises(ImportFileError) as raised:
        columns_match(["sku", "name"], "products", {"colour": "name"})

    assert raised.value.code == ImportErrorCode.COLUMN_MAP_INVALID
    assert "'colour'" in raised.value.message


def test_column_map_duplicated_header():
    with pytest.raises(ImportFileError) as raised:
        columns_match(["sku", "Name", "Name"], "products", {"name": "Name"})

    assert raised.value.code == ImportErrorCode.COLUMN_DUPLICATE
    assert "B and C" in raised.value.message


def test_unknown_kind_is_rejected():
    with pytest.raises(ImportFileError) as raised:
        columns_match(["sku"], "returns")

    assert raised.value.code == ImportErrorCode.KIND_UNKNOWN
    assert "products, pricelist, stock, sales" in raised.value.message


def test_empty_header_cells_not_ignored():
    match = columns_match(["", "sku", "name", "  "], "products")

    assert match.indexes == {"sku": 1, "name": 2}
    assert match.ignored == []


def test_online_retail_header_matches():
    table = open_table(shared_data_path("online-retail", "online-retail-head200k.csv"))

    sales = columns_match(table.header, "sales", has_default_store=True)
    products = columns_match(table.header, "products")

    assert sales.indexes == {"receipt": 0, "sku": 1, "qty": 3, "sold_at": 4, "unit_price": 5}
    assert sales.ignored == ["Description", "CustomerID", "Country"]
    assert products.indexes == {"sku": 1, "name": 2}


@pytest.mark.django_db
@pytest.mark.parametrize("content", [b"   \n\n  \n", b"\r\n\r\n"])
def test_file_of_blank_lines_fails_as_empty(tmp_path, content):
    from imports.models import ImportStatus
    from imports.tests.helpers import import_run
    from inventory.tests.factories import back_office_user

    path = tmp_path / "blank.csv"
    path.write_bytes(content)

    job = import_run(path, kind="stock", user=back_office_user())

    assert job.status == ImportStatus.FAILED
    assert job.failure_code == ImportErrorCode.FILE_EMPTY
    assert "only empty lines" in job.failure_reason
