"""Approval requests through the API: list, read, make (transfers, allow-list changes), amend,
cancel and decide — one view per use case, each calling the approval engine
(:mod:`reserve.approvals.services`), which applies the same rules as the workflow screens.

Writes are for integration clients (bearer token) and act as the client's user. Every POST
needs an ``Idempotency-Key``; amendments need ``If-Match`` with the request's ETag.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils.http import parse_etags
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import exceptions, generics, serializers
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reserve.api import pagination
from reserve.api.base import ApiEndpoint
from reserve.api.clients import verify_second_factor
from reserve.api.errors import (
    PreconditionFailed,
    PreconditionRequired,
    Refused,
    error_responses,
    refusal,
)
from reserve.api.filters import RequestFilter
from reserve.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, REPLAYED_PARAMETER, idempotent, request_key
from reserve.api.parsers import StrictJSONParser
from reserve.api.permissions import CanViewModels, TokenHasScope, TokenRequired
from reserve.api.request_serializers import (
    PAYLOAD_SERIALIZERS,
    AllowListChangeCreateSerializer,
    AllowListChangePayloadSerializer,
    DecisionInputSerializer,
    RequestDetailOutputSerializer,
    RequestInput,
    RequestSummaryOutputSerializer,
    TransferCreateSerializer,
    TransferPayloadSerializer,
    payload_from,
    request_etag,
)
from reserve.api.selectors import request_detail
from reserve.approvals.access import requests_visible_to
from reserve.approvals.registry import RequestKind, kind_for_slug
from reserve.approvals.selectors import request_view
from reserve.approvals.services import (
    ApprovalError,
    amend_request,
    cancel_request,
    create_request,
    decide,
    decision_refusal,
)
from reserve.models import ApprovalRequest, Scope
from reserve.retry import retry_on_conflict

TAG = "requests"
#: Largest id the database can hold; a bigger one in a URL is simply not found.
MAX_ID = 2**63 - 1

ETAG_HEADER = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200, 201],
    description='The request\'s current ETag (`"<revision>-<digest prefix>"`); send it as If-Match to amend.',
)
LOCATION_HEADER = OpenApiParameter(
    "Location",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[201],
    description="The new request's URL.",
)
IF_MATCH_PARAMETER = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description=(
        "The ETag of the request as you last read it. If the request changed since (another "
        "amendment), the call is refused with 412 and nothing changes; without If-Match: 428. "
        "`*` and weak ETags never match."
    ),
)
ID_PARAMETER = OpenApiParameter(
    "id",
    OpenApiTypes.INT,
    OpenApiParameter.PATH,
    description="Request id.",
    examples=[OpenApiExample("1", value=1)],
)


#: Writes are for integration clients only (a session user gets 403).
TOKEN_ONLY = [{"bearerAuth": []}]


class ReadRequestsApi(ApiEndpoint):
    permission_classes = [IsAuthenticated, TokenHasScope, CanViewModels]
    required_scope = Scope.REQUESTS_READ
    view_models = (ApprovalRequest,)


class WriteRequestsApi(ApiEndpoint):
    permission_classes = [IsAuthenticated, TokenRequired, TokenHasScope]
    required_scope = Scope.REQUESTS_WRITE
    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer]


# --- helpers --------------------------------------------------------------------------------------


def _visible(request: Request, pk: int) -> ApprovalRequest:
    if pk > MAX_ID:
        raise exceptions.NotFound()
    try:
        return request_detail(requests_visible_to(request.user), pk)
    except ApprovalRequest.DoesNotExist:
        raise exceptions.NotFound()


def _validated(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def detail_response(approval_request: ApprovalRequest, *, viewer, status: int = 200) -> Response:
    shown = request_view(approval_request, viewer)  # the one "request as shown"
    data = RequestDetailOutputSerializer(
        approval_request,
        context={
            "progress": shown.progress,
            # An action that refers to something that no longer exists still shows, without it.
            "ledger_effect": shown.effect or [],
        },
    ).data
    response = Response(data, status=status, headers={"ETag": request_etag(approval_request)})
    if status == 201:
        response["Location"] = reverse("api:request-detail", kwargs={"id": approval_request.pk})
    return response


def _reload(request: Request, pk: int) -> ApprovalRequest:
    return request_detail(requests_visible_to(request.user), pk)


def _if_match(request: Request) -> list[str]:
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        raise PreconditionRequired()
    return [etag for etag in parse_etags(header) if etag.startswith('"')]


def _ensure_maker(approval_request: ApprovalRequest, user, message: str) -> None:
    if approval_request.maker_id != user.pk:
        raise exceptions.PermissionDenied(message)


@retry_on_conflict
def _amend_if_match(*, pk: int, etags: list[str], changes: dict, partial: bool, maker) -> ApprovalRequest:
    """Amend under the request's row lock, only if it is still the revision the caller read."""
    with transaction.atomic():
        locked = ApprovalRequest.objects.select_for_update().get(pk=pk)
        if request_etag(locked) not in etags:
            raise PreconditionFailed()
        payload = {**locked.payload, **changes} if partial else changes
        return amend_request(request=locked, payload=payload, maker=maker)


# --- reading --------------------------------------------------------------------------------------


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
        return detail_response(_visible(request, id), viewer=request.user)


# --- making ---------------------------------------------------------------------------------------

_CREATE_ERRORS = (400, 401, 403, 409, 422, 429, 503)


