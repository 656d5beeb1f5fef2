"""Property: whatever body an authenticated client sends to a write endpoint of the API, as JSON
or as arbitrary bytes, the answer is never a server error, and every 4xx carries the API's one
error body. Bounded: a few dozen examples per endpoint and method, no deadline."""

import json

import pytest
from django.urls import URLPattern
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reserve.api import urls as api_urls
from tests.support.api import new_key

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 40
WRITE_METHODS = ("post", "put", "patch")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=4)
    ),
    max_leaves=20,
)
#: Objects that look like the inputs: the real field names with arbitrary values.
FIELDS = [
    "asset",
    "amount",
    "from_wallet",
    "to_wallet",
    "category",
    "fee",
    "comment",
    "evidence",
    "action",
    "network",
    "address",
    "label",
    "counterparty",
    "verdict",
    "digest",
    "otp_token",
]
input_like = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6)


def write_endpoints() -> list[tuple[str, str]]:
    found = []
    for pattern in api_urls.urlpatterns:
        view = getattr(pattern.callback, "view_class", None) if isinstance(pattern, URLPattern) else None
        if view is None:
            continue
        for method in WRITE_METHODS:
            if hasattr(view, method):
                found.append((str(pattern.pattern), method))
    return found


ENDPOINTS = write_endpoints()


def test_the_write_endpoints_are_found():
    assert ("requests/transfers/", "post") in ENDPOINTS
    assert ("requests/<int:id>/decisions/", "post") in ENDPOINTS
    assert ("requests/<int:id>/payload", "patch") in ENDPOINTS


def call(api, route, method, made_request, body: bytes):
    url = "/api/v1/" + route.replace("<int:id>", str(made_request["id"]))
    response = getattr(api, method)(
        url,
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
        HTTP_IF_MATCH=made_request["etag"],
    )
    assert response.status_code < 500, (url, body[:200], response.content[:300])
    if 400 <= response.status_code < 500:
        payload = response.json()
        assert set(payload) == {"code", "message", "errors"}, payload
    return response


@pytest.mark.slow
@pytest.mark.parametrize(("route", "method"), ENDPOINTS)
def test_any_json_body_is_answered_without_a_server_error(maker, made, route, method):
    maker.raise_request_exception = False

    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
    )
    @given(st.one_of(json_values, input_like))
    def run(value):
        call(maker, route, method, made, json.dumps(value).encode())

    run()


@pytest.mark.slow
@pytest.mark.parametrize(("route", "method"), ENDPOINTS)
def test_any_bytes_are_answered_without_a_server_error(maker, made, route, method):
    maker.raise_request_exception = False

    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
    )
    @given(st.binary(max_size=200))
    def run(body):
        call(maker, route, method, made, body)

    run()
