"""Callers of intake's API: a court system's token, a clerk's session, an auditor, an outsider."""

import datetime as dt

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from intake import services
from intake.models import OrderKind
from reserve.models import Scope
from tests.support.api import bearer, client_with_token, new_key
from tests.support.factories import UserFactory

CASES = "/api/v1/intake/cases/"
ORDERS = "/api/v1/intake/orders/"
ITEMS = "/api/v1/intake/items/"
TXID = "ab" * 32


@pytest.fixture(autouse=True)
def fresh_throttle_counts():
    cache.clear()


@pytest.fixture
def court_system(db):
    """A court case system's token with ``intake:write``."""
    _client, secret = client_with_token("court-system", [Scope.INTAKE_WRITE])
    return bearer(secret)


@pytest.fixture
def reader_token(db):
    """A token without ``intake:write``."""
    _client, secret = client_with_token("holdings-reader", [Scope.HOLDINGS_READ])
    return bearer(secret)


def session(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def clerk_api(clerk):
    return session(clerk)


@pytest.fixture
def auditor_api(auditor):
    return session(auditor)


@pytest.fixture
def outsider_api(db):
    return session(UserFactory(username="outsider"))


def post(api, path, body, key=None, **extra):
    return api.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key or new_key(), **extra)


def case_body(**overrides):
    return {
        "court": "astana-sic",
        "number": "2-15/2026",
        "investigating_authority": "Anti-Corruption Agency",
        "opened_on": "2026-01-10",
        **overrides,
    }


def order_body(case_id, **overrides):
    return {
        "case": case_id,
        "court_reference": "KZ-SIC-2026-000123",
        "kind": "arrest",
        "number": "A-1",
        "issued_on": "2026-01-12",
        **overrides,
    }


@pytest.fixture
def api_order(case, clerk):
    return services.record_order(
        case=case,
        kind=OrderKind.ARREST,
        number="A-7",
        issued_on=dt.date(2026, 1, 12),
        court_reference="KZ-SIC-2026-000007",
        actor=clerk,
    )


@pytest.fixture
def item_body(api_order, asset, wallet):
    from tests.support.factories import random_address

    address = random_address("bitcoin")

    def make(**overrides):
        return {
            "order": api_order.pk,
            "asset": asset.symbol,
            "claimed_amount": "0.5",
            "source_kind": "address",
            "source_address": address,
            "txid": TXID,
            "vout": 0,
            "custody_wallet": wallet.code,
            **overrides,
        }

    return make