def _create(request: Request, *, kind: str, serializer_class, payload_serializer_class) -> Response:
    data = _validated(serializer_class, request.data)
    made = create_request(
        kind=kind,
        payload=payload_from(data, payload_serializer_class),
        maker=request.user,
        comment=data["comment"],
        evidence=[dict(item) for item in data.get("evidence", [])],
        idempotency_key=request_key(request),
    )
    return detail_response(_reload(request, made.pk), viewer=request.user, status=201)


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


# --- amending and cancelling ----------------------------------------------------------------------


#: The body of PUT/PATCH .../payload: the payload fields of the request's kind (for PATCH, only
#: those to change).
PAYLOAD_BODY = PolymorphicProxySerializer(
    component_name="RequestPayload",
    serializers=[TransferPayloadSerializer, AllowListChangePayloadSerializer],
    resource_type_field_name=None,
)


_AMEND_DOC = {
    "tags": [TAG],
    "auth": TOKEN_ONLY,
    "parameters": [ID_PARAMETER, IF_MATCH_PARAMETER, ETAG_HEADER],
    "responses": {
        200: RequestDetailOutputSerializer,
        **error_responses(400, 401, 403, 404, 409, 412, 428, 429, 503),
    },
}


class RequestPayloadApi(WriteRequestsApi, APIView):
    @extend_schema(
        summary="Replace a request's action",
        description=(
            "The maker replaces the pending request's payload (the fields of its kind). The digest "
            "and revision change, and every decision made so far stops counting."
        ),
        request=PAYLOAD_BODY,
        **_AMEND_DOC,
    )
    def put(self, request: Request, id: int) -> Response:
        return self._amend(request, id, partial=False)

    @extend_schema(
        summary="Change fields of a request's action",
        description=(
            "Like PUT, with only the fields to change; the others keep their values. Every decision "
            "made so far stops counting."
        ),
        request=PAYLOAD_BODY,
        **_AMEND_DOC,
    )
    def patch(self, request: Request, id: int) -> Response:
        return self._amend(request, id, partial=True)

    def _amend(self, request: Request, pk: int, *, partial: bool) -> Response:
        target = _visible(request, pk)
        _ensure_maker(target, request.user, _("Only the maker can amend a request."))
        etags = _if_match(request)
        if request_etag(target) not in etags:
            raise PreconditionFailed()
        serializer_class = PAYLOAD_SERIALIZERS.get(target.kind)
        if serializer_class is None:
            raise Refused(_("Requests of this kind cannot be amended through the API."))
        changes = _validated(serializer_class, request.data, partial=partial)
        try:
            amended = _amend_if_match(
                pk=pk, etags=etags, changes=dict(changes), partial=partial, maker=request.user
            )
        except ApprovalError as exc:
            raise refusal(exc)
        return detail_response(_reload(request, amended.pk), viewer=request.user)


class RequestCancelApi(WriteRequestsApi, APIView):
    @extend_schema(
        tags=[TAG],
        summary="Cancel a request",
        auth=TOKEN_ONLY,
        description="The maker withdraws a pending request; it takes no more decisions.",
        parameters=[ID_PARAMETER, IDEMPOTENCY_KEY_PARAMETER, ETAG_HEADER, REPLAYED_PARAMETER],
        request=None,
        responses={
            200: RequestDetailOutputSerializer,
            **error_responses(400, 401, 403, 404, 409, 422, 429, 503),
        },
    )
    @idempotent
    def post(self, request: Request, id: int) -> Response:
        target = _visible(request, id)
        _ensure_maker(target, request.user, _("Only the maker can cancel a request."))
        try:
            cancel_request(request=target, maker=request.user)
        except ApprovalError as exc:
            raise refusal(exc)
        return detail_response(_reload(request, id), viewer=request.user)


# --- deciding -------------------------------------------------------------------------------------


class DecisionCreateApi(WriteRequestsApi, APIView):
    required_scope = Scope.REQUESTS_DECIDE

    @extend_schema(
        tags=[TAG],
        summary="Approve or reject a request",
        auth=TOKEN_ONLY,
        description=(
            "Records the decision of the client's user, who must be an approver in a group the "
            "request's policy names, not its maker, and must not have decided this revision. "
            "`digest` must be the digest the approver reviewed. When the policy requires a second "
            "factor, `otp_token` is the current code of the user's TOTP device. One rejection ends "
            "the request; the approval completing the quorum executes the action at once."
        ),
        parameters=[ID_PARAMETER, IDEMPOTENCY_KEY_PARAMETER, ETAG_HEADER, REPLAYED_PARAMETER],
        request=DecisionInputSerializer,
        responses={
            201: OpenApiResponse(
                RequestDetailOutputSerializer,
                description="The decision is recorded; the request as it is now.",
            ),
            **error_responses(
                400, 401, 403, 404, 409, 422, 429, 503, invalid={"otp_token": ["This code is wrong."]}
            ),
        },
    )
    @idempotent
    def post(self, request: Request, id: int) -> Response:
        target = _visible(request, id)
        data = _validated(DecisionInputSerializer, request.data)
        decider = request.user
        refused = decision_refusal(target, decider, digest=data["digest"])
        if refused is not None:
            raise refusal(refused)
        second_factor = False
        if "otp_token" in data:
            if not verify_second_factor(user=decider, token=data["otp_token"]):
                raise exceptions.ValidationError(
                    {
                        "otp_token": [
                            _("This code is wrong, expired or already used (or too many tries: wait).")
                        ]
                    }
                )
            second_factor = True
        try:
            decide(
                request=target,
                approver=decider,
                verdict=data["verdict"],
                comment=data["comment"],
                digest=data["digest"],
                second_factor=second_factor,
                via="api",
            )
        except ApprovalError as exc:
            raise refusal(exc)
        return detail_response(_reload(request, id), viewer=request.user, status=201)
