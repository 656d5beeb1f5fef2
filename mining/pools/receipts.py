"""Where the receipts at a payout address come from: a chain source, or a clerk's entries.

Both give :class:`reserve.chain.base.Receipt` values, so :func:`mining.pools.reconcile.reconcile_payouts`
treats them alike. A clerk's entry carries the txid (the evidence a reviewer can look up); its
amount is decimal BTC parsed exactly (at most 8 decimals).
"""

from __future__ import annotations

import datetime as dt
import re

from django.utils.translation import gettext as _

from mining.pools.statements import btc_to_sats
from reserve.chain.base import ChainSource, Receipt

_TXID = re.compile(r"[0-9a-fA-F]{64}")


class ReceiptEntryError(ValueError):
    """A clerk's receipt that cannot be accepted; the message is translated."""


def entered_receipt(
    *,
    txid: str,
    vout: int,
    amount_btc: str,
    confirmations: int,
    block_time: dt.datetime | None = None,
    block_height: int | None = None,
    coinbase: bool = False,
) -> Receipt:
    """A receipt entered by a clerk from a block explorer or the custodian's record."""
    if not isinstance(txid, str) or not _TXID.fullmatch(txid):
        raise ReceiptEntryError(_("A transaction id is 64 hexadecimal digits."))
    if isinstance(vout, bool) or not isinstance(vout, int) or vout < 0:
        raise ReceiptEntryError(_("The output index is a whole number from 0."))
    if isinstance(confirmations, bool) or not isinstance(confirmations, int) or confirmations < 0:
        raise ReceiptEntryError(_("Confirmations are a whole number from 0."))
    if confirmations > 0 and block_time is None:
        raise ReceiptEntryError(_("A confirmed receipt needs the time of its block."))
    if block_time is not None and block_time.utcoffset() is None:
        raise ReceiptEntryError(_("The block time needs a time zone."))
    units = btc_to_sats(amount_btc)
    return Receipt(
        txid=txid.lower(),
        vout=vout,
        units=units,
        confirmations=confirmations,
        block_height=block_height,
        block_time=None if confirmations == 0 else block_time,
        coinbase=coinbase,
    )


def observed_receipts(
    source: ChainSource, address: str, first_day: dt.date, last_day: dt.date, *, settlement_days: int = 1
) -> list[Receipt]:
    """The receipts at ``address`` in blocks of the statement period plus the settlement days
    (UTC days, the window :func:`~mining.pools.reconcile.reconcile_payouts` matches totals in),
    and the unconfirmed ones. Raises what the source raises (``SourceError``, ``NotSupported``)."""
    since = dt.datetime.combine(first_day, dt.time(), tzinfo=dt.UTC)
    until = dt.datetime.combine(last_day + dt.timedelta(days=settlement_days + 1), dt.time(), tzinfo=dt.UTC)
    return source.address_receipts(address, since=since, until=until)
