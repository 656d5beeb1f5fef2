"""Property-based run of schemathesis against the API's own OpenAPI schema (issue #4).

Every operation is called with generated valid and invalid input, with a bearer token of a
client holding every scope, over a small fund (wallets, balances, pending requests). Each reply
must not be a server error and must conform to the schema (status code, content type, headers,
body). Bounded: a few dozen examples per operation, no deadline.
"""

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from reserve.approvals.services import create_request
from reserve.wsgi import application
from tests.support.api import ALL_SCOPES, client_with_token
from tests.support.factories import WalletAddressFactory, WalletFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

MAX_EXAMPLES = 50
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

config = schemathesis.Config.from_dict(
    {
        "seed": 20260131,
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES},
        # No crash cache in the checkout (it would leave an untracked .schemathesis/ folder).
        "cache": {"enabled": False},
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=config)


@pytest.fixture
def in_test_transaction():
    """Keep the WSGI app from closing the test's database connection after each call, as
    Django's test client does (schemathesis calls the WSGI app directly)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token(in_test_transaction, settings, team, asset, wallet, other_wallet, fund_in):
    """A small fund and the token of a client with every scope, acting as a custody officer."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api_client": None}}
    WalletAddressFactory(wallet=wallet, address="bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
    WalletFactory(code="hot-1")
    fund_in(wallet, asset, 5 * 10**8, label="Court order 2-15/2026")
    for amount in ("0.1", "0.2"):
        create_request(
            kind="reserve.transfer",
            payload={
                "asset": "BTC",
                "amount": amount,
                "from_wallet": wallet.code,
                "to_wallet": other_wallet.code,
                "category": "reserve:forfeited",
            },
            maker=team.maker,
        )
    _client, secret = client_with_token("schemathesis", ALL_SCOPES, user=team.custody1)
    return secret


@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    derandomize=True,
)
def test_the_api_keeps_its_schema(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
