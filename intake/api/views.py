"""REST endpoints for court case systems: cases, court orders, their signed documents and seized
items. One view per use case; each calls one service (writes) or one selector (reads).

Who may call:

* an integration client's token with the scope ``intake:write`` (reads and writes; a court
  system reads the status of what it sent). Model permissions do not apply to tokens;
* a person signed in with a session: reads with the ``view`` permissions of intake's models
  (auditors, officers, clerks), writes with the ``add``/``change`` ones (intake clerks).

Identifiers (see :mod:`intake.references`): a case is its court and number, an order its
``court_reference``, an item its transaction output (network, txid, vout) or, without a txid,
its ``court_reference``. Sending the same identifier again with the same content returns the
record with 200 (201 the first time); with other content 409 ``reference_conflict`` naming the
fields that differ. Party names and identity documents appear only for callers holding
``intake.view_party_pii``.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import parse_etags
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from intake import documents, references, selectors, services
from intake.api import serializers as s
from intake.models import Case, CourtOrder, Party, SeizedItem
from intake.models.cases import PII_PERMISSION
from reserve.api import pagination
from reserve.api.authentication import api_token
from reserve.api.base import ApiEndpoint
from reserve.api.errors import ErrorSerializer, PreconditionFailed, error_responses
from reserve.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, REPLAYED_PARAMETER, idempotent
from reserve.api.parsers import StrictJSONParser
from reserve.api.permissions import TokenHasScope
from reserve.models import Scope

TAG = "intake"
MAX_ID = 2**63 - 1

IDENTIFIERS = (
    "Identified by the court's own identifiers: the same call again returns the same record "
    "(200; 201 the first time), the same identifier with other content is refused with 409 "
    "`reference_conflict`, whose `errors` name the fields that differ."
)


class IntakeAccess(BasePermission):
    """Tokens: the view's scope (checked by :class:`TokenHasScope`). Sessions: ``view`` of
    ``view.view_models`` to read; ``view.write_permissions`` to write."""

    def has_permission(self, request, view) -> bool:
        if api_token(request) is not None:
            return True
        user = request.user
        if not (user and user.is_authenticated):
            return False
        reads = [f"{model._meta.app_label}.view_{model._meta.model_name}" for model in view.view_models]
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return user.has_perms(reads)
        # A write to a read-only endpoint answers 405 only to those who may read it.
        return user.has_perms([*reads, *view.write_permissions])


class IntakeApi(ApiEndpoint, APIView):
    permission_classes = [IsAuthenticated, TokenHasScope, IntakeAccess]
    required_scope = Scope.INTAKE_WRITE
    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer]
    view_models: tuple = ()
    write_permissions: tuple = ()


def _show_pii(request: Request) -> bool:
    return request.user.has_perm(PII_PERMISSION)


def _validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _object(queryset: QuerySet, pk: int) -> Model:
    if pk > MAX_ID:  # beyond a bigint: no such row (and no database error comparing it)
        raise exceptions.NotFound()
    return get_object_or_404(queryset, pk=pk)


def _conflict(exc: references.ReferenceConflict) -> Response:
    return Response(
        {
            "code": "reference_conflict",
            "message": exc.message,
            "errors": {
                name: [_("Differs from the value already registered under this identifier.")]
                for name in exc.fields
            },
        },
        status=409,
    )


def _created_or_found(data, *, created: bool, location: str) -> Response:
    response = Response(data, status=201 if created else 200)
    response["Location"] = location
    return response


def _id_parameter(what: str) -> OpenApiParameter:
    return OpenApiParameter(
        "id",
        OpenApiTypes.INT,
        OpenApiParameter.PATH,
        description=f"{what} id.",
        examples=[OpenApiExample("1", 1)],
    )


def _version(record: Model) -> str:
    """The record's ETag: its latest history row, quoted (every change writes one)."""
    latest = record.history.order_by("-history_id").values_list("history_id", flat=True).first()
    return f'"{latest or 0}"'


def _tagged(response: Response, record: Model) -> Response:
    response["ETag"] = _version(record)
    return response


