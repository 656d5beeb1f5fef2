"""Read-only endpoints of the valuations: the latest snapshot, the one in force at a moment, and
NAV per day. Views are thin: :mod:`reserve.valuations.selectors` does the reading."""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reserve.api.errors import error_responses
from reserve.api.valuation_serializers import (
    NavDayOutputSerializer,
    NavInputSerializer,
    SnapshotOutputSerializer,
    ValuationAtInputSerializer,
)
from reserve.api.views import ReadApi
from reserve.models import Scope, SnapshotPrice, ValuationSnapshot
from reserve.valuations import selectors

TAG = "valuations"


class NavPagination(LimitOffsetPagination):
    """NAV is one row per day, read as a list (:func:`~reserve.valuations.selectors.nav_history`):
    pages of that list."""

    default_limit = 100
    max_limit = 1000


def _with_prices(snapshot: ValuationSnapshot | None) -> ValuationSnapshot | None:
    if snapshot is None:
        return None
    return (
        selectors.snapshots()
        .prefetch_related(Prefetch("prices", queryset=SnapshotPrice.objects.select_related("asset")))
        .get(pk=snapshot.pk)
    )


def _snapshot_response(snapshot: ValuationSnapshot | None, message: str) -> Response:
    if snapshot is None:
        raise exceptions.NotFound(message)
    return Response(SnapshotOutputSerializer(_with_prices(snapshot)).data)


class ValuationApi(ReadApi):
    required_scope = Scope.VALUATIONS_READ
    view_models = (ValuationSnapshot,)


class LatestValuationApi(ValuationApi, APIView):
    @extend_schema(
        tags=[TAG],
        summary="The latest valuation",
        description=(
            "The latest snapshot: the reserve and the units held for cases apart, in USD and KZT; "
            "the USD/KZT official rate used; each asset's price with the quotes used and rejected; "
            "the assets left unpriced and why. Values are exact decimal strings; a missing value "
            "is null, never zero."
        ),
        responses={200: SnapshotOutputSerializer, **error_responses(401, 403, 404, 429)},
    )
    def get(self, request: Request) -> Response:
        return _snapshot_response(selectors.latest_snapshot(), _("No valuation has been made yet."))


class ValuationAtApi(ValuationApi, APIView):
    @extend_schema(
        tags=[TAG],
        summary="The valuation in force at a moment",
        description="The latest snapshot taken at or before `at` (a date-time with its offset).",
        parameters=[ValuationAtInputSerializer],
        responses={
            200: SnapshotOutputSerializer,
            **error_responses(
                400,
                401,
                403,
                404,
                429,
                invalid={"at": ["Give the time zone of the date-time (+05:00 for Almaty, or Z)."]},
            ),
        },
    )
    def get(self, request: Request) -> Response:
        params = ValuationAtInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        snapshot = selectors.snapshot_at(params.validated_data["at"])
        return _snapshot_response(snapshot, _("No valuation was made at or before this moment."))


class NavHistoryApi(ValuationApi, APIView):
    pagination_class = NavPagination

    @extend_schema(
        tags=[TAG],
        summary="NAV per day",
        description=(
            "One row per Almaty day with a valuation: the day's last snapshot, the reserve and the "
            "units held for cases apart (never summed), oldest first."
        ),
        parameters=[NavInputSerializer],
        responses={
            200: NavDayOutputSerializer(many=True),
            **error_responses(400, 401, 403, 429, invalid={"since": ["Date has wrong format."]}),
        },
    )
    def get(self, request: Request) -> Response:
        params = NavInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        days = selectors.nav_history(
            since=params.validated_data.get("since"), until=params.validated_data.get("until")
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(days, request, view=self)
        return paginator.get_paginated_response(NavDayOutputSerializer(page, many=True).data)
