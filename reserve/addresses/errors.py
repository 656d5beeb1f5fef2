"""The networks custody addresses are validated for, and the one error every check raises."""

BITCOIN = "bitcoin"
BITCOIN_TESTNET = "bitcoin-testnet"
ETHEREUM = "ethereum"
TRON = "tron"
NETWORKS = (BITCOIN, BITCOIN_TESTNET, ETHEREUM, TRON)


class AddressError(ValueError):
    """An address that cannot be accepted; the message is safe to show to the user."""
