"""Pagination of the list endpoints.

Keyset (cursor) pagination over a unique, immutable key: pages stay stable while rows are added,
and a page costs the same at the millionth row as at the first.
"""

import contextlib
import re
from base64 import b64decode, b64encode
from urllib import parse

from django.utils.encoding import force_str
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, _positive_int
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

_BIGINT = re.compile(r"[0-9]{1,18}")


class KeysetPagination(CursorPagination):
    page_size_query_param = "page_size"
    max_page_size = 500
    #: The key is an integer column: a cursor naming anything else is invalid (404), not a
    #: server error when the database is asked to compare it.
    integer_key = False

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        position = cursor.position if cursor is not None else None
        if position is not None and (
            "\x00" in position or (self.integer_key and not _BIGINT.fullmatch(position))
        ):
            raise NotFound(self.invalid_cursor_message)
        return cursor


class ByCode(KeysetPagination):
    ordering = "code"


class BySymbol(KeysetPagination):
    ordering = "symbol"


class ById(KeysetPagination):
    ordering = "id"
    integer_key = True


class NewestFirst(KeysetPagination):
    ordering = "-id"
    integer_key = True


class CountedById(ById):
    """Keyset pages by id that keep the envelope of the limit/offset pages the list had before:
    ``count``, and ``limit`` and ``offset`` still understood (``limit`` is ``page_size``; an
    ``offset`` without a cursor starts the page after that many rows, found by one index read,
    and its ``previous`` link is an offset one). ``next`` is a cursor link; clients follow the
    links, whichever kind they are.

    ``count`` is the rows of the whole list when the listing began: the first page (no cursor)
    counts them (one ``COUNT`` query) and its cursor links carry the figure, so that a later page
    costs that page only, not a scan of the whole list.
    """

    limit_query_param = "limit"
    offset_query_param = "offset"

    def get_page_size(self, request):
        if (
            self.page_size_query_param not in request.query_params
            and self.limit_query_param in request.query_params
        ):
            try:
                return _positive_int(
                    request.query_params[self.limit_query_param], strict=True, cutoff=self.max_page_size
                )
            except (KeyError, ValueError):
                pass
        return super().get_page_size(request)

    def _legacy_offset(self, request) -> int:
        if self.cursor_query_param in request.query_params:
            return 0
        try:
            return _positive_int(request.query_params[self.offset_query_param])
        except (KeyError, ValueError):
            return 0

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        self.carried_count = None
        if cursor is not None:
            encoded = request.query_params[self.cursor_query_param]
            tokens = parse.parse_qs(
                b64decode(encoded.encode("ascii")).decode("ascii"), keep_blank_values=True
            )
            # A cursor without (or with a garbled) count: count again.
            with contextlib.suppress(ValueError):
                self.carried_count = _positive_int(tokens.get("c", [""])[0])
        return cursor

    def encode_cursor(self, cursor):
        tokens = {"c": str(self.count)}
        if cursor.offset != 0:
            tokens["o"] = str(cursor.offset)
        if cursor.reverse:
            tokens["r"] = "1"
        if cursor.position is not None:
            tokens["p"] = cursor.position
        encoded = b64encode(parse.urlencode(tokens, doseq=True).encode("ascii")).decode("ascii")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)

    def paginate_queryset(self, queryset, request, view=None):
        self.decode_cursor(request)  # also refuses a garbled cursor before anything is read (404)
        self.count = self.carried_count if self.carried_count is not None else queryset.count()
        self.legacy_offset = self._legacy_offset(request)
        if self.legacy_offset >= self.count:
            queryset = queryset.none()
        elif self.legacy_offset:
            # The key of the offset-th row: this page starts after it (nothing when there is none).
            order = self.ordering.lstrip("-") if isinstance(self.ordering, str) else self.ordering[0]
            boundary = list(
                queryset.order_by(order).values_list(order, flat=True)[self.legacy_offset - 1 :][:1]
            )
            queryset = queryset.filter(**{f"{order}__gt": boundary[0]}) if boundary else queryset.none()
        page = super().paginate_queryset(queryset, request, view)
        # Cursor links carry no offset: a cursor page ignores it anyway.
        self.base_url = remove_query_param(self.base_url, self.offset_query_param)
        return page

    def get_previous_link(self):
        if self.legacy_offset:
            url = self.request.build_absolute_uri()
            previous = self.legacy_offset - self.page_size
            if previous <= 0:
                return remove_query_param(url, self.offset_query_param)
            return replace_query_param(url, self.offset_query_param, previous)
        return super().get_previous_link()

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["required"] = ["count", "results"]
        response["properties"] = {
            "count": {
                "type": "integer",
                "example": 123,
                "description": force_str(_("Rows in the whole list.")),
            },
            **response["properties"],
        }
        return response

    def get_schema_operation_parameters(self, view):
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.limit_query_param,
                "required": False,
                "in": "query",
                "deprecated": True,
                "description": force_str(_("Number of results to return per page (page_size is preferred).")),
                "schema": {"type": "integer"},
            },
            {
                "name": self.offset_query_param,
                "required": False,
                "in": "query",
                "deprecated": True,
                "description": force_str(
                    _("Rows to skip before the page, when no cursor is given (follow the next link instead).")
                ),
                "schema": {"type": "integer"},
            },
        ]
