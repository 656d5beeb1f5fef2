"""What every approval-request endpoint shares: the endpoint classes (read: a token with
``requests:read`` or a session with view rights; write: a client's token only), the schema
parameters, and the steps each view takes — find the request the caller may see, validate a
body, answer with the request as shown.

Writes are for integration clients (bearer token) and act as the client's user. Every POST
needs an ``Idempotency-Key``; amendments need ``If-Match`` with the request's ETag.
"""

from django.urls import reverse
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
)
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from reserve.api.base import ApiEndpoint
from reserve.api.errors import (
    PreconditionRequired,
)
from reserve.api.parsers import StrictJSONParser
from reserve.api.permissions import CanViewModels, TokenHasScope, TokenRequired
from reserve.api.request_serializers import (
    RequestDetailOutputSerializer,
    request_etag,
)
from reserve.api.selectors import request_detail
from reserve.approvals.access import requests_visible_to
from reserve.approvals.selectors import request_view
from reserve.models import ApprovalRequest, Scope

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


def visible_request(request: Request, pk: int) -> ApprovalRequest:
    if pk > MAX_ID:
        raise exceptions.NotFound()
    try:
        return request_detail(requests_visible_to(request.user), pk)
    except ApprovalRequest.DoesNotExist:
        raise exceptions.NotFound()


def validated(serializer_class, data, **kwargs) -> dict:
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


def reload_request(request: Request, pk: int) -> ApprovalRequest:
    return request_detail(requests_visible_to(request.user), pk)


def if_match_etags(request: Request) -> list[str]:
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        raise PreconditionRequired()
    return [etag for etag in parse_etags(header) if etag.startswith('"')]


def ensure_maker(approval_request: ApprovalRequest, user, message: str) -> None:
    if approval_request.maker_id != user.pk:
        raise exceptions.PermissionDenied(message)
