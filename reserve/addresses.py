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
from enum import Enum

import base58
from Crypto.Hash import keccak
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

BITCOIN = "bitcoin"
BITCOIN_TESTNET = "bitcoin-testnet"
ETHEREUM = "ethereum"
TRON = "tron"
NETWORKS = (BITCOIN, BITCOIN_TESTNET, ETHEREUM, TRON)


class AddressError(ValueError):
    """An address that cannot be accepted; the message is safe to show to the user."""


# --------------------------------------------------------------------------------------------
# Bech32 / Bech32m (BIP-173, BIP-350)
# --------------------------------------------------------------------------------------------

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32_CONST = 1
BECH32M_CONST = 0x2BC830A3
BECH32_MAX_LENGTH = 90
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


class Encoding(Enum):
    """Which checksum constant a Bech32-family string verified with."""

    BECH32 = 1
    BECH32M = 2


def bech32_polymod(values: list[int]) -> int:
    """Internal function that computes the Bech32 checksum."""
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= _GEN[i] if ((top >> i) & 1) else 0
    return chk


def bech32_hrp_expand(hrp: str) -> list[int]:
    """Expand the HRP into values for checksum computation."""
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def bech32_verify_checksum(hrp: str, data: list[int]) -> Encoding | None:
    """Return the encoding whose checksum ``data`` carries, or None if neither matches."""
    check = bech32_polymod(bech32_hrp_expand(hrp) + data)
    if check == BECH32_CONST:
        return Encoding.BECH32
    if check == BECH32M_CONST:
        return Encoding.BECH32M
    return None


def bech32_create_checksum(hrp: str, data: list[int], spec: Encoding) -> list[int]:
    """Compute the checksum values given HRP and data."""
    const = BECH32M_CONST if spec == Encoding.BECH32M else BECH32_CONST
    polymod = bech32_polymod(bech32_hrp_expand(hrp) + data + [0, 0, 0, 0, 0, 0]) ^ const
    return [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]


def bech32_encode(hrp: str, data: list[int], spec: Encoding) -> str:
    """Compute a Bech32 or Bech32m string given HRP and 5-bit data values."""
    combined = data + bech32_create_checksum(hrp, data, spec)
    return hrp + "1" + "".join(CHARSET[d] for d in combined)


def bech32_decode(bech: str) -> tuple[str, list[int], Encoding]:
    """Validate a Bech32/Bech32m string; return ``(hrp, data without checksum, encoding)``.

    The returned HRP is lower case. Raises :class:`AddressError` with the reason on failure.
    """
    if not isinstance(bech, str):
        raise AddressError(_("The address must be text."))
    if any(ord(x) < 33 or ord(x) > 126 for x in bech):
        raise AddressError(_("The address contains characters that are not allowed."))
    if bech.lower() != bech and bech.upper() != bech:
        raise AddressError(_("The address mixes upper-case and lower-case letters; use one case only."))
    if len(bech) > BECH32_MAX_LENGTH:
        raise AddressError(_("The address is too long."))
    bech = bech.lower()
    pos = bech.rfind("1")
    if pos < 0:
        raise AddressError(_("The address has no separator character '1'."))
    if pos == 0:
        raise AddressError(_("The address has no prefix before the separator '1'."))
    if pos + 7 > len(bech):
        raise AddressError(_("The address is too short."))
    if not all(x in CHARSET for x in bech[pos + 1 :]):
        raise AddressError(
            _(
                "The address contains a character that cannot appear after the prefix "
                "(the letters b, i, o and the digit 1 are never used)."
            )
        )
    hrp = bech[:pos]
    data = [CHARSET.find(x) for x in bech[pos + 1 :]]
    spec = bech32_verify_checksum(hrp, data)
    if spec is None:
        raise AddressError(_("The address checksum does not match; check it for typing or copying errors."))
    return hrp, data[:-6], spec


def convertbits(data: list[int] | bytes, frombits: int, tobits: int, pad: bool = True):
    """General power-of-2 base conversion; returns a list of ints or None if invalid."""
    acc = 0
    bits = 0
    ret: list[int] = []
    maxv = (1 << tobits) - 1
    max_acc = (1 << (frombits + tobits - 1)) - 1
    for value in data:
        if value < 0 or (value >> frombits):
            return None
        acc = ((acc << frombits) | value) & max_acc
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            ret.append((acc >> bits) & maxv)
    if pad:
        if bits:
            ret.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        return None
    return ret


def decode_segwit(hrp: str, addr: str) -> tuple[int, bytes]:
    """Decode a segwit address for ``hrp``; return ``(witness version, witness program)``.

    Applies every BIP-173/BIP-350 rule; raises :class:`AddressError` with the reason otherwise.
    """
    hrpgot, data, spec = bech32_decode(addr)
    if hrpgot != hrp:
        raise AddressError(format_lazy(_("The address prefix must be '{expected}1'."), expected=hrp))
    if not data:
        raise AddressError(_("The address has no witness version or program."))
    decoded = convertbits(data[1:], 5, 8, False)
    if decoded is None:
        raise AddressError(_("The address has invalid padding bits."))
    if len(decoded) < 2 or len(decoded) > 40:
        raise AddressError(_("The address has an invalid witness program length."))
    version = data[0]
    if version > 16:
        raise AddressError(_("The address has an invalid witness version."))
    if version == 0 and len(decoded) not in (20, 32):
        raise AddressError(_("The address has an invalid program length for witness version 0."))
    if (version == 0 and spec != Encoding.BECH32) or (version != 0 and spec != Encoding.BECH32M):
        raise AddressError(
            _(
                "The address checksum type does not match its witness version (version 0 uses "
                "Bech32, versions 1 to 16 use Bech32m)."
            )
        )
    return version, bytes(decoded)


def encode_segwit(hrp: str, witver: int, witprog: bytes) -> str:
    """Encode a segwit address (lower case); raises AddressError if the result is invalid."""
    spec = Encoding.BECH32 if witver == 0 else Encoding.BECH32M
    five_bit = convertbits(witprog, 8, 5)
    if five_bit is None:
        raise AddressError(_("Invalid witness program."))
    address = bech32_encode(hrp, [witver] + five_bit, spec)
    decode_segwit(hrp, address)
    return address


# --------------------------------------------------------------------------------------------
# Base58Check (Bitcoin legacy, Tron)
# --------------------------------------------------------------------------------------------

BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_CHARS = frozenset(BASE58_ALPHABET)
_BASE58_MAX_LENGTH = 50  # well above any address here; bounds the quadratic decode

BITCOIN_BASE58_VERSIONS = {
    BITCOIN: frozenset({0x00, 0x05}),
    BITCOIN_TESTNET: frozenset({0x6F, 0xC4}),
}
TRON_VERSION = 0x41


def _base58check_payload(address: str) -> bytes:
    if len(address) > _BASE58_MAX_LENGTH:
        raise AddressError(_("The address is too long."))
    if any(ch not in _BASE58_CHARS for ch in address):
        raise AddressError(
            _(
                "The address contains a character that is not used in this address format "
                "(0, O, I and l never appear)."
            )
        )
    try:
        return base58.b58decode_check(address)
    except ValueError:
        raise AddressError(_("The address checksum does not match; check it for typing or copying errors."))


# --------------------------------------------------------------------------------------------
# Per-network validation
# --------------------------------------------------------------------------------------------

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
    payload = _base58check_payload(address)
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
    payload = _base58check_payload(address)
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
