"""Approval requests through the API: list and read them, and make one — any registered kind at
``POST /api/v1/requests/<slug>/`` (an app's kind gets it by registering an ``api_serializer``),
with reserve's transfer and allow-list change documented by name. Every write calls the
approval engine (:mod:`reserve.approvals.services`), which applies the same rules as the
workflow screens and the admin.
"""

from django.utils.module_loading import import_string
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
)
from rest_framework import exceptions, generics, serializers
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reserve.api import pagination
from reserve.api.errors import (
    error_responses,
)
from reserve.api.filters import RequestFilter
from reserve.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, REPLAYED_PARAMETER, idempotent, request_key
from reserve.api.request_base import (
    ETAG_HEADER,
    ID_PARAMETER,
    LOCATION_HEADER,
    TAG,
    TOKEN_ONLY,
    ReadRequestsApi,
    WriteRequestsApi,
    detail_response,
    reload_request,
    validated,
    visible_request,
)
from reserve.api.request_serializers import (
    AllowListChangeCreateSerializer,
    AllowListChangePayloadSerializer,
    RequestDetailOutputSerializer,
    RequestInput,
    RequestSummaryOutputSerializer,
    TransferCreateSerializer,
    TransferPayloadSerializer,
    payload_from,
)
from reserve.approvals.access import requests_visible_to
from reserve.approvals.registry import RequestKind, kind_for_slug
from reserve.approvals.services import (
    create_request,
)
from reserve.models import ApprovalRequest


@extend_schema(
    tags=[TAG],
    summary="List approval requests",
    description=(
        "Requests the caller may read, newest first: those its user made, can decide or decided "
        "(auditors read all). Filter by status, kind, asset and creation time; order by id, "
        "created_at or expires_at."
    ),
    responses={
        200: RequestSummaryOutputSerializer(many=True),
        **error_responses(400, 401, 403, 404, 429, invalid={"status": ["Select a valid choice."]}),
    },
)
class RequestListApi(ReadRequestsApi, generics.ListAPIView):
    serializer_class = RequestSummaryOutputSerializer
    pagination_class = pagination.NewestFirst
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = RequestFilter
    ordering_fields = ["id", "created_at", "expires_at"]
    ordering = ["-id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApprovalRequest.objects.none()
        return requests_visible_to(self.request.user)


class RequestDetailApi(ReadRequestsApi, APIView):
    @extend_schema(
        tags=[TAG],
        summary="Get an approval request",
        description=(
            "The request with its exact action (payload) and digest, revision, policy and tiers, "
            "the progress of each tier, the decisions so far, the ledger effect approval will have, "
            "and the result once executed. The ETag header is what If-Match must carry to amend it."
        ),
        parameters=[ID_PARAMETER, ETAG_HEADER],
        responses={200: RequestDetailOutputSerializer, **error_responses(401, 403, 404, 429)},
    )
    def get(self, request: Request, id: int) -> Response:
        return detail_response(visible_request(request, id), viewer=request.user)


_CREATE_ERRORS = (400, 401, 403, 409, 422, 429, 503)


def _create(request: Request, *, kind: str, serializer_class, payload_serializer_class) -> Response:
    data = validated(serializer_class, request.data)
    made = create_request(
        kind=kind,
        payload=payload_from(data, payload_serializer_class),
        maker=request.user,
        comment=data["comment"],
        evidence=[dict(item) for item in data.get("evidence", [])],
        idempotency_key=request_key(request),
    )
    return detail_response(reload_request(request, made.pk), viewer=request.user, status=201)


def create_serializer_for(payload_serializer_class) -> type[serializers.Serializer]:
    """The create body of a kind: its payload fields plus the maker's comment and evidence."""
    return type(
        payload_serializer_class.__name__.replace("Payload", "") + "CreateInput",
        (RequestInput, payload_serializer_class),
        {"__module__": __name__},
    )


def api_kind(slug: str) -> RequestKind:
    """The registered kind offered at ``POST /api/v1/requests/<slug>/``; 404 for an unknown slug
    or a kind without an API serializer (any app's kind registered in its ``ready()``)."""
    kind = kind_for_slug(slug, offering="api_serializer")
    if kind is None:
        raise exceptions.NotFound()
    return kind


class KindCreateApi(WriteRequestsApi, APIView):
    """``POST /api/v1/requests/<slug>/`` for any registered kind with an ``api_serializer``: the
    same idempotency, errors and engine as every other write. Reserve's own kinds are
    documented in the schema by their named endpoints below; the route itself is generic."""

    def initial(self, request: Request, *args, **kwargs) -> None:
        api_kind(kwargs["slug"])  # an unknown slug is a 404 for every method, like any unknown path
        super().initial(request, *args, **kwargs)

    @extend_schema(exclude=True)
    @idempotent
    def post(self, request: Request, slug: str) -> Response:
        kind = api_kind(slug)
        payload_serializer_class = import_string(kind.api_serializer)
        return _create(
            request,
            kind=kind.code,
            serializer_class=create_serializer_for(payload_serializer_class),
            payload_serializer_class=payload_serializer_class,
        )


class TransferCreateApi(WriteRequestsApi, APIView):
    @extend_schema(
        tags=[TAG],
        summary="Request a transfer between custody wallets",
        auth=TOKEN_ONLY,
        description=(
            "Makes a `reserve.transfer` request, made by the client's user. It executes only when "
            "the approvers its policy names have approved it."
        ),
        parameters=[IDEMPOTENCY_KEY_PARAMETER, ETAG_HEADER, LOCATION_HEADER, REPLAYED_PARAMETER],
        request=TransferCreateSerializer,
        responses={
            201: RequestDetailOutputSerializer,
            **error_responses(
                *_CREATE_ERRORS, invalid={"amount": ["This asset has 8 decimal places; the amount has 9."]}
            ),
        },
        examples=[
            OpenApiExample(
                "transfer",
                request_only=True,
                value={
                    "asset": "BTC",
                    "amount": "1.25000000",
                    "from_wallet": "cold-a",
                    "to_wallet": "cold-b",
                    "category": "reserve:forfeited",
                    "fee": "0.00010000",
                    "comment": "Rebalancing custody.",
                },
            )
        ],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        return _create(
            request,
            kind="reserve.transfer",
            serializer_class=TransferCreateSerializer,
            payload_serializer_class=TransferPayloadSerializer,
        )


class AllowListChangeCreateApi(WriteRequestsApi, APIView):
    @extend_schema(
        tags=[TAG],
        summary="Request an allow-list change",
        auth=TOKEN_ONLY,
        description=(
            "Makes a `reserve.allowlist_change` request: add an address outside the fund that "
            "disposals may go to (usable after the cooling-off period), or remove one."
        ),
        parameters=[IDEMPOTENCY_KEY_PARAMETER, ETAG_HEADER, LOCATION_HEADER, REPLAYED_PARAMETER],
        request=AllowListChangeCreateSerializer,
        responses={
            201: RequestDetailOutputSerializer,
            **error_responses(*_CREATE_ERRORS, invalid={"address": ["Not a valid Bitcoin address."]}),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        return _create(
            request,
            kind="reserve.allowlist_change",
            serializer_class=AllowListChangeCreateSerializer,
            payload_serializer_class=AllowListChangePayloadSerializer,
        )
