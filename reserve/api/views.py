"""Read-only endpoints of the reserve: assets, wallets, balances, holdings and lots.

Views are thin: the selectors in :mod:`reserve.ledger.selectors` do the reading, serializers in
:mod:`reserve.api.serializers` say what goes in and out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reserve.api import pagination
from reserve.api.base import ApiEndpoint
from reserve.api.errors import error_responses
from reserve.api.filters import BalanceFilter, QueryFilterBackend
from reserve.api.permissions import CanViewModels, TokenHasScope
from reserve.api.serializers import (
    AssetOutputSerializer,
    BalanceOutputSerializer,
    HoldingsInputSerializer,
    HoldingsOutputSerializer,
    LotOutputSerializer,
    LotsInputSerializer,
    WalletOutputSerializer,
)
from reserve.ledger import selectors
from reserve.models import Account, Asset, Lot, Scope, Wallet, WalletAddress
from reserve.valuations.selectors import latest_prices
from reserve.valuations.services import value_units

TAG = "reserve"
SYMBOL_PARAMETER = OpenApiParameter(
    "symbol",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="Asset symbol, e.g. BTC.",
    examples=[OpenApiExample("BTC", value="BTC")],
)
WALLET_CODE_PARAMETER = OpenApiParameter(
    "code",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="Wallet code, e.g. cold-a.",
    examples=[OpenApiExample("cold-a", value="cold-a")],
)


@dataclass(frozen=True)
class ValuedHolding:
    holding: selectors.Holding
    value_usd: Decimal | None
    value_kzt: Decimal | None

    def __getattr__(self, name: str):
        return getattr(self.holding, name)


class ReadApi(ApiEndpoint):
    # Policy of every read endpoint. Authentication is not set here: it comes from
    # REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]. Token calls need the scope, session
    # users the view permissions.
    permission_classes = [IsAuthenticated, TokenHasScope, CanViewModels]
    required_scope = Scope.HOLDINGS_READ
    filter_backends: list = []
    #: Models whose ``view`` permission the caller needs.
    view_models: tuple = ()


def _wallets() -> QuerySet[Wallet]:
    return Wallet.objects.prefetch_related(
        Prefetch("addresses", queryset=WalletAddress.objects.order_by("id"))
    )


@extend_schema(
    tags=[TAG],
    summary="List assets",
    description="Assets the fund can hold, by symbol.",
    responses={200: AssetOutputSerializer(many=True), **error_responses(401, 403, 404, 429)},
)
class AssetListApi(ReadApi, generics.ListAPIView):
    serializer_class = AssetOutputSerializer
    pagination_class = pagination.BySymbol
    view_models = (Asset,)

    def get_queryset(self) -> QuerySet[Asset]:
        return Asset.objects.all()


@extend_schema(
    tags=[TAG],
    summary="Get an asset",
    description="One asset by its symbol (e.g. BTC, USDT-TRC20).",
    parameters=[SYMBOL_PARAMETER],
    responses={200: AssetOutputSerializer, **error_responses(401, 403, 404, 429)},
)
class AssetDetailApi(ReadApi, generics.RetrieveAPIView):
    serializer_class = AssetOutputSerializer
    lookup_field = "symbol"
    view_models = (Asset,)

    def get_queryset(self) -> QuerySet[Asset]:
        return Asset.objects.all()


@extend_schema(
    tags=[TAG],
    summary="List custody wallets",
    description="Custody wallets by code, each with its on-chain addresses.",
    responses={200: WalletOutputSerializer(many=True), **error_responses(401, 403, 404, 429)},
)
class WalletListApi(ReadApi, generics.ListAPIView):
    serializer_class = WalletOutputSerializer
    pagination_class = pagination.ByCode
    view_models = (Wallet, WalletAddress)

    def get_queryset(self) -> QuerySet[Wallet]:
        return _wallets()


@extend_schema(
    tags=[TAG],
    summary="Get a custody wallet",
    description="One custody wallet by its code, with its on-chain addresses.",
    parameters=[WALLET_CODE_PARAMETER],
    responses={200: WalletOutputSerializer, **error_responses(401, 403, 404, 429)},
)
class WalletDetailApi(ReadApi, generics.RetrieveAPIView):
    serializer_class = WalletOutputSerializer
    lookup_field = "code"
    view_models = (Wallet, WalletAddress)

    def get_queryset(self) -> QuerySet[Wallet]:
        return _wallets()


class WalletLotsApi(ReadApi, APIView):
    pagination_class = pagination.CountedById
    view_models = (Wallet, Account, Lot)

    @extend_schema(
        tags=[TAG],
        summary="Where the units of an asset in a wallet came from",
        description=(
            "Open lots of the asset in the wallet, oldest first: origin (a seized item, a mining "
            "output, an opening balance), legal category, restriction and the units remaining."
        ),
        parameters=[
            WALLET_CODE_PARAMETER,
            LotsInputSerializer,
        ],
        responses={
            200: LotOutputSerializer(many=True),
            **error_responses(400, 401, 403, 404, 429, invalid={"asset": ["This field is required."]}),
        },
    )
    def get(self, request: Request, code: str) -> Response:
        wallet = get_object_or_404(Wallet, code=code)
        params = LotsInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        asset = params.validated_data["asset"]
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.open_lot_rows(wallet, asset), request, view=self)
        data = LotOutputSerializer(page, many=True, context={"asset": asset}).data
        return paginator.get_paginated_response(data)


@extend_schema(
    tags=[TAG],
    summary="Balances per wallet, legal category and asset",
    description=(
        "One row per account of the fund (counterparties left out), in the order the accounts were opened."
    ),
    responses={
        200: BalanceOutputSerializer(many=True),
        **error_responses(
            400,
            401,
            403,
            404,
            429,
            invalid={"asset": ["Select a valid choice. That choice is not one of the available choices."]},
        ),
    },
)
class BalanceListApi(ReadApi, generics.ListAPIView):
    serializer_class = BalanceOutputSerializer
    pagination_class = pagination.ById
    filter_backends = [QueryFilterBackend]
    filterset_class = BalanceFilter
    view_models = (Account,)

    def get_queryset(self) -> QuerySet[Account]:
        # .values() rows, one query a page; the serializer writes them without model instances.
        return selectors.balance_rows()


class HoldingsApi(ReadApi, APIView):
    view_models = (Account,)

    @extend_schema(
        tags=[TAG],
        summary="Holdings by asset and legal category at a moment",
        description=(
            "Units held in custody by asset and legal category at `as_of` (default: now). "
            "Postings dated after that moment are left out; zero holdings are omitted."
        ),
        parameters=[HoldingsInputSerializer],
        responses={
            200: HoldingsOutputSerializer,
            **error_responses(
                400,
                401,
                403,
                429,
                invalid={"as_of": ["Enter a date (YYYY-MM-DD) or a date-time with a time zone."]},
            ),
        },
    )
    def get(self, request: Request) -> Response:
        params = HoldingsInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        requested = params.validated_data.get("as_of")
        as_of = requested or timezone.now()
        moment = None  # now: the latest valuation
        if isinstance(requested, dt.datetime):
            moment = requested
        elif requested is not None:  # a date: the end of that Almaty day
            moment = timezone.make_aware(
                dt.datetime.combine(requested, dt.time.max), timezone.get_current_timezone()
            )
        latest = latest_prices(moment)
        holdings = [
            ValuedHolding(
                holding,
                *value_units(
                    holding.units, holding.asset.decimals, latest.price_of(holding.asset), latest.usd_kzt
                ),
            )
            for holding in selectors.holdings_as_of(as_of)
        ]
        valued_at = latest.snapshot.taken_at if latest.snapshot is not None else None
        return Response(
            HoldingsOutputSerializer({"as_of": as_of, "holdings": holdings, "valued_at": valued_at}).data
        )