def _locked_if_match(request: Request, model: type[Model], pk: int) -> Model:
    """Lock the record (inside the caller's transaction) and, when the caller sent If-Match,
    refuse with 412 unless it names the record's current version: a change made since the
    caller read it is never overwritten unseen."""
    record = _object(model.objects.select_for_update(), pk)
    header = request.headers.get("If-Match")
    if header is not None and _version(record) not in [e for e in parse_etags(header) if e.startswith('"')]:
        raise PreconditionFailed()
    return record


IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional: the ETag of the record as you last read it. If it changed since (a clerk or "
        "another system), the call is refused with 412 and nothing changes. `*` and weak ETags "
        "never match."
    ),
)
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200],
    description="The record's current version; send it as If-Match with a change.",
)
UPDATE_ERRORS = error_responses(400, 401, 403, 404, 412, 429, 503)


CONFLICT_409 = OpenApiResponse(
    response=ErrorSerializer,
    description=gettext_lazy(
        "The identifier is registered with other content (reference_conflict; errors name the "
        "differing fields), or a POST with the same Idempotency-Key is still running."
    ),
    examples=[
        OpenApiExample(
            "reference_conflict",
            value={
                "code": "reference_conflict",
                "message": "court order #7 is already registered under this identifier with other values of: number.",
                "errors": {"number": ["Differs from the value already registered under this identifier."]},
            },
            status_codes=[409],
        )
    ],
)

WRITE_ERRORS = error_responses(400, 401, 403, 404, 422, 429, 503)
READ_ERRORS = error_responses(400, 401, 403, 404, 429)


# -- cases ------------------------------------------------------------------------------------


