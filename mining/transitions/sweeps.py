"""Sweeps: mined coins leave a site's custody wallet for reserve cold storage.

No kind of mining's own: a sweep *is* reserve's ``reserve.transfer`` of category
``reserve:mined`` from the site's custody wallet to the cold wallet. That kind already posts
through the ledger, which consumes the source's lots and opens child lots in the destination
that keep their root (the ``site / day`` lot the output opened), so provenance travels with the
coins; it already checks the destination's addresses, cooling-off and balance at execution,
and its policy (custody officers) is the one that governs moving reserve coins between
wallets. A second kind would duplicate all of that. :func:`request_sweep` adds what is mining's:
the site, the clearer refusals, and a comment naming the site for the approvers.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from mining.models import Site
from mining.transitions.common import ensure_mining_clerk, refuse
from reserve.approvals import payload as checks
from reserve.audit import record_event
from reserve.models import Asset, Category, Wallet
from reserve.retry import retry_on_conflict

TRANSFER = "reserve.transfer"


def site_asset(site: Site) -> Asset:
    asset = Asset.objects.filter(network=site.network, contract_address="", is_active=True).first()
    if asset is None:
        raise refuse(
            "site", _("No active native asset on the %(network)s network.") % {"network": site.network}
        )
    return asset


def sweep_payload(*, site: Site, to_wallet: Wallet, amount: str) -> dict:
    """The transfer payload of a sweep, after mining's own checks: the destination is another
    wallet on the site's network, and the site's wallet holds the amount in ``reserve:mined``."""
    asset = site_asset(site)
    source = site.custody_wallet
    if to_wallet.network != site.network:
        raise refuse(
            "to_wallet",
            _("Wallet %(code)s is on the %(other)s network; the site's coins are on %(network)s.")
            % {"code": to_wallet.code, "other": to_wallet.network, "network": site.network},
            "other_network",
        )
    if to_wallet.pk == source.pk:
        raise refuse("to_wallet", _("The coins are already in the site's custody wallet."), "same_wallet")
    errors = checks.PayloadErrors()
    units = checks.amount({"amount": amount}, "amount", errors, asset)
    errors.raise_if_any()
    held = checks.held_units(source, Category.RESERVE_MINED, asset)
    if units > held:
        raise refuse(
            "amount",
            _("%(wallet)s holds %(held)s %(asset)s of mined output; %(amount)s cannot be swept.")
            % {
                "wallet": source.code,
                "held": asset.format(held),
                "asset": asset.symbol,
                "amount": asset.format(units),
            },
            "exceeds_mined",
        )
    return {
        "asset": asset.symbol,
        "amount": asset.format(units),
        "from_wallet": source.code,
        "to_wallet": to_wallet.code,
        "category": Category.RESERVE_MINED,
        "fee": asset.format(0),
    }


def sweep_comment(site: Site, comment: str = "") -> str:
    note = _("Sweep of mining site %(site)s (licence %(licence)s) to cold storage.") % {
        "site": site.name,
        "licence": site.licence_number,
    }
    return f"{note} {comment}".strip()


@retry_on_conflict
def request_sweep(
    *, site: Site, to_wallet: Wallet, amount: str, actor, comment: str = "", idempotency_key=None
):
    """Make the ``reserve.transfer`` request that sweeps ``amount`` (an exact decimal string,
    e.g. ``"1.5"``) of mined output from ``site``'s custody wallet to ``to_wallet``."""
    from reserve.approvals.services import create_request

    ensure_mining_clerk(actor, doing=_("request a sweep"), field="site")
    payload = sweep_payload(site=site, to_wallet=to_wallet, amount=amount)
    with transaction.atomic():
        request = create_request(
            kind=TRANSFER,
            payload=payload,
            maker=actor,
            comment=sweep_comment(site, comment),
            evidence=[
                {
                    "label": str(_("Mining site %(site)s") % {"site": site.name}),
                    "url": f"/admin/mining/site/{site.pk}/change/",
                }
            ],
            idempotency_key=idempotency_key,
        )
        record_event(
            action="mining.site.sweep_requested",
            actor=actor,
            subject=site,
            data={"request": request.pk, "amount": payload["amount"], "to_wallet": payload["to_wallet"]},
        )
    return request
