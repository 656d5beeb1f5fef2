"""Fixtures of the mining API tests: a site's integration client, people by role, and a body
for one day."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from reserve.models import Scope
from tests.support.api import bearer, client_with_token
from tests.support.factories import UserFactory


@pytest.fixture(autouse=True)
def fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def site_client(site, fleet):
    """The site's integration: a service user in the Integration client group, ``mining:write``,
    named by the site as its reporting client."""
    from mining.services import link_reporting_client

    client, secret = client_with_token("ekibastuz-dc1", [Scope.MINING_WRITE])
    link_reporting_client(site=site, client=client, actor=None)
    return bearer(secret)


def session(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def clerk_session(mining_clerk, fleet):
    return session(mining_clerk)


@pytest.fixture
def auditor_session(db):
    return session(UserFactory(username="auditor", roles=["Auditor"]))


@pytest.fixture
def treasury_session(db):
    return session(UserFactory(username="treasurer", roles=["Treasury officer"]))


@pytest.fixture
def outsider_session(db):
    return session(UserFactory(username="intake-clerk", roles=["Intake clerk"]))


def day_body(**overrides) -> dict:
    body = {
        "day": "2019-01-20",
        "average_hashrate_hs": "50000000000000000",
        "uptime_percent": "98.5",
        "energy_mwh": "120",
        "curtailment_mwh": "3.5",
        "btc_gross": 216_000_000,
        "pool_fees": 4_320_000,
        "btc_net": 211_680_000,
        "energy_cost_kzt": "2400000.00",
        "payout_txids": ["ab" * 32],
    }
    return body | overrides
