"""Mining's REST endpoints: sites submit their daily output (one day, or many at once) and read
their reports' state and verification.

Who: integration clients with a bearer token need the ``mining:write`` scope (for reads too:
there is no ``mining:read`` scope yet); people signed in need the model permissions — mining
clerks may submit (``mining.add_dailyline`` and ``mining.change_dailyline``: what they can do in
the admin), auditors, treasury officers and board members may read (``mining.view_*``); anyone
else gets 403, no credentials 401. Every POST needs an ``Idempotency-Key`` (the API's contract),
and on top of it a day is idempotent per (site, day): see :func:`mining.services.submit_daily_line`.

Unlike reserve's request endpoints, people signed in may write here: a mining clerk records the
same daily lines in the admin, with no second factor, so the API gives them no power they lack.

Known gap: a site's client may submit for any site. Nothing links an integration client to its
site yet (it would take a field such as ``Site.api_client`` and a migration); until then the
``mining:write`` scope is the bound, and every line's audit event names the client's user.

Views are thin: the services write, :mod:`mining.api.selectors` and :mod:`mining.selectors` read.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mining import services
from mining.api import selectors as api_selectors
from mining.api.serializers import (
    MAX_BULK_DAYS,
    BulkDaysInputSerializer,
    BulkSubmittedOutputSerializer,
    DayInputSerializer,
    ReportDetailOutputSerializer,
    ReportSummaryOutputSerializer,
    SiteOutputSerializer,
    SubmittedDayOutputSerializer,
    VerificationOutputSerializer,
)
from mining.models import DailyLine, OutputReport, ReportState, Site
from mining.selectors import verify_report
from reserve.api import pagination
from reserve.api.authentication import api_token
from reserve.api.base import ApiEndpoint
from reserve.api.errors import Conflict, ErrorSerializer, error_responses
from reserve.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, REPLAYED_PARAMETER, idempotent
from reserve.api.parsers import StrictJSONParser
from reserve.api.permissions import CanViewModels, TokenHasScope
from reserve.models import Scope

TAG = "mining"
#: Largest id the database can hold; a bigger one in a URL is simply not found.
MAX_ID = 2**63 - 1

SITE_PARAMETER = OpenApiParameter(
    "site",
    OpenApiTypes.INT,
    OpenApiParameter.PATH,
    description="Site id.",
    examples=[OpenApiExample("1", value=1)],
)
REPORT_PARAMETER = OpenApiParameter(
    "id",
    OpenApiTypes.INT,
    OpenApiParameter.PATH,
    description="Report id.",
    examples=[OpenApiExample("1", value=1)],
)


class CanSubmitDailyOutput(BasePermission):
    """Session users need the permissions to add and correct daily lines (mining clerks);
    token calls are bounded by their scope instead (:class:`TokenHasScope`)."""

    message = _("Submitting daily output needs the mining clerk's permissions or a site's integration token.")

    def has_permission(self, request, view) -> bool:
        if api_token(request) is not None:
            return True
        user = request.user
        return bool(user and user.is_authenticated) and user.has_perms(
            ["mining.add_dailyline", "mining.change_dailyline"]
        )


class DayReportedDifferently(Conflict):
    default_detail = _(
        "This day is already reported with other figures in a report past draft; nothing was changed."
    )
    default_code = "day_reported_differently"


class ReportNotDraft(Conflict):
    default_code = "report_not_draft"


class DaysPastDraft(Conflict):
    default_detail = _(
        "Some days are already reported differently or belong to a report past draft; nothing was recorded."
    )
    default_code = "days_past_draft"


class MiningReadApi(ApiEndpoint):
    permission_classes = [IsAuthenticated, TokenHasScope, CanViewModels]
    required_scope = Scope.MINING_WRITE
    view_models: tuple = (Site,)


class MiningWriteApi(ApiEndpoint):
    permission_classes = [IsAuthenticated, TokenHasScope, CanSubmitDailyOutput]
    required_scope = Scope.MINING_WRITE
    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer]


def _site(pk: int) -> Site:
    if pk > MAX_ID:
        raise exceptions.NotFound()
    return get_object_or_404(Site, pk=pk)


def _refusal(exc: DjangoValidationError) -> exceptions.APIException:
    """A service refusal as the API's error: a report past draft in the way is 409, the rest 400."""
    codes = {error.code for errors in getattr(exc, "error_dict", {}).values() for error in errors}
    if "wrong_site" in codes:
        return exceptions.PermissionDenied(exc.messages[0])
    if "not_draft" in codes:
        return ReportNotDraft(exc.messages[0])
    return exceptions.ValidationError(serializers.as_serializer_error(exc))


