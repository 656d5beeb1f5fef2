"""The maker changes a pending request through the API: replace or patch its action (under
``If-Match``, so an amendment never overwrites one the caller has not read) or cancel it.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reserve.api.errors import (
    PreconditionFailed,
    Refused,
    error_responses,
    refusal,
)
from reserve.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, REPLAYED_PARAMETER, idempotent
from reserve.api.request_base import (
    ETAG_HEADER,
    ID_PARAMETER,
    IF_MATCH_PARAMETER,
    TAG,
    TOKEN_ONLY,
    WriteRequestsApi,
    detail_response,
    ensure_maker,
    if_match_etags,
    reload_request,
    validated,
    visible_request,
)
from reserve.api.request_serializers import (
    PAYLOAD_SERIALIZERS,
    AllowListChangePayloadSerializer,
    RequestDetailOutputSerializer,
    TransferPayloadSerializer,
    request_etag,
)
from reserve.approvals.services import ApprovalError, amend_request, cancel_request
from reserve.models import ApprovalRequest
from reserve.retry import retry_on_conflict


@retry_on_conflict
def _amend_if_match(*, pk: int, etags: list[str], changes: dict, partial: bool, maker) -> ApprovalRequest:
    """Amend under the request's row lock, only if it is still the revision the caller read."""
    with transaction.atomic():
        locked = ApprovalRequest.objects.select_for_update().get(pk=pk)
        if request_etag(locked) not in etags:
            raise PreconditionFailed()
        payload = {**locked.payload, **changes} if partial else changes
        return amend_request(request=locked, payload=payload, maker=maker)


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
        target = visible_request(request, pk)
        ensure_maker(target, request.user, _("Only the maker can amend a request."))
        etags = if_match_etags(request)
        if request_etag(target) not in etags:
            raise PreconditionFailed()
        serializer_class = PAYLOAD_SERIALIZERS.get(target.kind)
        if serializer_class is None:
            raise Refused(_("Requests of this kind cannot be amended through the API."))
        changes = validated(serializer_class, request.data, partial=partial)
        try:
            amended = _amend_if_match(
                pk=pk, etags=etags, changes=dict(changes), partial=partial, maker=request.user
            )
        except ApprovalError as exc:
            raise refusal(exc)
        return detail_response(reload_request(request, amended.pk), viewer=request.user)


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
        target = visible_request(request, id)
        ensure_maker(target, request.user, _("Only the maker can cancel a request."))
        try:
            cancel_request(request=target, maker=request.user)
        except ApprovalError as exc:
            raise refusal(exc)
        return detail_response(reload_request(request, id), viewer=request.user)
