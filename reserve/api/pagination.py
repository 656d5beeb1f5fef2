"""Pagination of the list endpoints.

Keyset (cursor) pagination over a unique, immutable key: pages stay stable while rows are added,
and a page costs the same at the millionth row as at the first.
"""

from rest_framework.pagination import CursorPagination, LimitOffsetPagination


class KeysetPagination(CursorPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class ByCode(KeysetPagination):
    ordering = "code"


class BySymbol(KeysetPagination):
    ordering = "symbol"


class ById(KeysetPagination):
    ordering = "id"


class NewestFirst(KeysetPagination):
    ordering = "-id"


class LimitOffset(LimitOffsetPagination):
    """For lists a selector returns as a Python list rather than a queryset."""

    max_limit = 500