def _conflict(exc: services.DayReportedDifferently) -> Conflict:
    return DayReportedDifferently(
        {
            name: [str(_("Reported as %(reported)s; sent %(sent)s.") % {"reported": old, "sent": new})]
            for name, (old, new) in exc.differences.items()
        }
    )


_DAY_STATUS = {
    "recorded": status.HTTP_201_CREATED,
    "unchanged": status.HTTP_200_OK,
    "corrected": status.HTTP_200_OK,
}

DAY_EXAMPLE = {
    "day": "2026-11-30",
    "average_hashrate_hs": "50000000000000000",
    "uptime_percent": "98.5",
    "energy_mwh": "120",
    "curtailment_mwh": "3.5",
    "btc_gross": 216000000,
    "pool_fees": 4320000,
    "btc_net": 211680000,
    "energy_cost_kzt": "2400000.00",
    "payout_txids": ["abababababababababababababababababababababababababababababababab"],
}
_CONFLICT_RESPONSE = OpenApiResponse(
    response=ErrorSerializer,
    description=_(
        "day_reported_differently: the day is reported with other figures in a report past draft "
        "(errors name each differing figure); report_not_draft: the report covering the day is past "
        "draft and takes no new days; days_past_draft (bulk): every refused day is one of those, "
        "by index; idempotency_in_flight: the same Idempotency-Key is running."
    ),
    examples=[
        OpenApiExample(
            "day_reported_differently",
            value={
                "code": "day_reported_differently",
                "message": "This day is already reported with other figures in a report past draft; nothing was changed.",
                "errors": {"btc_gross": ["Reported as 216000000; sent 215000000."]},
            },
        )
    ],
)


class DaySubmitApi(MiningWriteApi, APIView):
    @extend_schema(
        tags=[TAG],
        summary="Submit one day of a site's output",
        description=(
            "Records the site's figures for one local day, in the site's report covering that day; "
            "when none covers it, a draft report is opened for the day's calendar month (shortened "
            "to the days between the site's neighbouring reports). Idempotent per site and day: the "
            "same figures again answer 200 with the existing line (`unchanged`, nothing written); "
            "other figures correct the line while its report is a draft (`corrected`, audited, the "
            "former figures kept in the history) and are refused with 409 once it is past draft."
        ),
        parameters=[SITE_PARAMETER, IDEMPOTENCY_KEY_PARAMETER, REPLAYED_PARAMETER],
        request=DayInputSerializer,
        responses={
            201: SubmittedDayOutputSerializer,
            200: SubmittedDayOutputSerializer,
            409: _CONFLICT_RESPONSE,
            **error_responses(
                400, 401, 403, 404, 422, 429, 503, invalid={"uptime_percent": ["Uptime is at most 100%."]}
            ),
        },
        examples=[OpenApiExample("one day", request_only=True, value=DAY_EXAMPLE)],
    )
    @idempotent
    def post(self, request: Request, site: int) -> Response:
        the_site = _site(site)
        serializer = DayInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            line, outcome = services.submit_daily_line(
                site=the_site, actor=request.user, **serializer.validated_data
            )
        except DjangoValidationError as exc:
            raise _refusal(exc) from None
        except services.DayReportedDifferently as exc:
            raise _conflict(exc) from None
        data = SubmittedDayOutputSerializer({"outcome": outcome, "line": line}).data
        return Response(data, status=_DAY_STATUS[outcome])


class BulkDaysSubmitApi(MiningWriteApi, APIView):
    @extend_schema(
        tags=[TAG],
        summary="Submit many days of a site's output",
        description=(
            f"Up to {MAX_BULK_DAYS} days at once, all or nothing: each day as for one day; if any "
            "day is refused nothing is recorded and the errors name each refused day by its index "
            "(`days.3.uptime_percent`). 409 when every refused day is refused because its report is "
            "past draft (reported differently, or a new day for it), 400 otherwise. 201 when at least one day was recorded, else 200."
        ),
        parameters=[SITE_PARAMETER, IDEMPOTENCY_KEY_PARAMETER, REPLAYED_PARAMETER],
        request=BulkDaysInputSerializer,
        responses={
            201: BulkSubmittedOutputSerializer,
            200: BulkSubmittedOutputSerializer,
            409: _CONFLICT_RESPONSE,
            **error_responses(
                400,
                401,
                403,
                404,
                422,
                429,
                503,
                invalid={"days.3.uptime_percent": ["Uptime is at most 100%."]},
            ),
        },
        examples=[
            OpenApiExample(
                "two days",
                request_only=True,
                value={"days": [DAY_EXAMPLE, {**DAY_EXAMPLE, "day": "2026-11-29"}]},
            )
        ],
    )
    @idempotent
    def post(self, request: Request, site: int) -> Response:
        the_site = _site(site)
        serializer = BulkDaysInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            results = services.submit_daily_lines(
                site=the_site, days=serializer.validated_data["days"], actor=request.user
            )
        except DjangoValidationError as exc:
            raise _refusal(exc) from None
        except services.DaysRefused as exc:
            errors = {"days": {index: fields for index, fields in exc.errors.items()}}
            if exc.conflicts_only:
                raise DaysPastDraft(errors) from None
            raise exceptions.ValidationError(errors) from None
        outcomes = [outcome for _line, outcome in results]
        data = BulkSubmittedOutputSerializer(
            {
                "recorded": outcomes.count("recorded"),
                "unchanged": outcomes.count("unchanged"),
                "corrected": outcomes.count("corrected"),
                "days": [{"outcome": outcome, "line": line} for line, outcome in results],
            }
        ).data
        return Response(
            data, status=status.HTTP_201_CREATED if "recorded" in outcomes else status.HTTP_200_OK
        )


