"""Paths and calls of the mining API tests."""

from tests.support.api import new_key


def days_path(site) -> str:
    return f"/api/v1/mining/sites/{site.pk}/days/"


def bulk_path(site) -> str:
    return f"/api/v1/mining/sites/{site.pk}/days/bulk/"


def post(api, path, body, key=None):
    return api.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key or new_key())
