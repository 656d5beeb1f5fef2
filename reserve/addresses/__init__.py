"""Validation and canonical form of custody addresses, per network.

:func:`normalize_address` is the single entry point used by models and forms. It never repairs
input silently (no trimming, no case guessing beyond what each format defines) and raises
:class:`AddressError`, whose message is safe to show to the user, for anything it cannot accept.

Supported networks and formats:

* ``bitcoin`` / ``bitcoin-testnet``:

  - Base58Check P2PKH and P2SH (version bytes ``0x00``/``0x05`` on mainnet, ``0x6f``/``0xc4`` on
    testnet, 20-byte payload). Canonical form: as given (Base58 has exactly one spelling).
  - Native segwit addresses, HRP ``bc`` (mainnet) or ``tb`` (testnet): witness v0 in Bech32
    (BIP-173), v1..v16 in Bech32m (BIP-350). Canonical form: lower case. Regtest (``bcrt``) is
    refused, and so is every witness version and program length no soft fork has defined (only
    v0 with 20 or 32 bytes and v1 Taproot with 32 bytes are accepted): such outputs are
    anyone-can-spend.

* ``ethereum``: ``0x`` + 40 hex digits. All-lower or all-upper hex is accepted without checksum;
  mixed case must match the EIP-55 checksum. Canonical form: EIP-55 checksummed.
* ``tron``: Base58Check, 21-byte payload starting with ``0x41`` (``T...``). Canonical form: as
  given.

The Bech32/Bech32m part follows the BIP-350 reference implementation (sipa/bech32,
``ref/python/segwit_addr.py``) but raises :class:`AddressError` with a reason instead of returning
``None``.
"""

from __future__ import annotations

import re

from Crypto.Hash import keccak
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from reserve.addresses.base58check import BITCOIN_BASE58_VERSIONS, TRON_VERSION, base58check_payload
from reserve.addresses.bech32 import (
    Encoding,
    bech32_decode,
    bech32_encode,
    convertbits,
    decode_segwit,
    encode_segwit,
)
from reserve.addresses.errors import BITCOIN, BITCOIN_TESTNET, ETHEREUM, NETWORKS, TRON, AddressError

__all__ = [
    "BITCOIN",
    "BITCOIN_TESTNET",
    "ETHEREUM",
    "NETWORKS",
    "TRON",
    "AddressError",
    "Encoding",
    "bech32_decode",
    "bech32_encode",
    "convertbits",
    "decode_segwit",
    "encode_segwit",
    "normalize_address",
    "to_checksum_address",
]

_SEGWIT_HRPS = {BITCOIN: "bc", BITCOIN_TESTNET: "tb"}
_OTHER_BITCOIN = {BITCOIN: BITCOIN_TESTNET, BITCOIN_TESTNET: BITCOIN}
_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


#: Witness versions and program lengths a soft fork has given a meaning: v0 (P2WPKH, 20 bytes;
#: P2WSH, 32 bytes) and v1 with 32 bytes (P2TR). Any other output is valid on the chain but
#: unencumbered: coins sent there can be spent by anyone who sees them, so a custody or
#: allow-listed address never has one (BIP-350 decodes them; that is not the same as safe).
_DEFINED_WITNESS_PROGRAMS = {(0, 20), (0, 32), (1, 32)}


def _ensure_spendable_only_by_key_holder(version: int, program: bytes) -> None:
    if (version, len(program)) not in _DEFINED_WITNESS_PROGRAMS:
        raise AddressError(
            format_lazy(
                _(
                    "Witness version {version} with a {length}-byte program has no meaning in any "
                    "soft fork yet: coins sent there can be taken by anyone. Only version 0 "
                    "(bc1q...) and version 1 Taproot (bc1p..., 32 bytes) addresses are accepted."
                ),
                version=version,
                length=len(program),
            )
        )


