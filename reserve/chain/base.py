"""The interface every chain source implements, the values it answers with, and helpers.

Amounts are ``int`` in the smallest unit of the network (satoshi for Bitcoin, wei for
Ethereum); a float never carries one. Difficulty is a :class:`~decimal.Decimal` exactly as the
node printed it.

Not found: an unknown transaction or address raises ``SourceError(Failure.UNKNOWN_ASSET)``
(the shared failure class meaning "the provider does not know it"); no separate class.
A method a network or a source cannot answer (UTXOs on Ethereum, difficulty from a plain Esplora
API, address history from Bitcoin Core) raises :class:`NotSupported` (a
:class:`NotImplementedError`) with the reason. It is not a :class:`SourceError`: asking again
later cannot help, so it is a configuration fact, not a source's health.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any, ClassVar, Protocol, runtime_checkable

from reserve.external.http import Failure, SourceError

NETWORKS = frozenset({"bitcoin", "bitcoin-testnet", "ethereum"})

_TXID = re.compile(r"[0-9a-fA-F]{64}")
_ADDRESS = re.compile(r"(0x)?[0-9A-Za-z]{20,90}")
_HEX_QUANTITY = re.compile(r"0x[0-9a-fA-F]+")
_BITS = re.compile(r"[0-9a-fA-F]{8}")
_BLOCK_HASH = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class AddressBalance:
    """``confirmed``: in blocks; ``unconfirmed``: the net change waiting in the mempool (may be
    negative when a confirmed coin is being spent; 0 where a source cannot see the mempool)."""

    address: str
    confirmed: int
    unconfirmed: int


@dataclass(frozen=True)
class Utxo:
    """An unspent output; ``height`` is the block that holds it, ``None`` while unconfirmed."""

    txid: str
    vout: int
    value: int
    height: int | None


@dataclass(frozen=True)
class TxOutput:
    """``address`` is ``None`` for an output that pays no single address (OP_RETURN, bare
    multisig, contract creation)."""

    index: int
    address: str | None
    value: int


@dataclass(frozen=True)
class Transaction:
    """``outputs`` is a tuple (the value is frozen); ``confirmations`` is 0 while unconfirmed,
    and then ``block_height``/``block_time`` are ``None``. A reverted Ethereum transaction moved
    nothing and has no outputs."""

    txid: str
    outputs: tuple[TxOutput, ...]
    confirmations: int
    block_height: int | None
    block_time: dt.datetime | None

    @property
    def total(self) -> int:
        return sum(output.value for output in self.outputs)


@dataclass(frozen=True)
class Receipt:
    """One output paid to an address: ``units`` in smallest units; ``confirmations`` 0 and
    ``block_height``/``block_time`` ``None`` while unconfirmed; ``coinbase`` when the paying
    transaction is a block's coinbase (spendable only after 100 confirmations, so a mined
    receipt counts only from then)."""

    txid: str
    vout: int
    units: int
    confirmations: int
    block_height: int | None
    block_time: dt.datetime | None
    coinbase: bool = False


class NotSupported(NotImplementedError):
    """This source cannot answer this question at all (not a transient failure)."""


@dataclass(frozen=True)
class Tip:
    """The best block; ``difficulty`` where the source knows it (``None`` otherwise)."""

    height: int
    difficulty: Decimal | None


@dataclass(frozen=True)
class BlockHeader:
    """One block's header as a source answered it: ``time`` is the header's timestamp (UTC),
    ``bits`` the compact target as 8 lowercase hex digits; ``difficulty`` where the source
    prints it (Bitcoin Core), ``None`` otherwise (it follows from ``bits`` anyway)."""

    height: int
    hash: str
    time: dt.datetime
    bits: str
    difficulty: Decimal | None = None


@runtime_checkable
class ChainSource(Protocol):
    """One chain data source. ``code`` names the source (health, logs); ``network`` is one of
    :data:`NETWORKS`. Every method raises ``SourceError`` when the source gives no usable answer."""

    code: ClassVar[str]
    network: str

    def address_balance(self, address: str) -> AddressBalance: ...

    def address_utxos(self, address: str) -> list[Utxo]: ...

    def address_receipts(
        self, address: str, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[Receipt]: ...

    def transaction(self, txid: str) -> Transaction: ...

    def confirmations(self, txid: str) -> int: ...

    def tip(self) -> Tip: ...

    def difficulty(self) -> Decimal: ...

    def block_header(self, height: int) -> BlockHeader: ...


def in_period(block_time: dt.datetime | None, since: dt.datetime | None, until: dt.datetime | None) -> bool:
    """Whether a receipt belongs to ``[since, until)`` by its block time. An unconfirmed receipt
    (no block time) always belongs: it is pending, and is shown rather than silently dropped."""
    if block_time is None:
        return True
    if since is not None and block_time < since:
        return False
    return until is None or block_time < until


def check_network(network: str) -> str:
    if network not in NETWORKS:
        raise ValueError(f"unknown network {network!r}; one of {sorted(NETWORKS)}")
    return network


def confirmations_of(block_height: int | None, tip_height: int) -> int:
    """Confirmations of something in block ``block_height`` when the best block is
    ``tip_height``: ``tip − height + 1``; 0 when not in a block (``None``). A block above the tip
    means the tip came from a node that is behind: ``SourceError(STALE)``, never a guess."""
    if block_height is None:
        return 0
    if block_height > tip_height:
        raise SourceError(Failure.STALE, f"tip {tip_height} is below block {block_height}")
    return tip_height - block_height + 1


def same_address(a: str, b: str) -> bool:
    """Equal addresses: ``0x`` (Ethereum, EIP-55 case is only a checksum) and bech32 (``bc1``,
    ``tb1``, ``bcrt1``: one case, either) ignore case; base58 addresses are case-sensitive."""
    if a == b:
        return True
    la, lb = a.lower(), b.lower()
    if la.startswith(("0x", "bc1", "tb1", "bcrt1")):
        return la == lb
    return False


def paid_to(transaction: Transaction, address: str) -> int:
    """What ``transaction`` pays to ``address``: the sum of its outputs to it, in smallest units."""
    return sum(
        o.value for o in transaction.outputs if o.address is not None and same_address(o.address, address)
    )


def pays(transaction: Transaction, address: str, amount: int) -> bool:
    """Whether ``transaction`` pays exactly ``amount`` (smallest units) to ``address``, summed
    over its outputs to it. More or less is not "pays": the difference is a discrepancy to
    record (use :func:`paid_to` for the figure)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"amount must be an int of smallest units, not {type(amount).__name__}")
    return paid_to(transaction, address) == amount


