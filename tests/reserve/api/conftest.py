"""Fixtures of the API tests: a maker client, approvers deciding through the API, a request
made through it, and fresh throttle counts for every test."""

import pytest
from django.core.cache import cache

from reserve.models import Scope
from tests.support.api import MAKER_SCOPES, Approver, bearer, client_with_token, post_transfer


@pytest.fixture(autouse=True)
def fresh_throttle_counts():
    """Throttle counts live in the cache, keyed by client id; ids repeat across tests."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def maker(team):
    """The court case system: makes requests through the API as its service user."""
    client, secret = client_with_token("court-system", [*MAKER_SCOPES, Scope.REQUESTS_DECIDE])
    return bearer(secret)


@pytest.fixture
def custody1(team):
    return Approver(team.custody1)


@pytest.fixture
def custody2(team):
    return Approver(team.custody2)


@pytest.fixture
def made(maker, funded_with_destination):
    response = post_transfer(maker)
    assert response.status_code == 201, response.json()
    return response.json()
