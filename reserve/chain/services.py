"""Chain data into the database, and reconciliation of the ledger with the chain.

Which adapter serves a network is configuration (``CHAIN_SOURCES``: empty in the embedded
default, which is offline); without one, a clerk records what was observed, with its evidence.
Reconciliation compares each wallet's ledger balance with its latest observation and records
every difference, one base unit included, for a person to explain; it never changes a balance.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from reserve.amounts import ExactSum
from reserve.audit import record_event
from reserve.external.http import SourceError
from reserve.models import (
    Asset,
    ChainObservation,
    DifferenceStatus,
    Posting,
    ReconciliationDifference,
    Wallet,
)

logger = logging.getLogger(__name__)

ADAPTERS = {
    "esplora": "reserve.chain.esplora.EsploraSource",
    "bitcoind": "reserve.chain.bitcoind.BitcoinCoreSource",
    "ethereum": "reserve.chain.ethereum.EthereumSource",
}
MANUAL = "manual"


def chain_source(network: str, *, transport=None):
    """The configured adapter for ``network`` (``CHAIN_SOURCES[network] = {"adapter": "esplora",
    "base_url": ...}``), or None: offline, observations are recorded by hand."""
    config = settings.CHAIN_SOURCES.get(network)
    if not config:
        return None
    cls = import_string(ADAPTERS[config["adapter"]])
    kwargs = {"transport": transport}
    if config["adapter"] != "ethereum":
        kwargs["network"] = network
    if config.get("auth"):
        kwargs["auth"] = tuple(config["auth"])
    return cls(config["base_url"], **kwargs)


def native_asset(network: str) -> Asset | None:
    return Asset.objects.filter(network=network, contract_address="", is_active=True).order_by("id").first()


@transaction.atomic
def record_observation(
    *,
    wallet: Wallet,
    asset: Asset,
    balance: int,
    observed_at: dt.datetime,
    actor,
    evidence: str,
    block_height=None,
) -> ChainObservation:
    """What a clerk saw on chain (an explorer page, a node's answer, a custodian's statement)."""
    errors = {}
    if not isinstance(balance, int) or isinstance(balance, bool) or balance < 0:
        errors["balance"] = [_("A balance is a whole, non-negative number of smallest units.")]
    if asset.network != wallet.network:
        errors["asset"] = [
            _("%(asset)s is on %(asset_network)s; wallet %(wallet)s is on %(wallet_network)s.")
            % {
                "asset": asset.symbol,
                "asset_network": asset.network,
                "wallet": wallet.code,
                "wallet_network": wallet.network,
            }
        ]
    if observed_at > timezone.now():
        errors["observed_at"] = [_("An observation cannot be dated in the future.")]
    if not evidence or not evidence.strip():
        errors["evidence"] = [_("Say where the balance was read (explorer, node, statement) and how.")]
    if errors:
        raise ValidationError(errors)
    observation = ChainObservation.objects.create(
        wallet=wallet,
        asset=asset,
        balance=balance,
        observed_at=observed_at,
        block_height=block_height,
        source=MANUAL,
        entered_by=actor,
        evidence=evidence.strip(),
    )
    record_event(
        action="reserve.chain.observed",
        actor=actor,
        subject=observation,
        data={
            "wallet": wallet.code,
            "asset": asset.symbol,
            "balance": asset.format(balance),
            "source": MANUAL,
        },
    )
    return observation


def observe_wallets(*, transports=None, now: dt.datetime | None = None) -> list[ChainObservation]:
    """Ask the configured adapters for the confirmed balance of every active wallet's active
    addresses; one observation per wallet. A failing source is logged and skipped."""
    now = now or timezone.now()
    made = []
    for wallet in Wallet.objects.filter(is_active=True).prefetch_related("addresses"):
        source = chain_source(wallet.network, transport=(transports or {}).get(wallet.network))
        asset = native_asset(wallet.network)
        addresses = [a.address for a in wallet.addresses.all() if a.is_active]
        if source is None or asset is None or not addresses:
            continue
        try:
            balance = sum(source.address_balance(address).confirmed for address in addresses)
            height = source.tip().height
        except SourceError as exc:
            logger.warning("Chain source %s failed for wallet %s: %s", source.code, wallet.code, exc)
            continue
        made.append(
            ChainObservation.objects.create(
                wallet=wallet,
                asset=asset,
                balance=balance,
                observed_at=now,
                block_height=height,
                source=source.code,
            )
        )
    return made


def ledger_balance(wallet: Wallet, asset: Asset, at: dt.datetime) -> int:
    """Units of ``asset`` the ledger holds in ``wallet`` at ``at``, whatever their category."""
    total = Posting.objects.filter(
        account__wallet=wallet, account__asset=asset, effective_at__lte=at
    ).aggregate(total=ExactSum("amount"))["total"]
    return total or 0


def reconcile(*, now: dt.datetime | None = None) -> list[ReconciliationDifference]:
    """Compare every wallet's latest observation with the ledger at the observation's time; record
    each difference once (re-running finds the same observation and adds nothing)."""
    now = now or timezone.now()
    found = []
    latest = {}
    for observation in ChainObservation.objects.select_related("wallet", "asset").order_by(
        "observed_at", "id"
    ):
        latest[(observation.wallet_id, observation.asset_id)] = observation
    for observation in latest.values():
        ledger = ledger_balance(observation.wallet, observation.asset, observation.observed_at)
        if ledger == observation.balance:
            continue
        if ReconciliationDifference.objects.filter(
            observation=observation, wallet=observation.wallet, asset=observation.asset
        ).exists():
            continue
        try:
            with transaction.atomic():
                difference = ReconciliationDifference.objects.create(
                    found_at=now,
                    wallet=observation.wallet,
                    asset=observation.asset,
                    ledger_balance=ledger,
                    chain_balance=observation.balance,
                    difference=observation.balance - ledger,
                    observation=observation,
                )
                record_event(
                    action="reserve.chain.difference_found",
                    subject=difference,
                    data={
                        "wallet": observation.wallet.code,
                        "asset": observation.asset.symbol,
                        "ledger": observation.asset.format(ledger),
                        "chain": observation.asset.format(observation.balance),
                    },
                )
        except IntegrityError:
            continue  # found by a concurrent run
        found.append(difference)
    return found


@transaction.atomic
def explain_difference(
    *, difference: ReconciliationDifference, explanation: str, actor
) -> ReconciliationDifference:
    """A person's explanation closes a difference; the figures stay as found."""
    if not explanation or not explanation.strip():
        raise ValidationError({"explanation": [_("Explain the difference (what happened, which evidence).")]})
    locked = ReconciliationDifference.objects.select_for_update().get(pk=difference.pk)
    if locked.status == DifferenceStatus.EXPLAINED:
        raise ValidationError(_("This difference is already explained."))
    locked.status = DifferenceStatus.EXPLAINED
    locked.explanation = explanation.strip()
    locked.explained_by = actor
    locked.explained_at = timezone.now()
    locked._history_user = actor
    locked.save(update_fields=["status", "explanation", "explained_by", "explained_at"])
    record_event(
        action="reserve.chain.difference_explained",
        actor=actor,
        subject=locked,
        data={"explanation": locked.explanation},
    )
    return locked