class CaseListApi(IntakeApi):
    view_models = (Case, Party)
    write_permissions = ("intake.add_case",)
    pagination_class = pagination.ById

    @extend_schema(
        tags=[TAG],
        summary="List criminal cases",
        description="Cases by id, each with its parties (names only with intake.view_party_pii) and order ids.",
        parameters=[
            OpenApiParameter(
                "court", OpenApiTypes.STR, description="Only the cases of this court (its code)."
            )
        ],
        responses={200: s.CaseOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        queryset = selectors.cases()
        court = request.query_params.get("court")
        if court:
            queryset = queryset.filter(court__code=court[:40])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        data = s.CaseOutputSerializer(page, many=True, context={"show_pii": _show_pii(request)}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        tags=[TAG],
        summary="Register a criminal case",
        description=(
            "A case is identified by its court and its number at that court (both the court's "
            "own; unique together). " + IDENTIFIERS
        ),
        request=s.CaseCreateInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER, REPLAYED_PARAMETER],
        responses={
            201: s.CaseOutputSerializer,
            200: OpenApiResponse(s.CaseOutputSerializer, description="Already registered with this content."),
            409: CONFLICT_409,
            **WRITE_ERRORS,
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        values = _validated(s.CaseCreateInputSerializer, request.data)
        try:
            case, created = references.open_case_once(**values, actor=request.user)
        except references.ReferenceConflict as exc:
            return _conflict(exc)
        case = selectors.cases().get(pk=case.pk)
        data = s.CaseOutputSerializer(case, context={"show_pii": _show_pii(request)}).data
        return _created_or_found(data, created=created, location=reverse("intake-api:case", args=[case.pk]))


class CaseDetailApi(IntakeApi):
    view_models = (Case, Party)
    write_permissions = ("intake.change_case",)

    @extend_schema(
        tags=[TAG],
        summary="Get a criminal case",
        parameters=[_id_parameter("Case"), ETAG],
        responses={200: s.CaseOutputSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, id: int) -> Response:
        case = _object(selectors.cases(), id)
        data = s.CaseOutputSerializer(case, context={"show_pii": _show_pii(request)}).data
        return _tagged(Response(data), case)

    @extend_schema(
        tags=[TAG],
        summary="Update a criminal case",
        description=(
            "A court system may change the investigating authority; the court, number and "
            "opening date identify the case and do not change. Recorded in the case's history "
            "and the audit journal (intake.case.updated)."
        ),
        parameters=[_id_parameter("Case"), IF_MATCH, ETAG],
        request=s.CaseUpdateInputSerializer,
        responses={200: s.CaseOutputSerializer, **UPDATE_ERRORS},
    )
    def patch(self, request: Request, id: int) -> Response:
        values = _validated(s.CaseUpdateInputSerializer, request.data)
        with transaction.atomic():
            case = _locked_if_match(request, Case, id)
            services.update_case(case=case, actor=request.user, **values)
        case = selectors.cases().get(pk=case.pk)
        data = s.CaseOutputSerializer(case, context={"show_pii": _show_pii(request)}).data
        return _tagged(Response(data), case)


class CasePartiesApi(IntakeApi):
    view_models = (Case, Party)
    write_permissions = ("intake.add_party",)

    @extend_schema(
        tags=[TAG],
        summary="Add a party to a criminal case",
        description=(
            "A suspect, lawful owner or victim. Name and identity document are personal data: "
            "stored, kept out of the audit journal, and shown only to readers with "
            "intake.view_party_pii (the response omits them otherwise). The same role, name and "
            "identity document in the same case is the same party: sent again, it answers 200 "
            "with the party already recorded."
        ),
        parameters=[_id_parameter("Case"), IDEMPOTENCY_KEY_PARAMETER, REPLAYED_PARAMETER],
        request=s.PartyInputSerializer,
        responses={
            201: s.PartyOutputSerializer,
            200: OpenApiResponse(s.PartyOutputSerializer, description="Already recorded in this case."),
            409: CONFLICT_409,
            **WRITE_ERRORS,
        },
    )
    @idempotent
    def post(self, request: Request, id: int) -> Response:
        case = _object(Case.objects.all(), id)
        values = _validated(s.PartyInputSerializer, request.data)
        party, created = references.add_party_once(case=case, actor=request.user, **values)
        data = s.PartyOutputSerializer(party, context={"show_pii": _show_pii(request)}).data
        return _created_or_found(data, created=created, location=reverse("intake-api:case", args=[case.pk]))


# -- orders -----------------------------------------------------------------------------------


class OrderCreateApi(IntakeApi):
    view_models = (CourtOrder,)
    write_permissions = ("intake.add_courtorder",)

    @extend_schema(
        tags=[TAG],
        summary="Record a court order",
        description=(
            "An order is identified by `court_reference`, the court system's own identifier "
            "(unique). The case, kind, number and issue date must match on a repeat; the "
            "appeal-term facts may have been updated since (PATCH). " + IDENTIFIERS
        ),
        request=s.OrderCreateInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER, REPLAYED_PARAMETER],
        responses={
            201: s.OrderOutputSerializer,
            200: OpenApiResponse(s.OrderOutputSerializer, description="Already recorded with this content."),
            409: CONFLICT_409,
            **WRITE_ERRORS,
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        values = _validated(s.OrderCreateInputSerializer, request.data)
        try:
            order, created = references.record_order_once(**values, actor=request.user)
        except references.ReferenceConflict as exc:
            return _conflict(exc)
        order = selectors.orders().get(pk=order.pk)
        return _created_or_found(
            s.OrderOutputSerializer(order).data,
            created=created,
            location=reverse("intake-api:order", args=[order.pk]),
        )


class OrderDetailApi(IntakeApi):
    view_models = (CourtOrder,)
    write_permissions = ("intake.change_courtorder",)

    @extend_schema(
        tags=[TAG],
        summary="Get a court order",
        parameters=[_id_parameter("Order"), ETAG],
        responses={200: s.OrderOutputSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, id: int) -> Response:
        order = _object(selectors.orders(), id)
        return _tagged(Response(s.OrderOutputSerializer(order).data), order)

    @extend_schema(
        tags=[TAG],
        summary="Record the appeal-term facts of a court order",
        description=(
            "The facts that arrive after an order is issued: `in_force_on`, `appeal_deadline`, "
            "`appeal_lodged` (only the fields sent change; null clears a date). Nothing else of "
            "an order changes. Recorded in the order's history and the audit journal "
            "(intake.order.updated)."
        ),
        parameters=[_id_parameter("Order"), IF_MATCH, ETAG],
        request=s.OrderUpdateInputSerializer,
        responses={200: s.OrderOutputSerializer, **UPDATE_ERRORS},
    )
    def patch(self, request: Request, id: int) -> Response:
        values = _validated(s.OrderUpdateInputSerializer, request.data)
        with transaction.atomic():
            order = _locked_if_match(request, CourtOrder, id)
            services.update_order_status(order=order, actor=request.user, **values)
        order = selectors.orders().get(pk=order.pk)
        return _tagged(Response(s.OrderOutputSerializer(order).data), order)


class OrderDocumentApi(IntakeApi):
    view_models = (CourtOrder,)
    write_permissions = ("intake.change_courtorder", "intake.add_courtdocument")
    parser_classes = [MultiPartParser]

    @property
    def max_body_size(self) -> int:
        # The file's own limit (refused with a field message) plus room for the multipart frame.
        return documents.max_bytes() + 64 * 1024

    @extend_schema(
        tags=[TAG],
        summary="Attach the signed document of a court order",
        description=(
            "Multipart upload, field `file`: a PDF, PNG or JPEG, recognised by its content (the "
            "name and content type are not trusted), within the size limit. Stored under its "
            "SHA-256; a refused file leaves nothing behind. Idempotent by content (PUT): the "
            "same file again changes nothing; another file for an order that has one is refused."
        ),
        parameters=[_id_parameter("Order")],
        request={"multipart/form-data": s.DocumentUploadInputSerializer},
        responses={200: s.OrderOutputSerializer, **error_responses(400, 401, 403, 404, 429, 503)},
    )
    def put(self, request: Request, id: int) -> Response:
        order = _object(CourtOrder.objects.all(), id)
        upload = _validated(s.DocumentUploadInputSerializer, request.data)["file"]
        document = documents.store_document(upload=upload, actor=request.user)
        services.attach_order_document(order=order, document=document, actor=request.user)
        return Response(s.OrderOutputSerializer(selectors.orders().get(pk=order.pk)).data)


# -- items ------------------------------------------------------------------------------------


class ItemListApi(IntakeApi):
    view_models = (SeizedItem,)
    write_permissions = ("intake.add_seizeditem",)
    pagination_class = pagination.ById

    @extend_schema(
        tags=[TAG],
        summary="List seized items",
        description="Items by id, with state, amounts, the head of their custody chain and ledger entries.",
        parameters=[OpenApiParameter("order", OpenApiTypes.INT, description="Only the items of this order.")],
        responses={200: s.ItemOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        queryset = selectors.items()
        order = request.query_params.get("order", "")
        if order:
            queryset = (
                queryset.filter(order_id=int(order))
                if order.isdigit() and len(order) < 19
                else queryset.none()
            )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(s.ItemOutputSerializer(page, many=True).data)

    @extend_schema(
        tags=[TAG],
        summary="Register a seized item",
        description=(
            "An item with a transaction is identified by its output (network, txid, vout), "
            "registered once in the whole system; an item from an exchange account by its "
            "`court_reference` (then required). Amounts are JSON strings in the asset's units; "
            "a JSON number is refused. A registered item's txid and amount never change "
            "through the API. " + IDENTIFIERS
        ),
        request=s.ItemCreateInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER, REPLAYED_PARAMETER],
        responses={
            201: s.ItemOutputSerializer,
            200: OpenApiResponse(s.ItemOutputSerializer, description="Already registered with this content."),
            409: CONFLICT_409,
            **WRITE_ERRORS,
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        values = _validated(s.ItemCreateInputSerializer, request.data)
        try:
            item, created = references.register_item_once(**values, actor=request.user)
        except references.ReferenceConflict as exc:
            return _conflict(exc)
        item = selectors.items().get(pk=item.pk)
        return _created_or_found(
            s.ItemOutputSerializer(item).data,
            created=created,
            location=reverse("intake-api:item", args=[item.pk]),
        )


class ItemDetailApi(IntakeApi):
    view_models = (SeizedItem,)

    @extend_schema(
        tags=[TAG],
        summary="Get the status of a seized item",
        description=(
            "State, claimed and received amounts, the head of the custody chain and, once in "
            "custody, the numbers of the ledger entries."
        ),
        parameters=[_id_parameter("Item")],
        responses={200: s.ItemOutputSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, id: int) -> Response:
        return Response(s.ItemOutputSerializer(_object(selectors.items(), id)).data)
