"""Bech32 and Bech32m (BIP-173, BIP-350), after the BIP-350 reference implementation
(sipa/bech32, ``ref/python/segwit_addr.py``), raising :class:`AddressError` with a reason
instead of returning ``None``."""

from __future__ import annotations

from enum import Enum

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from reserve.addresses.errors import AddressError

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
