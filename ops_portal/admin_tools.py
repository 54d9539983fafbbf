"""Shared pieces of the back-office admin: base classes, a paginator for large tables,
search by exact values, and the formatting of money and quantities."""

import logging
from decimal import Decimal

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import ShowFacets
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.text import smart_split, unescape_string_literal

logger = logging.getLogger(__name__)


def table_row_estimate(queryset: QuerySet) -> int | None:
    """Return the database's estimate of the rows in the queryset's table.

    Returns None unless the database is MySQL or MariaDB and the queryset selects the
    whole table: no filter, search, DISTINCT, GROUP BY or slice. The estimate is
    information_schema.TABLES.TABLE_ROWS, which InnoDB refreshes from sampled index
    statistics, so it can be off by several percent.
    """
    connection = connections[queryset.db]
    if connection.vendor != "mysql":
        return None
    query = queryset.query
    if (
        query.where
        or query.distinct
        or query.combinator
        or query.is_sliced
        or query.group_by is not None
        or query.extra_tables
    ):
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT TABLE_ROWS FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
            [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    return int(row[0])


class EstimatedCountPaginator(Paginator):
    """A paginator that takes an unfiltered table's size from the database's estimate.

    An exact COUNT(*) over a million InnoDB rows reads a whole index. An unfiltered change
    list only needs the number of pages, so the estimate of table_row_estimate() is used
    when it is at least ``exact_count_below``. Filtered and searched lists, small tables
    and databases other than MySQL/MariaDB get the exact count. With an estimate, the last
    page may come out short or empty, or the last few rows may sit past the last page.
    Pages far from the start still pay for OFFSET: page 9,900 of a million sale lines took
    1.5 s on MariaDB 10.11.
    """

    exact_count_below = 100_000
    count_is_estimate = False

    @cached_property
    def count(self) -> int:
        estimate = table_row_estimate(self.object_list)
        if estimate is not None and estimate >= self.exact_count_below:
            self.count_is_estimate = True
            return estimate
        self.count_is_estimate = False
        return self.object_list.count()


class PortalModelAdmin(admin.ModelAdmin):
    """The base of every admin of the portal.

    The change list never counts the unfiltered table a second time just to print
    "N of M selected"; the paginator's count is the only count it runs.
    """

    show_full_result_count = False


class LargeTableAdmin(PortalModelAdmin):
    """The base of admins over tables that reach millions of rows.

    The page query reads the large table alone, so its ORDER BY ... LIMIT walks an index,
    and ``list_prefetch_related`` then loads the related rows of the page with one query
    per relation. With the joins of list_select_related, MariaDB 10.11 starts the plan at
    the small joined table (stores, products) and sorts the whole large table, which
    took 1 to 7 seconds per page at a million rows.

    Facet counts are switched off because each one is a COUNT over the filtered table.
    Subclasses limit ``sortable_by`` to the columns an index keeps in order.
    """

    paginator = EstimatedCountPaginator
    show_facets = ShowFacets.NEVER
    # An empty tuple, unlike False, keeps the change list from joining every foreign key
    # named in list_display.
    list_select_related = ()
    list_prefetch_related: tuple[str, ...] = ()

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related(*self.list_prefetch_related)


class ReadOnlyAdminMixin:
    """Shows a model in the admin without add, change or delete, superusers included."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ExactSearchMixin:
    """Searches a large table by exact values only, each served by an index.

    ``exact_search_fields`` are columns of the model matched as they are.
    ``exact_search_related`` lists (column, model, lookup, value field) tuples: the term
    is looked up in the other model first, and ``column`` is matched against the values
    found. Django's default search joins the related tables and ORs across them, which
    no index serves, so MySQL scans the whole table. Here each term costs one query per
    related lookup, and the final filter is an OR of indexed columns (an index merge).
    Terms combine with AND, as in Django's default search.
    """

    exact_search_fields: tuple[str, ...] = ()
    exact_search_related: tuple[tuple[str, type[Model], str, str], ...] = ()
    # A term that matches more related rows than this searches the first ones only,
    # which keeps the IN list short enough for the index merge.
    exact_search_max_ids = 1000

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        for term in _search_terms(search_term):
            queryset = queryset.filter(self._exact_search_q(term))
        return queryset, False

    def _exact_search_q(self, term: str) -> Q:
        # pk__in=[] matches nothing, so a term that matches no column finds no rows.
        condition = Q(pk__in=[])
        for column in self.exact_search_fields:
            condition |= Q(**{column: term})
        for column, model, lookup, value_field in self.exact_search_related:
            values = list(
                model._default_manager.filter(**{lookup: term})
                .order_by()
                .values_list(value_field, flat=True)
                .distinct()[: self.exact_search_max_ids]
            )
            if values:
                condition |= Q(**{f"{column}__in": values})
        return condition


def _search_terms(search_term: str) -> list[str]:
    terms = []
    for bit in smart_split(search_term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        if bit:
            terms.append(bit)
    return terms


def money_display(amount: Decimal | None, currency: str | None = None) -> str | None:
    """Format an amount with thousands separators, two decimals and its currency."""
    if amount is None:
        return None
    return f"{amount:,.2f} {currency or settings.PORTAL_CURRENCY}"


def quantity_display(quantity: int | None, *, signed: bool = False) -> str | None:
    """Format a quantity with thousands separators, and with ``signed`` a + on increases."""
    if quantity is None:
        return None
    return f"{quantity:+,}" if signed else f"{quantity:,}"
