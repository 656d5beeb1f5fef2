"""Registration that is idempotent on the court's own identifiers, for court case systems.

A court system retries: the same call twice must make one record. What identifies each record:

* a **case**: its court and its number (unique per court; the number is the court's own);
* a **party** of a case: its role, name and identity document number together (a party has no
  identifier of the court's; the same three again are the same party);
* an **order**: its ``court_reference`` (the court system's identifier, unique when given;
  required here);
* a **seized item**: the transaction output (network, txid, vout) when it has one, else its
  ``court_reference`` (required for an exchange-account item). An item with a txid may also
  carry a reference; if it does, the reference must match too.

The same identifier with the same content returns the existing record (``created`` is False);
with other content it is refused with :class:`ReferenceConflict`, naming the differing fields.
Concurrent identical calls make one record: the unique constraints decide, the loser re-reads
and compares.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from intake import services
from intake.models import Case, Court, CourtOrder, Party, SeizedItem, SourceKind
from reserve.addresses import AddressError, normalize_address
from reserve.amounts import AmountError, parse_amount
from reserve.models import Asset, Wallet

_DUPLICATE_CODES = {"duplicate", "duplicate_output"}


class ReferenceConflict(Exception):
    """The identifier is taken by a record with other content."""

    def __init__(self, record: Model, fields: list[str]):
        self.record = record
        self.fields = fields
        self.message = _(
            "%(record)s is already registered under this identifier with other values of: %(fields)s."
        ) % {"record": f"{record._meta.verbose_name} #{record.pk}", "fields": ", ".join(fields)}
        super().__init__(self.message)


def _is_duplicate(exc: ValidationError) -> bool:
    if not hasattr(exc, "error_dict"):
        return False
    return any(error.code in _DUPLICATE_CODES for errors in exc.error_dict.values() for error in errors)


def _once(
    find: Callable[[], Model | None], create: Callable[[], Model], differing: Callable[[Model], list[str]]
) -> tuple[Model, bool]:
    existing = find()
    if existing is None:
        try:
            with transaction.atomic():
                return create(), True
        except IntegrityError:
            existing = find()
            if existing is None:
                raise
        except ValidationError as exc:
            if not _is_duplicate(exc):
                raise
            existing = find()
            if existing is None:
                raise
    fields = differing(existing)
    if fields:
        raise ReferenceConflict(existing, fields)
    return existing, False


def _differing(record: Model, wanted: dict) -> list[str]:
    return sorted(name for name, value in wanted.items() if getattr(record, name) != value)


def open_case_once(
    *, court: Court, number: str, investigating_authority: str, opened_on: dt.date, actor
) -> tuple[Case, bool]:
    number = (number or "").strip()

    def find():
        return Case.objects.filter(court=court, number=number).first()

    def create():
        return services.open_case(
            court=court,
            number=number,
            investigating_authority=investigating_authority,
            opened_on=opened_on,
            actor=actor,
        )

    wanted = {"investigating_authority": (investigating_authority or "").strip(), "opened_on": opened_on}
    return _once(find, create, lambda case: _differing(case, wanted))


@transaction.atomic
def add_party_once(
    *, case: Case, role: str, name: str, identity_document_number: str = "", actor
) -> tuple[Party, bool]:
    """A party has no identifier of the court's: the same role, name and identity document in
    the same case is the same party (``created`` False). The case row is locked while looking,
    so two identical concurrent calls add one party."""
    Case.objects.select_for_update().filter(pk=case.pk).first()
    existing = Party.objects.filter(
        case=case,
        role=role,
        name=(name or "").strip(),
        identity_document_number=(identity_document_number or "").strip(),
    ).first()
    if existing is not None:
        return existing, False
    party = services.add_party(
        case=case, role=role, name=name, identity_document_number=identity_document_number, actor=actor
    )
    return party, True


def record_order_once(
    *,
    case: Case,
    court_reference: str,
    kind: str,
    number: str,
    issued_on: dt.date,
    in_force_on: dt.date | None = None,
    appeal_deadline: dt.date | None = None,
    appeal_lodged: bool = False,
    actor,
) -> tuple[CourtOrder, bool]:
    court_reference = (court_reference or "").strip()
    if not court_reference:
        raise ValidationError(
            {"court_reference": ValidationError(_("This field is required."), code="required")}
        )

    def find():
        return CourtOrder.objects.filter(court_reference=court_reference).first()

    def create():
        return services.record_order(
            case=case,
            kind=kind,
            number=number,
            issued_on=issued_on,
            in_force_on=in_force_on,
            appeal_deadline=appeal_deadline,
            appeal_lodged=appeal_lodged,
            court_reference=court_reference,
            actor=actor,
        )

    # The appeal-term facts may have been updated since; a retry of the first call still matches.
    wanted = {"case_id": case.pk, "kind": kind, "number": (number or "").strip(), "issued_on": issued_on}

    def differing(order):
        return [name.removesuffix("_id") for name in _differing(order, wanted)]

    return _once(find, create, differing)


def register_item_once(
    *,
    order: CourtOrder,
    asset: Asset,
    claimed_amount: str,
    source_kind: str,
    custody_wallet: Wallet,
    source_address: str = "",
    exchange_account: str = "",
    txid: str = "",
    vout: int | None = None,
    restriction: str = "",
    court_reference: str = "",
    actor,
) -> tuple[SeizedItem, bool]:
    court_reference = (court_reference or "").strip()
    if not txid and not court_reference:
        raise ValidationError(
            {
                "court_reference": ValidationError(
                    _("An item without a transaction id is identified by the court's reference; give it."),
                    code="required",
                )
            }
        )
    normal_txid = services.normalize_txid(asset.network, txid) if txid else ""

    def find():
        if normal_txid:
            return SeizedItem.objects.filter(network=asset.network, txid=normal_txid, vout=vout).first()
        return SeizedItem.objects.filter(court_reference=court_reference).first()

    def create():
        return services.register_item(
            order=order,
            asset=asset,
            claimed_amount=claimed_amount,
            source_kind=source_kind,
            custody_wallet=custody_wallet,
            source_address=source_address,
            exchange_account=exchange_account,
            txid=txid,
            vout=vout,
            restriction=restriction,
            court_reference=court_reference,
            actor=actor,
        )

    def differing(item: SeizedItem) -> list[str]:
        try:
            units = parse_amount(claimed_amount, asset.decimals)
        except AmountError:
            units = None
        address = (source_address or "").strip()
        if source_kind == SourceKind.ADDRESS and address:
            with contextlib.suppress(AddressError):
                address = normalize_address(asset.network, address)
        wanted = {
            "order_id": order.pk,
            "asset_id": asset.pk,
            "claimed_amount": units,
            "source_kind": source_kind,
            "source_address": address if source_kind == SourceKind.ADDRESS else "",
            "exchange_account": (exchange_account or "").strip()
            if source_kind == SourceKind.EXCHANGE_ACCOUNT
            else "",
            "txid": normal_txid,
            "vout": vout if normal_txid else None,
            "custody_wallet_id": custody_wallet.pk,
            "restriction": (restriction or "").strip(),
            "court_reference": court_reference,
        }
        return [name.removesuffix("_id") for name in _differing(item, wanted)]

    return _once(find, create, differing)
