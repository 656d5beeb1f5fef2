"""An approver's decision through the API: the engine's refusal first (maker, role, digest,
revision), then the second factor (one check and one cap with the screens), then the decision.
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
)
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reserve.api.errors import (
    error_responses,
    refusal,
)
from reserve.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, REPLAYED_PARAMETER, idempotent
from reserve.api.request_base import (
    ETAG_HEADER,
    ID_PARAMETER,
    TAG,
    TOKEN_ONLY,
    WriteRequestsApi,
    detail_response,
    reload_request,
    validated,
    visible_request,
)
from reserve.api.request_serializers import (
    DecisionInputSerializer,
    RequestDetailOutputSerializer,
)
from reserve.approvals.services import (
    ApprovalError,
    decide,
    decision_refusal,
)
from reserve.models import Scope
from reserve.otp import CodeThrottled, Purpose, verify_code


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
        target = visible_request(request, id)
        data = validated(DecisionInputSerializer, request.data)
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
        return detail_response(reload_request(request, id), viewer=request.user, status=201)


def verify_second_factor(*, user, token: str) -> bool:
    """Check a TOTP code for a decision made through the API. The check and its cap on wrong
    codes are the screens' (:func:`reserve.otp.verify_code`): five wrong codes in a row, here
    or on a screen, refuse every code for a minute (this answers False meanwhile). Call it
    outside the decision's transaction, so that a used code and a failed try stay recorded
    even when the decision is refused."""
    try:
        return verify_code(user=user, code=token, purpose=Purpose.DECIDE) is not None
    except CodeThrottled:
        return False
