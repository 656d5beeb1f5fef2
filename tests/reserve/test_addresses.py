"""Tests for reserve.addresses against the official BIP-173, BIP-350 and EIP-55 test vectors.

These tests need no database and no project settings: when Django is not set up (for example
``pytest -p no:django``), minimal settings are configured so lazy messages can be rendered.
"""

import contextlib

import pytest
from django.apps import apps
from django.conf import settings

# Under pytest-django the project is set up (apps ready) before collection; otherwise render the
# lazy messages with minimal settings. (Importing ``reserve`` sets DJANGO_SETTINGS_MODULE through
# reserve.celery, so that variable alone does not mean Django is usable.)
if not apps.ready and not settings.configured:
    settings.configure(USE_I18N=False)

from reserve.addresses import (  # noqa: E402
    AddressError,
    Encoding,
    bech32_decode,
    bech32_encode,
    convertbits,
    decode_segwit,
    encode_segwit,
    normalize_address,
    to_checksum_address,
)

BITCOIN_NETWORKS = ("bitcoin", "bitcoin-testnet")
HRP_NETWORK = {"bc": "bitcoin", "tb": "bitcoin-testnet"}


def message(exc_info) -> str:
    text = str(exc_info.value)
    assert text.strip(), "AddressError must carry a user-facing message"
    return text


def segwit_scriptpubkey(version: int, program: bytes) -> bytes:
    return bytes([version + 0x50 if version else 0, len(program)]) + program


# BIP-173 test vectors (https://github.com/bitcoin/bips/blob/master/bip-0173.mediawiki)

BIP173_VALID_BECH32 = [
    "A12UEL5L",
    "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
]

BIP173_INVALID_BECH32 = [
    "\x201nwldj5",  # HRP character out of range
    "\x7f1axkwrx",  # HRP character out of range
    "\x801eym55h",  # HRP character out of range
    # overall max length exceeded
    "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",
    "pzry9x0s0muk",  # No separator character
    "1pzry9x0s0muk",  # Empty HRP
    "x1b4n0q5v",  # Invalid data character
    "li1dgmt3",  # Too short checksum
    "de1lg7wt\xff",  # Invalid character in checksum
    "A1G7SGD8",  # checksum calculated with uppercase form of HRP
    "10a06t8",  # empty HRP
    "1qzzfhee",  # empty HRP
]