@extend_schema(
    tags=[TAG],
    summary="List mining sites",
    description="The registered mining sites, by id.",
    responses={200: SiteOutputSerializer(many=True), **error_responses(401, 403, 404, 429)},
)
class SiteListApi(MiningReadApi, generics.ListAPIView):
    serializer_class = SiteOutputSerializer
    pagination_class = pagination.ById
    filter_backends: list = []

    def get_queryset(self):
        return api_selectors.sites()


class SiteDetailApi(MiningReadApi, APIView):
    @extend_schema(
        tags=[TAG],
        summary="Get a mining site",
        parameters=[SITE_PARAMETER],
        responses={200: SiteOutputSerializer, **error_responses(401, 403, 404, 429)},
    )
    def get(self, request: Request, site: int) -> Response:
        if site > MAX_ID:
            raise exceptions.NotFound()
        return Response(SiteOutputSerializer(get_object_or_404(api_selectors.sites(), pk=site)).data)


class ReportFilterInput(serializers.Serializer):
    site = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text=_("Site id."))
    state = serializers.ChoiceField(choices=ReportState.choices, required=False, help_text=_("Report state."))


@extend_schema(
    tags=[TAG],
    summary="List output reports",
    description="Output reports, newest first, each with its state and number of daily lines; filter by site and state.",
    parameters=[ReportFilterInput],
    responses={
        200: ReportSummaryOutputSerializer(many=True),
        **error_responses(400, 401, 403, 404, 429, invalid={"state": ['"sent" is not a valid choice.']}),
    },
)
class ReportListApi(MiningReadApi, generics.ListAPIView):
    serializer_class = ReportSummaryOutputSerializer
    pagination_class = pagination.NewestFirst
    filter_backends: list = []
    view_models = (OutputReport,)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return OutputReport.objects.none()
        filters = ReportFilterInput(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return api_selectors.reports(**filters.validated_data)


def _report(pk: int, queryset=None) -> OutputReport:
    if pk > MAX_ID:
        raise exceptions.NotFound()
    return get_object_or_404(queryset if queryset is not None else api_selectors.reports(), pk=pk)


class ReportDetailApi(MiningReadApi, APIView):
    view_models = (OutputReport, DailyLine)

    @extend_schema(
        tags=[TAG],
        summary="Get an output report",
        description="The report with its state and its daily lines.",
        parameters=[REPORT_PARAMETER],
        responses={200: ReportDetailOutputSerializer, **error_responses(401, 403, 404, 429)},
    )
    def get(self, request: Request, id: int) -> Response:
        return Response(ReportDetailOutputSerializer(_report(id, api_selectors.report_detail())).data)


class ReportVerificationApi(MiningReadApi, APIView):
    view_models = (OutputReport, DailyLine)

    @extend_schema(
        tags=[TAG],
        summary="Verify an output report against the network",
        description=(
            "Expected vs reported output per day and in total: the expected output from the site's "
            "hashrate and the network's difficulty and subsidy, the deviation (sats and percent), "
            "whether it exceeds the site's tolerance, the implied hashrate, and efficiency (J/TH, "
            "BTC per MWh, KZT per BTC); days of the period not reported yet are listed."
        ),
        parameters=[REPORT_PARAMETER],
        responses={200: VerificationOutputSerializer, **error_responses(401, 403, 404, 429)},
    )
    def get(self, request: Request, id: int) -> Response:
        return Response(VerificationOutputSerializer(verify_report(_report(id))).data)
