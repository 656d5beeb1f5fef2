"""Intake's sample data: a realistic pipeline of 2026 seizures for the embedded demo.

Registered with reserve's ``load_sample_data`` from :meth:`intake.apps.IntakeConfig.ready` and
run after reserve's own sample data, with its sample users. Everything goes through intake's
services and the approval engine: the intake clerk records courts, cases, parties, orders and
items and makes the transition requests; the sample approvers approve them. Idempotent: courts
are looked up by code, cases by court and number, orders by the court's reference, items by
their transaction output, and every request carries a ``sample:`` idempotency key, so a second
run changes nothing.

The items cover every state: registered, transfer pending, in custody (offline evidence: the
embedded mode has no chain source), in custody with an explained discrepancy, forfeited,
forfeited into ``restricted`` (no sale), split by a verdict that forfeits part, released to a
victim (and sent to the victim's address on chain, the fee taken from the released amount),
cancelled, and one whose forfeiture waits in the board members' inboxes.

The seizures go to intake wallets of their own (``btc-intake-2``, ``eth-intake-2``), so that
their ``custody:pending`` balance is exactly the coins of the items in custody there (the
older intake wallets hold balances taken over from the 2025 register without items).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone

from intake import services
from intake.documents import store_document
from intake.models import Case, Court, CourtOrder, ItemState, OrderKind, PartyRole, SeizedItem, SourceKind
from intake.transitions import (
    CANCEL,
    FORFEIT,
    INTAKE_FROM,
    RELEASE,
    RELEASE_TRANSFER,
    TAKE_INTO_CUSTODY,
    chain_configured,
    verified_on_chain,
)
from reserve.approvals.services import create_request
from reserve.models import ApprovalRequest, Asset, Network, RequestStatus, Wallet, WalletAddress, WalletKind
from reserve.sample_data import SampleContext

CSD = "Central Securities Depository"

# fmt: off
WALLETS = (
    ("btc-intake-2", "BTC seizure intake (2026 cases)", Network.BITCOIN,
     "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
    ("eth-intake-2", "ETH seizure intake (2026 cases)", Network.ETHEREUM,
     "0x52908400098527886E0F7030069857D2E4169EE7"),
)
# fmt: on

COURTS = (
    ("astana-sic", "Specialized Interdistrict Criminal Court of Astana", "Astana"),
    ("almaty-sic", "Specialized Interdistrict Criminal Court of Almaty", "Almaty"),
)


@dataclass(frozen=True)
class SampleCase:
    court: str
    number: str
    authority: str
    opened_on: dt.date
    #: (role, name, identity document number)
    parties: tuple[tuple[str, str, str], ...]


CASES = (
    SampleCase(
        "astana-sic",
        "1-101/2026",
        "Anti-Corruption Agency",
        dt.date(2026, 2, 3),
        (
            (PartyRole.SUSPECT, "Bolat Akhmetov", "045612378"),
            (PartyRole.OWNER, "Akhmetov Trading LLP", "BIN 190340012345"),
        ),
    ),
    SampleCase(
        "almaty-sic",
        "1-202/2026",
        "Financial Monitoring Agency",
        dt.date(2026, 3, 17),
        (
            (PartyRole.SUSPECT, "Ruslan Dzhaksybekov", "038811245"),
            (PartyRole.VICTIM, "Aliya Mukhametova", "041177302"),
        ),
    ),
    SampleCase(
        "almaty-sic",
        "1-215/2026",
        "Police Department of Almaty",
        dt.date(2026, 5, 6),
        (
            (PartyRole.SUSPECT, "Daniyar Seitkali", "050233914"),
            (PartyRole.OWNER, "Daniyar Seitkali", "050233914"),
        ),
    ),
    SampleCase(
        "astana-sic",
        "1-133/2026",
        "Economic Investigations Service",
        dt.date(2026, 6, 22),
        (
            (PartyRole.SUSPECT, "Yerzhan Tokayev", "047790561"),
            (PartyRole.VICTIM, "Kazakh Leasing JSC", "BIN 050140098765"),
        ),
    ),
)


@dataclass(frozen=True)
class SampleOrder:
    reference: str
    case: str
    kind: str
    number: str
    issued_on: dt.date
    appeal_deadline: dt.date | None = None
    in_force_on: dt.date | None = None
    document: bool = False


def _orders(today: dt.date) -> tuple[SampleOrder, ...]:
    # The verdict whose appeal term is still running is dated from today, so that it still runs
    # whenever the demo is loaded; every other date is fixed.
    running_issued = today - dt.timedelta(days=5)
    return (
        SampleOrder("sample-astana-101-arrest", "1-101/2026", OrderKind.ARREST, "2-1011/2026",
                    dt.date(2026, 2, 5), document=True),
        SampleOrder("sample-astana-101-verdict", "1-101/2026", OrderKind.CONFISCATION, "1-101/2026-V",
                    dt.date(2026, 9, 14), dt.date(2026, 10, 14), dt.date(2026, 10, 15), document=True),
        SampleOrder("sample-almaty-202-arrest", "1-202/2026", OrderKind.ARREST, "2-2020/2026",
                    dt.date(2026, 3, 19)),
        SampleOrder("sample-almaty-202-release", "1-202/2026", OrderKind.RELEASE, "1-202/2026-R",
                    dt.date(2026, 10, 1), dt.date(2026, 10, 31), dt.date(2026, 11, 1)),
        SampleOrder("sample-almaty-215-arrest", "1-215/2026", OrderKind.ARREST, "2-2150/2026",
                    dt.date(2026, 5, 8)),
        SampleOrder("sample-almaty-215-verdict", "1-215/2026", OrderKind.CONFISCATION, "1-215/2026-V",
                    running_issued, running_issued + dt.timedelta(days=15)),
        SampleOrder("sample-astana-133-arrest", "1-133/2026", OrderKind.ARREST, "2-1330/2026",
                    dt.date(2026, 6, 24)),
    )  # fmt: skip


@dataclass(frozen=True)
class SampleItem:
    key: str
    order: str
    asset: str
    claimed: str
    #: The state the sample leaves it in (``split``: part forfeited, the rest in custody).
    target: str
    received: str = ""
    explanation: str = ""
    source_address: str = ""
    exchange_account: str = ""
    restriction: str = ""
    #: forfeiture/release: the order and the amount (empty: all of it); release: destination.
    verdict: str = ""
    amount: str = ""
    destination: str = ""
    #: release: what the destination received on chain (the rest paid the network fee); empty:
    #: the transfer out is not recorded yet.
    sent: str = ""
    vout: int = 0

    @property
    def txid(self) -> str:
        digest = hashlib.sha256(f"sample:intake:{self.key}".encode()).hexdigest()
        return ("0x" + digest) if self.asset == "ETH" else digest


PENDING_FORFEITURE = "pending_forfeiture"

SUSPECT_BTC = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"
SUSPECT_ETH = "0x8617E340B3D01FA5F11F306F4090FD50E238070D"
VICTIM_BTC = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"

ITEMS = (
    SampleItem("astana-101-discrepancy", "sample-astana-101-arrest", "BTC", "1.5", ItemState.IN_CUSTODY,
               received="1.49990000", source_address=SUSPECT_BTC,
               explanation="The suspect's wallet paid the network fee out of the seized amount "
                           "(0.0001 BTC); confirmed by the seizure protocol."),
    SampleItem("astana-101-forfeited", "sample-astana-101-arrest", "BTC", "0.75", ItemState.FORFEITED,
               source_address=SUSPECT_BTC, verdict="sample-astana-101-verdict", vout=1),
    SampleItem("astana-101-split", "sample-astana-101-arrest", "BTC", "2.0", ItemState.SPLIT,
               source_address=SUSPECT_BTC, verdict="sample-astana-101-verdict", amount="1.2", vout=2),
    SampleItem("astana-101-no-sale", "sample-astana-101-arrest", "ETH", "12.5", ItemState.FORFEITED,
               source_address=SUSPECT_ETH, restriction="no_sale", verdict="sample-astana-101-verdict"),
    SampleItem("astana-101-awaiting-board", "sample-astana-101-arrest", "BTC", "0.3", PENDING_FORFEITURE,
               exchange_account="Binance KZ account 88120457 (frozen)",
               verdict="sample-astana-101-verdict", vout=3),
    SampleItem("almaty-202-released", "sample-almaty-202-arrest", "BTC", "0.42", ItemState.RELEASED,
               source_address=SUSPECT_BTC, verdict="sample-almaty-202-release", destination=VICTIM_BTC,
               sent="0.41995"),
    SampleItem("almaty-215-in-custody", "sample-almaty-215-arrest", "BTC", "0.9", ItemState.IN_CUSTODY,
               source_address=SUSPECT_BTC),
    SampleItem("almaty-215-cancelled", "sample-almaty-215-arrest", "BTC", "0.05", ItemState.CANCELLED,
               exchange_account="Bybit account 7730215 (wrong account, order withdrawn)"),
    SampleItem("astana-133-registered", "sample-astana-133-arrest", "ETH", "3.75", ItemState.REGISTERED,
               source_address=SUSPECT_ETH, vout=0),
    SampleItem("astana-133-transfer-pending", "sample-astana-133-arrest", "BTC", "0.125",
               ItemState.TRANSFER_PENDING, exchange_account="Kazakh exchange account 10455 (frozen)"),
)  # fmt: skip

EVIDENCE = "Offline: seizure protocol and the custody officer's signed receipt of the wallet balance."

#: The smallest valid PDF: one empty page. The signed document of the Astana orders.
SAMPLE_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def load(context: SampleContext) -> None:
    clerk = context.maker
    wallets = _wallets(context)
    courts = {code: _court(context, code, name, region) for code, name, region in COURTS}
    cases = {spec.number: _case(context, courts[spec.court], spec) for spec in CASES}
    document = None
    orders = {}
    for spec in _orders(timezone.localdate()):
        order = CourtOrder.objects.filter(court_reference=spec.reference).first()
        context.count("court orders", order is None)
        if order is None:
            if spec.document and document is None:
                document = store_document(upload=SAMPLE_PDF, name="signed-order.pdf", actor=clerk)
            order = services.record_order(
                case=cases[spec.case],
                kind=spec.kind,
                number=spec.number,
                issued_on=spec.issued_on,
                appeal_deadline=spec.appeal_deadline,
                in_force_on=spec.in_force_on,
                court_reference=spec.reference,
                document=document if spec.document else None,
                actor=clerk,
            )
        orders[spec.reference] = order
    assets = {asset.symbol: asset for asset in Asset.objects.filter(symbol__in=("BTC", "ETH"))}
    for spec in ITEMS:
        _item(context, spec, orders=orders, assets=assets, wallets=wallets)


def _wallets(context: SampleContext) -> dict[str, Wallet]:
    found = {}
    registered = timezone.make_aware(dt.datetime(2026, 1, 12, 9, 0))
    for code, name, network, address in WALLETS:
        wallet = Wallet.objects.filter(code=code).first()
        if wallet is None:
            wallet = Wallet(
                code=code, name=name, kind=WalletKind.SEIZURE_INTAKE, network=network, custodian=CSD
            )
            wallet.full_clean()
            wallet.save()
            context.count(str(Wallet._meta.verbose_name_plural), True)
        if not wallet.addresses.exists():
            entry = WalletAddress(
                wallet=wallet, network=network, address=address, label="Primary receiving address"
            )
            entry.full_clean()
            entry.save()
            context.count(str(WalletAddress._meta.verbose_name_plural), True)
        Wallet.objects.filter(pk=wallet.pk, created_at__gt=registered).update(created_at=registered)
        WalletAddress.objects.filter(wallet=wallet, created_at__gt=registered).update(created_at=registered)
        found[code] = wallet
    return found


def _court(context: SampleContext, code: str, name: str, region: str) -> Court:
    court = Court.objects.filter(code=code).first()
    context.count("courts", court is None)
    return court or services.register_court(name=name, region=region, code=code, actor=context.maker)


def _case(context: SampleContext, court: Court, spec: SampleCase) -> Case:
    case = Case.objects.filter(court=court, number=spec.number).first()
    if case is not None:
        return case
    case = services.open_case(
        court=court,
        number=spec.number,
        investigating_authority=spec.authority,
        opened_on=spec.opened_on,
        actor=context.maker,
    )
    context.count("criminal cases", True)
    for role, name, document in spec.parties:
        services.add_party(
            case=case, role=role, name=name, identity_document_number=document, actor=context.maker
        )
        context.count("parties", True)
    return case


def _item(context: SampleContext, spec: SampleItem, *, orders, assets, wallets) -> SeizedItem:
    """Register the item (or find it by its transaction output) and take it, one transition at
    a time, to the state ``spec`` names; a transition already made is not made again."""
    asset = assets[spec.asset]
    wallet = wallets["btc-intake-2" if asset.network == Network.BITCOIN else "eth-intake-2"]
    item = SeizedItem.objects.filter(network=asset.network, txid=spec.txid, vout=spec.vout).first()
    if item is None:
        item = services.register_item(
            order=orders[spec.order],
            asset=asset,
            claimed_amount=spec.claimed,
            source_kind=SourceKind.ADDRESS if spec.source_address else SourceKind.EXCHANGE_ACCOUNT,
            source_address=spec.source_address,
            exchange_account=spec.exchange_account,
            txid=spec.txid,
            vout=spec.vout,
            custody_wallet=wallet,
            restriction=spec.restriction,
            actor=context.maker,
        )
        context.count("seized items", True)
    if spec.target == ItemState.REGISTERED:
        return item
    if spec.target == ItemState.TRANSFER_PENDING:
        if item.state == ItemState.REGISTERED:
            evidence = "Exchange instructed to transfer the frozen balance, letter 133/2026."
            item = services.record_transfer_started(item=item, actor=context.maker, evidence=evidence)
        return item
    if spec.target == ItemState.CANCELLED:
        if item.state in INTAKE_FROM:
            payload = {
                "item": item.pk,
                "reason": "The arrest order named the wrong exchange account; withdrawn.",
            }
            _request(context, spec, "cancel", CANCEL, payload, "Seizure order withdrawn by the court.")
        return item
    # Offline evidence: a chain source, when configured, would have to check the transaction first.
    if item.state in INTAKE_FROM and not verified_on_chain(item):
        payload = {
            "item": item.pk,
            "received_amount": spec.received or spec.claimed,
            "evidence": EVIDENCE,
            "discrepancy_explanation": spec.explanation,
        }
        _request(context, spec, "custody", TAKE_INTO_CUSTODY, payload, "Coins arrived in the intake wallet.")
        item.refresh_from_db()
    if item.state != ItemState.IN_CUSTODY or spec.target == ItemState.IN_CUSTODY:
        return item
    payload = {"item": item.pk, "order": orders[spec.verdict].pk}
    if spec.amount:
        payload["amount"] = spec.amount
    if spec.target == ItemState.RELEASED:
        payload["destination"] = spec.destination
        _request(context, spec, "release", RELEASE, payload, "Return to the victim by the court's order.")
        item.refresh_from_db()
        if spec.sent and item.state == ItemState.RELEASED and not chain_configured(item.network):
            sent = {
                "item": item.pk,
                "txid": hashlib.sha256(f"sample:intake:{spec.key}:sent".encode()).hexdigest(),
                "sent_amount": spec.sent,
                "evidence": "Offline: the signed transaction's record and the block explorer printout.",
            }
            comment = "Returned to the victim's address; the network fee came from the released amount."
            _request(context, spec, "sent", RELEASE_TRANSFER, sent, comment)
    else:
        pending = spec.target == PENDING_FORFEITURE
        comment = "Confiscation verdict in legal force."
        _request(context, spec, "forfeit", FORFEIT, payload, comment, approvers=() if pending else None)
    item.refresh_from_db()
    return item


def _request(
    context: SampleContext, spec: SampleItem, step: str, kind: str, payload, comment, approvers=None
):
    """Make the request as the intake clerk (or find it by its ``sample:`` key) and approve it by
    ``approvers`` (every sample approver by default: it must execute)."""
    key = f"sample:intake:{spec.key}:{step}"
    context.count("approval requests", not ApprovalRequest.objects.filter(idempotency_key=key).exists())
    request = create_request(
        kind=kind,
        payload=payload,
        maker=context.maker,
        comment=f"{comment} (sample data)",
        idempotency_key=key,
    )
    request = context.approve(request, approvers)
    if approvers is None and request.status != RequestStatus.EXECUTED:
        raise ValidationError(
            f"Sample request {key} is {request.status}: the approvers in this database cannot meet its "
            "policy. Load the sample data into a fresh database."
        )
    return request
