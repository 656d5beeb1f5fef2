"""Hostile request bodies answer a 4xx with the API's one error body, never a server error:
lone surrogates, deep nesting, NaN, oversized bodies (reproduced first: each was a 500 or
Django's HTML 400 before the strict parser and the size limit)."""

import pytest

from tests.support.api import TRANSFERS, assert_error_body, new_key


def post_raw(api, url, body, **headers):
    return api.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=new_key(), **headers)


@pytest.mark.parametrize(
    "body",
    [
        '{"asset": "BTC", "comment": "\\ud800"}',
        '{"ignored": "\\udfff"}',
        '{"\\ud800": 1}',
        '{"evidence": [{"label": "a\\ud800b"}]}',
    ],
    ids=["comment", "ignored-field", "key", "nested"],
)
def test_a_lone_surrogate_anywhere_in_the_body_is_malformed(maker, funded_with_destination, body):
    response = post_raw(maker, TRANSFERS, body)

    assert response.status_code == 400
    assert_error_body(response.json(), "malformed")


def test_a_lone_surrogate_in_a_decision_is_malformed(maker, made):
    body = '{"verdict": "approve", "digest": "' + made["digest"] + '", "comment": "\\ud800"}'

    response = post_raw(maker, f"/api/v1/requests/{made['id']}/decisions/", body)

    assert response.status_code == 400
    assert_error_body(response.json(), "malformed")


def test_a_surrogate_pair_is_an_ordinary_character(maker, funded_with_destination):
    response = post_raw(maker, TRANSFERS, '{"asset": "BTC", "amount": "1", "comment": "\\ud83d\\ude00"}')

    assert response.status_code == 400
    assert_error_body(response.json(), "invalid")


@pytest.mark.parametrize("body", ["[" * 100_000, "{" * 50_000, '{"a":' * 33 + "1" + "}" * 33])
def test_deep_nesting_is_malformed(maker, funded_with_destination, body):
    response = post_raw(maker, TRANSFERS, body)

    assert response.status_code == 400
    assert_error_body(response.json(), "malformed")


def test_brackets_inside_strings_do_not_count_as_nesting(maker, funded_with_destination):
    response = post_raw(maker, TRANSFERS, '{"asset": "BTC", "comment": "' + "[" * 100 + '\\" ]"}')

    assert response.status_code == 400
    assert_error_body(response.json(), "invalid")


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_malformed(maker, funded_with_destination, value):
    response = post_raw(maker, TRANSFERS, '{"asset": "BTC", "amount": ' + value + "}")

    assert response.status_code == 400
    assert_error_body(response.json(), "malformed")


@pytest.mark.parametrize("body", [b"\xff\xfe{", b"{not json"])
def test_bytes_that_are_not_json_are_malformed(maker, funded_with_destination, body):
    response = post_raw(maker, TRANSFERS, body)

    assert response.status_code == 400
    assert_error_body(response.json(), "malformed")


@pytest.mark.parametrize("size", [1024 * 1024 + 1, 3 * 1024 * 1024])
def test_a_body_over_the_limit_is_too_large(maker, funded_with_destination, size):
    body = '{"comment": "' + "a" * (size - 15) + '"}'

    response = post_raw(maker, TRANSFERS, body)

    assert response.status_code == 413
    assert_error_body(response.json(), "too_large")


def test_a_body_within_the_limit_is_read(maker, funded_with_destination):
    response = post_raw(maker, TRANSFERS, '{"comment": "' + "a" * 900_000 + '"}')

    assert response.status_code == 400
    assert_error_body(response.json(), "invalid")


def test_the_limit_is_a_setting(maker, funded_with_destination, settings):
    settings.API_MAX_BODY_SIZE = 100

    response = post_raw(maker, TRANSFERS, '{"comment": "' + "a" * 200 + '"}')

    assert response.status_code == 413