# Checks on what a source answered: anything else is MALFORMED.


def malformed(detail: str) -> SourceError:
    return SourceError(Failure.MALFORMED, detail)


def need_int(value: Any, what: str, *, minimum: int | None = 0) -> int:
    """A JSON integer (never a bool, never a number with a fraction point)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise malformed(f"{what}: expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise malformed(f"{what}: {value} is below {minimum}")
    return value


def need_str(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise malformed(f"{what}: expected a string, got {value!r}")
    return value


def need_dict(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise malformed(f"{what}: expected an object, got {type(value).__name__}")
    return value


def need_list(value: Any, what: str) -> list:
    if not isinstance(value, list):
        raise malformed(f"{what}: expected a list, got {type(value).__name__}")
    return value


def need_decimal(value: Any, what: str) -> Decimal:
    """A JSON number as the exact Decimal it was printed as (an integer literal too)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise malformed(f"{what}: expected a number, got {value!r}")
    result = Decimal(value)
    if not result.is_finite():
        raise malformed(f"{what}: {value!r} is not finite")
    return result


def units_from_decimal(value: Any, decimals: int, what: str) -> int:
    """Convert a coin amount printed as a decimal number (``0.39890000`` BTC) into smallest
    units exactly: ``value × 10^decimals`` must be a non-negative integer, else MALFORMED."""
    number = need_decimal(value, what)
    with localcontext() as context:
        context.prec = 200  # far above any amount: the scaling itself never rounds
        scaled = number.scaleb(decimals)
    if scaled != scaled.to_integral_value() or scaled < 0:
        raise malformed(f"{what}: {value} is not a whole number of 10^-{decimals} units")
    return int(scaled)


def int_from_hex(value: Any, what: str) -> int:
    """An Ethereum JSON-RPC quantity (``"0x1bc16d674ec80000"``) as an exact int."""
    if not isinstance(value, str) or not _HEX_QUANTITY.fullmatch(value):
        raise malformed(f"{what}: expected a 0x-hex quantity, got {value!r}")
    return int(value, 16)


def from_unix(value: Any, what: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(need_int(value, what), tz=dt.UTC)


def check_height(height: int) -> int:
    """A block height to ask for: a non-negative int; anything else is never sent."""
    if isinstance(height, bool) or not isinstance(height, int) or height < 0:
        raise SourceError(Failure.UNKNOWN_ASSET, f"not a block height: {height!r}")
    return height


def answered_bits(value: Any, what: str) -> str:
    """Compact target bits in a source's answer, as 8 lowercase hex digits: an integer
    (Esplora's JSON) or a hex string (Bitcoin Core), else MALFORMED."""
    if isinstance(value, str):
        if not _BITS.fullmatch(value):
            raise malformed(f"{what}: not 8 hex digits: {value!r}")
        return value.lower()
    number = need_int(value, what)
    if number > 0xFFFFFFFF:
        raise malformed(f"{what}: {number} does not fit in 32 bits")
    return f"{number:08x}"


def answered_header(
    height: int, *, hash_: Any, header_height: Any, time: Any, bits: Any, difficulty: Decimal | None = None
) -> BlockHeader:
    """A :class:`BlockHeader` from a source's fields; the block must be the one asked for."""
    answered = need_int(header_height, "header.height")
    if answered != height:
        raise malformed(f"asked for block {height}, answered block {answered}")
    block_hash = need_str(hash_, "header.hash")
    if not _BLOCK_HASH.fullmatch(block_hash):
        raise malformed(f"header.hash: not a block hash: {block_hash!r}")
    return BlockHeader(
        height=answered,
        hash=block_hash.lower(),
        time=from_unix(time, "header.time"),
        bits=answered_bits(bits, "header.bits"),
        difficulty=difficulty,
    )


def check_txid(txid: str) -> str:
    """A txid is 64 hex digits; anything else is never sent (it would be a path or a parameter
    the source does not know): UNKNOWN_ASSET at once."""
    if not isinstance(txid, str) or not _TXID.fullmatch(txid):
        raise SourceError(Failure.UNKNOWN_ASSET, f"not a transaction id: {txid!r}")
    return txid


def check_address(address: str) -> str:
    """Letters and digits only (base58, bech32, 0x-hex): nothing that could change a URL path or
    a descriptor. Whether the network knows it is the source's answer."""
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
        raise SourceError(Failure.UNKNOWN_ASSET, f"not an address: {address!r}")
    return address


def answered_txid(value: Any, what: str) -> str:
    """A txid in a source's answer (64 hex digits), else MALFORMED."""
    if not isinstance(value, str) or not _TXID.fullmatch(value):
        raise malformed(f"{what}: not a txid: {value!r}")
    return value
