"""Base58Check payloads (Bitcoin legacy addresses, Tron), with the reason when one is refused."""

from __future__ import annotations

import base58
from django.utils.translation import gettext_lazy as _

from reserve.addresses.errors import BITCOIN, BITCOIN_TESTNET, AddressError

BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_CHARS = frozenset(BASE58_ALPHABET)
_BASE58_MAX_LENGTH = 50  # well above any address here; bounds the quadratic decode

BITCOIN_BASE58_VERSIONS = {
    BITCOIN: frozenset({0x00, 0x05}),
    BITCOIN_TESTNET: frozenset({0x6F, 0xC4}),
}
TRON_VERSION = 0x41


def base58check_payload(address: str) -> bytes:
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