def _wrong_bitcoin_network(network: str) -> AddressError:
    if network == BITCOIN:
        return AddressError(_("This is a Bitcoin testnet address; this wallet is on Bitcoin mainnet."))
    return AddressError(_("This is a Bitcoin mainnet address; this wallet is on Bitcoin testnet."))


def _normalize_bitcoin(network: str, address: str) -> str:
    lowered = address.lower()
    if lowered.startswith("bcrt1"):
        raise AddressError(_("Bitcoin regtest addresses (bcrt1...) are not accepted."))
    if lowered.startswith(("bc1", "tb1")):
        hrp = _SEGWIT_HRPS[network]
        if lowered.startswith(hrp + "1"):
            _ensure_spendable_only_by_key_holder(*decode_segwit(hrp, address))
            return lowered
        # Prefix of the other network: say so only if the address is otherwise valid.
        decode_segwit(_SEGWIT_HRPS[_OTHER_BITCOIN[network]], address)
        raise _wrong_bitcoin_network(network)
    if address.startswith(("0x", "0X")):
        raise AddressError(_("This looks like an Ethereum address, not a Bitcoin address."))
    payload = base58check_payload(address)
    if len(payload) != 21:
        raise AddressError(_("This is not a Bitcoin address (wrong length)."))
    version = payload[0]
    if version in BITCOIN_BASE58_VERSIONS[network]:
        return address
    if version in BITCOIN_BASE58_VERSIONS[_OTHER_BITCOIN[network]]:
        raise _wrong_bitcoin_network(network)
    if version == TRON_VERSION:
        raise AddressError(_("This is a Tron address, not a Bitcoin address."))
    raise AddressError(_("This is not a Bitcoin address (unknown version byte)."))


def to_checksum_address(hex40: str) -> str:
    """EIP-55 checksummed form of 40 hex digits (with or without ``0x``)."""
    digits = hex40[2:] if hex40[:2] in ("0x", "0X") else hex40
    digits = digits.lower()
    digest = keccak.new(digest_bits=256, data=digits.encode("ascii")).hexdigest()
    return "0x" + "".join(
        ch.upper() if ch.isalpha() and int(digest[i], 16) >= 8 else ch for i, ch in enumerate(digits)
    )


def _normalize_ethereum(address: str) -> str:
    if not _HEX_ADDRESS.match(address):
        if address.startswith("0X"):
            raise AddressError(_("Ethereum addresses start with a lower-case '0x'."))
        raise AddressError(_("An Ethereum address is '0x' followed by 40 hexadecimal digits (0-9, a-f)."))
    digits = address[2:]
    checksummed = to_checksum_address(digits)
    if digits == digits.lower() or digits == digits.upper():
        return checksummed
    if address != checksummed:
        raise AddressError(
            _(
                "The address capitalisation does not match its EIP-55 checksum; check it for "
                "typing or copying errors."
            )
        )
    return address


def _normalize_tron(address: str) -> str:
    if address.startswith(("0x", "0X")) or (len(address) == 42 and address[:2] == "41"):
        raise AddressError(_("Enter the Tron address in its base58 form, which starts with 'T'."))
    payload = base58check_payload(address)
    if len(payload) != 21 or payload[0] != TRON_VERSION:
        raise AddressError(_("This is not a Tron address (Tron addresses start with 'T')."))
    return address


def normalize_address(network: str, address: str) -> str:
    """Validate ``address`` for ``network`` and return its canonical form.

    Raises :class:`AddressError` with a user-facing reason when the address is not acceptable.
    """
    if network not in NETWORKS:
        raise AddressError(format_lazy(_("Unknown network '{network}'."), network=network))
    if not isinstance(address, str):
        raise AddressError(_("The address must be text."))
    if not address:
        raise AddressError(_("Enter an address."))
    if any(ch.isspace() for ch in address):
        raise AddressError(_("The address contains spaces or line breaks; remove spaces."))
    if network in (BITCOIN, BITCOIN_TESTNET):
        return _normalize_bitcoin(network, address)
    if network == ETHEREUM:
        return _normalize_ethereum(address)
    return _normalize_tron(address)