# Valid segwit addresses with their scriptPubKey. Only the witness v0 ones stay valid: BIP-350
# replaced the checksum of v1+ addresses by Bech32m (see BIP173_SEGWIT_V1_PLUS_BECH32 below).
BIP173_VALID_SEGWIT_V0 = [
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    (
        "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
        "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
    ),
    (
        "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
        "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
]

BIP173_SEGWIT_V1_PLUS_BECH32 = [
    "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",
    "BC1SW50QA3JX3S",
    "bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj",
]

BIP173_INVALID_SEGWIT = [
    "tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty",  # Invalid human-readable part
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",  # Invalid checksum
    "BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2",  # Invalid witness version
    "bc1rw5uspcuh",  # Invalid program length
    # Invalid program length
    "bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90",
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",  # Invalid program length for witness version 0
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7",  # Mixed case
    "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du",  # zero padding of more than 4 bits
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv",  # Non-zero padding
    "bc1gmk9yu",  # Empty data section
]

# BIP-350 test vectors (https://github.com/bitcoin/bips/blob/master/bip-0350.mediawiki)

BIP350_VALID_BECH32M = [
    "A1LQFN3A",
    "a1lqfn3a",
    "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
    "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
    "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
    "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
    "?1v759aa",
]

BIP350_INVALID_BECH32M = [
    "\x201xj0phk",  # HRP character out of range
    "\x7f1g6xzxy",  # HRP character out of range
    "\x801vctc34",  # HRP character out of range
    # overall max length exceeded
    "an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4",
    "qyrz8wqd2c9m",  # No separator character
    "1qyrz8wqd2c9m",  # Empty HRP
    "y1b0jsk6g",  # Invalid data character
    "lt1igcx5c0",  # Invalid data character
    "in1muywd",  # Too short checksum
    "mm1crxm3i",  # Invalid character in checksum
    "au1s5cgom",  # Invalid character in checksum
    "M1VUXWEZ",  # checksum calculated with uppercase form of HRP
    "16plkw9",  # empty HRP
    "1p2gdwpf",  # empty HRP
]

BIP350_VALID_SEGWIT = [
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    (
        "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
        "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
    ),
    (
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
        "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6",
    ),
    ("BC1SW50QGDZ25J", "6002751e"),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"),
    (
        "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
        "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
        "5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433",
    ),
    (
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
    ),
]

BIP350_INVALID_SEGWIT = [
    # Invalid human-readable part
    "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",
    # Invalid checksum (Bech32 instead of Bech32m)
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
    "tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",
    "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
    # Invalid checksum (Bech32m instead of Bech32)
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
    "tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",
    # Invalid character in checksum
    "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",
    # Invalid witness version
    "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",
    # Invalid program length (1 byte)
    "bc1pw5dgrnzv",
    # Invalid program length (41 bytes)
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
    # Invalid program length for witness version 0 (per BIP141)
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",
    # Mixed case
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq",
    # zero padding of more than 4 bits
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",
    # Non-zero padding in 8-to-5 conversion
    "tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j",
    # Empty data section
    "bc1gmk9yu",
]


# Checksum level (bech32_decode)


@pytest.mark.parametrize("string", BIP173_VALID_BECH32)
def test_bip173_valid_bech32_strings(string):
    hrp, data, spec = bech32_decode(string)
    assert spec is Encoding.BECH32
    assert hrp == string[: string.rfind("1")].lower()


@pytest.mark.parametrize("string", BIP350_VALID_BECH32M)
def test_bip350_valid_bech32m_strings(string):
    hrp, data, spec = bech32_decode(string)
    # No string is valid as both, so these also serve as invalid Bech32 vectors.
    assert spec is Encoding.BECH32M
    assert hrp == string[: string.rfind("1")].lower()


@pytest.mark.parametrize("string", BIP173_INVALID_BECH32 + BIP350_INVALID_BECH32M)
def test_invalid_bech32_and_bech32m_strings(string):
    with pytest.raises(AddressError) as exc_info:
        bech32_decode(string)
    message(exc_info)


@pytest.mark.parametrize("string", BIP173_VALID_BECH32 + BIP350_VALID_BECH32M)
def test_one_substituted_character_breaks_the_checksum(string):
    bech32_decode(string)
    last = string[-1].lower()
    replacement = "q" if last != "q" else "p"
    if string.isupper():
        replacement = replacement.upper()
    with pytest.raises(AddressError) as exc_info:
        bech32_decode(string[:-1] + replacement)
    assert "checksum" in message(exc_info)


# Segwit addresses (decode_segwit, and normalize_address for bc/tb)


def _decodes_for(address: str) -> dict[str, tuple[int, bytes]]:
    results = {}
    for hrp in ("bc", "tb"):
        with contextlib.suppress(AddressError):
            results[hrp] = decode_segwit(hrp, address)
    return results


@pytest.mark.parametrize(("address", "script_hex"), BIP173_VALID_SEGWIT_V0 + BIP350_VALID_SEGWIT)
def test_valid_segwit_addresses(address, script_hex):
    results = _decodes_for(address)
    assert len(results) == 1, "exactly one of bc/tb must accept the address"
    (hrp, (version, program)), *_ = results.items()
    assert segwit_scriptpubkey(version, program).hex() == script_hex
    assert encode_segwit(hrp, version, program) == address.lower()

    network = HRP_NETWORK[hrp]
    if (version, len(program)) not in {(0, 20), (0, 32), (1, 32)}:
        # Valid for BIP-350, but no soft fork gives it a meaning: anyone could spend it.
        with pytest.raises(AddressError) as exc_info:
            normalize_address(network, address)
        assert "anyone" in message(exc_info)
        return
    assert normalize_address(network, address) == address.lower()
    other = "bitcoin-testnet" if network == "bitcoin" else "bitcoin"
    with pytest.raises(AddressError) as exc_info:
        normalize_address(other, address)
    assert ("testnet" if network == "bitcoin-testnet" else "mainnet") in message(exc_info)


@pytest.mark.parametrize("address", BIP173_INVALID_SEGWIT + BIP350_INVALID_SEGWIT)
def test_invalid_segwit_addresses(address):
    for hrp in ("bc", "tb"):
        with pytest.raises(AddressError) as exc_info:
            decode_segwit(hrp, address)
        message(exc_info)
    for network in BITCOIN_NETWORKS:
        with pytest.raises(AddressError) as exc_info:
            normalize_address(network, address)
        message(exc_info)


@pytest.mark.parametrize("address", BIP173_SEGWIT_V1_PLUS_BECH32)
def test_bip173_v1_plus_bech32_addresses_are_rejected_after_bip350(address):
    hrp, data, spec = bech32_decode(address)
    assert hrp == "bc"
    assert spec is Encoding.BECH32
    assert data[0] != 0
    with pytest.raises(AddressError) as exc_info:
        decode_segwit("bc", address)
    assert "Bech32m" in message(exc_info)
    with pytest.raises(AddressError):
        normalize_address("bitcoin", address)


def test_regtest_addresses_are_rejected():
    address = bech32_encode("bcrt", [0] + convertbits(bytes(20), 8, 5), Encoding.BECH32)
    assert bech32_decode(address)[0] == "bcrt"
    for network in BITCOIN_NETWORKS:
        with pytest.raises(AddressError) as exc_info:
            normalize_address(network, address)
        assert "regtest" in message(exc_info)


def test_segwit_max_length_is_90():
    # A syntactically valid Bech32 string of 91 characters is refused on length alone.
    address = bech32_encode("a", [0] * 83, Encoding.BECH32)
    assert len(address) == 91
    with pytest.raises(AddressError):
        bech32_decode(address)


@pytest.mark.parametrize(
    ("frombits", "tobits", "pad", "data", "expected"),
    [
        (8, 5, True, [0xFF], [31, 28]),
        (5, 8, False, [31, 28], [0xFF]),
        (5, 8, False, [31, 29], None),  # non-zero padding
        (5, 8, False, [0, 0, 0], None),  # more than 4 bits of padding (7)
        (5, 8, False, [0], None),  # exactly 5 bits of padding
        (5, 8, False, [0, 0, 0, 0], [0, 0]),  # 4 zero bits of padding are allowed
        (5, 8, False, [0, 0, 0, 1], None),  # 4 bits of non-zero padding
        (8, 5, True, [256], None),  # value out of range
    ],
)
def test_convertbits(frombits, tobits, pad, data, expected):
    assert convertbits(data, frombits, tobits, pad) == expected


# Bitcoin Base58Check

BITCOIN_BASE58 = [
    ("bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),  # P2PKH
    ("bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),  # P2PKH (genesis coinbase)
    ("bitcoin", "1AGNa15ZQXAZUgFiqJ2i7Z2DPU2J6hW62i"),  # P2PKH
    ("bitcoin", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),  # P2SH
    ("bitcoin", "3CMNFxN1oHBc4R1EpboAL5yzHGgE611Xou"),  # P2SH
    ("bitcoin-testnet", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"),  # P2PKH
    ("bitcoin-testnet", "mo9ncXisMeAoXwqcV5EWuyncbmCcQN4rVs"),  # P2PKH
    ("bitcoin-testnet", "2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc"),  # P2SH
    ("bitcoin-testnet", "2N2JD6wb56AfK4tfmM6PwdVmoYk2dCKf4Br"),  # P2SH
]


@pytest.mark.parametrize(("network", "address"), BITCOIN_BASE58)
def test_bitcoin_base58_addresses(network, address):
    assert normalize_address(network, address) == address


@pytest.mark.parametrize(("network", "address"), BITCOIN_BASE58)
def test_bitcoin_base58_wrong_network(network, address):
    other = "bitcoin-testnet" if network == "bitcoin" else "bitcoin"
    with pytest.raises(AddressError) as exc_info:
        normalize_address(other, address)
    assert ("testnet" if network == "bitcoin-testnet" else "mainnet") in message(exc_info)


@pytest.mark.parametrize(
    ("network", "address"),
    [
        ("bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"),  # last character changed
        ("bitcoin", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz"),
        ("bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xjaNVN2"),  # case of one letter changed
        ("bitcoin-testnet", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfm"),
        ("bitcoin-testnet", "2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vd"),
    ],
)
def test_bitcoin_base58_corrupted_checksum(network, address):
    with pytest.raises(AddressError) as exc_info:
        normalize_address(network, address)
    assert "checksum" in message(exc_info)


@pytest.mark.parametrize(
    "address",
    [
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN0",  # '0' is not Base58
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVNl",  # 'l' is not Base58
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",  # Tron address
        "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb",  # Tron zero address
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",  # Ethereum address
        "1" * 200,  # too long
        "1",
    ],
)
def test_not_bitcoin_addresses(address):
    for network in BITCOIN_NETWORKS:
        with pytest.raises(AddressError) as exc_info:
            normalize_address(network, address)
        message(exc_info)


# Ethereum (EIP-55, https://eips.ethereum.org/EIPS/eip-55)

EIP55_VECTORS = [
    # All caps
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    # All lower
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
    # Normal
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]


@pytest.mark.parametrize("address", EIP55_VECTORS)
def test_eip55_vectors_are_canonical(address):
    assert to_checksum_address(address.lower()) == address
    assert normalize_address("ethereum", address) == address


@pytest.mark.parametrize("address", EIP55_VECTORS)
def test_ethereum_single_case_is_accepted_and_checksummed(address):
    digits = address[2:]
    assert normalize_address("ethereum", "0x" + digits.lower()) == address
    assert normalize_address("ethereum", "0x" + digits.upper()) == address


def _flip_first_letter(address: str) -> str:
    digits = list(address[2:])
    for i, ch in enumerate(digits):
        if ch.isalpha():
            digits[i] = ch.swapcase()
            return "0x" + "".join(digits)
    raise AssertionError("no letter to flip")


@pytest.mark.parametrize(
    "address",
    [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ],
)
def test_ethereum_case_flipped_checksum_fails(address):
    flipped = _flip_first_letter(address)
    assert flipped != address
    with pytest.raises(AddressError) as exc_info:
        normalize_address("ethereum", flipped)
    assert "checksum" in message(exc_info)


def test_ethereum_mixed_case_of_all_caps_vector_fails():
    # One letter lowered in an all-caps vector makes it mixed case with a wrong checksum.
    with pytest.raises(AddressError):
        normalize_address("ethereum", "0x52908400098527886e0F7030069857D2E4169EE7")


@pytest.mark.parametrize(
    "address",
    [
        "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",  # no 0x
        "0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",  # upper-case X
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",  # 39 digits
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd",  # 41 digits
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg",  # non-hex
        "0x",
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
    ],
)
def test_ethereum_malformed(address):
    with pytest.raises(AddressError) as exc_info:
        normalize_address("ethereum", address)
    message(exc_info)


# Tron


@pytest.mark.parametrize(
    "address",
    [
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",  # USDT (TRC-20) contract
        "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb",  # 0x41 followed by 20 zero bytes
    ],
)
def test_tron_addresses(address):
    assert normalize_address("tron", address) == address


@pytest.mark.parametrize(
    "address",
    [
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u",  # corrupted checksum
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6",  # truncated
        "tR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",  # case changed
        "41a614f803b6fd780986a42c78ec9c7f77e6ded13c",  # hex form
        "0xa614f803b6fd780986a42c78ec9c7f77e6ded13c",  # Ethereum-style hex
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",  # Bitcoin: valid Base58Check, wrong version
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    ],
)
def test_tron_invalid(address):
    with pytest.raises(AddressError) as exc_info:
        normalize_address("tron", address)
    message(exc_info)


def test_tron_corrupted_checksum_message():
    with pytest.raises(AddressError) as exc_info:
        normalize_address("tron", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u")
    assert "checksum" in message(exc_info)


# Common rules

GOOD = {
    "bitcoin": "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    "bitcoin-testnet": "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn",
    "ethereum": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "tron": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
}


@pytest.mark.parametrize("network", sorted(GOOD))
@pytest.mark.parametrize("wrap", [" {}", "{} ", "{}\n", "\t{}", "{}\u00a0"])
def test_surrounding_whitespace_is_an_error_not_stripped(network, wrap):
    with pytest.raises(AddressError) as exc_info:
        normalize_address(network, wrap.format(GOOD[network]))
    assert "space" in message(exc_info)


@pytest.mark.parametrize("network", sorted(GOOD))
def test_inner_space_is_an_error(network):
    address = GOOD[network]
    with pytest.raises(AddressError):
        normalize_address(network, address[:10] + " " + address[10:])


@pytest.mark.parametrize("network", sorted(GOOD))
@pytest.mark.parametrize("value", ["", None, 123, b"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"])
def test_empty_or_non_text(network, value):
    with pytest.raises(AddressError) as exc_info:
        normalize_address(network, value)
    message(exc_info)


@pytest.mark.parametrize("network", ["", "Bitcoin", "btc", "litecoin", "bitcoin-regtest", None])
def test_unknown_network(network):
    with pytest.raises(AddressError) as exc_info:
        normalize_address(network, GOOD["bitcoin"])
    message(exc_info)


def test_address_error_is_value_error():
    assert issubclass(AddressError, ValueError)


@pytest.mark.parametrize("network", sorted(GOOD))
def test_normalize_is_idempotent(network):
    once = normalize_address(network, GOOD[network])
    assert normalize_address(network, once) == once


@pytest.mark.parametrize(
    ("address", "accepted"),
    [
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", True),  # v0, 20 bytes (P2WPKH)
        ("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", True),  # v1, 32 bytes (P2TR)
        ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", False),  # v2: no soft fork yet
        ("BC1SW50QGDZ25J", False),  # v16
        ("bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y", False),  # v1, 40 bytes
    ],
)
def test_custody_addresses_refuse_witness_versions_without_meaning(address, accepted):
    if accepted:
        assert normalize_address("bitcoin", address) == address.lower()
        return
    with pytest.raises(AddressError) as exc_info:
        normalize_address("bitcoin", address)
    assert "anyone" in message(exc_info)
