"""The shared HTTP client: bounded tries inside a time budget, failures classified, Decimal JSON."""

from decimal import Decimal

import httpx
import pytest

from reserve.external.http import Failure, Http, Limits, SourceError, parse_retry_after
from tests.reserve.pricing.support import FakeClock, Recorder


def client(recorder: Recorder, clock: FakeClock, **limits) -> Http:
    return Http(
        "https://provider.test",
        limits=Limits(**limits),
        transport=recorder.transport,
        sleep=clock.sleep,
        clock=clock.monotonic,
    )


def ok() -> httpx.Response:
    return httpx.Response(200, json={"price": "1.5"})


def test_a_5xx_is_retried_and_a_later_answer_is_taken():
    clock, recorder = FakeClock(), Recorder(httpx.Response(503), httpx.Response(502), ok())
    response, body = client(recorder, clock, attempts=3, backoff=0.5).get_json("/p")
    assert body == {"price": "1.5"}
    assert len(recorder.requests) == 3
    assert clock.waits == [0.5, 1.0]  # doubled


def test_tries_are_bounded_and_the_last_failure_is_raised():
    clock, recorder = FakeClock(), Recorder(httpx.Response(500))
    with pytest.raises(SourceError) as caught:
        client(recorder, clock, attempts=4, budget=100).get_json("/p")
    assert caught.value.failure is Failure.HTTP_ERROR
    assert caught.value.status == 500
    assert len(recorder.requests) == 4
    assert len(clock.waits) == 3


def test_the_time_budget_stops_the_tries_before_the_attempts_run_out():
    clock, recorder = FakeClock(), Recorder(httpx.ReadTimeout("slow"))
    with pytest.raises(SourceError) as caught:
        client(recorder, clock, attempts=10, backoff=1.0, budget=4.0).get_json("/p")
    assert caught.value.failure is Failure.TIMEOUT
    # waits 1 + 2 fit in 4 s; a third wait of 4 would end past the deadline
    assert clock.waits == [1.0, 2.0]
    assert len(recorder.requests) == 3
    assert sum(clock.waits) <= 4.0


def test_a_429_is_not_retried_and_keeps_retry_after():
    clock = FakeClock()
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "30"}), ok())
    with pytest.raises(SourceError) as caught:
        client(recorder, clock).get_json("/p")
    assert caught.value.failure is Failure.RATE_LIMITED
    assert caught.value.retry_after == 30.0
    assert len(recorder.requests) == 1
    assert clock.waits == []


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (httpx.ConnectError("refused"), Failure.UNREACHABLE),
        (httpx.ReadTimeout("slow"), Failure.TIMEOUT),
        (httpx.ConnectTimeout("slow"), Failure.TIMEOUT),
    ],
)
def test_transport_failures_are_classified_and_retried(error, failure):
    clock, recorder = FakeClock(), Recorder(error)
    with pytest.raises(SourceError) as caught:
        client(recorder, clock, attempts=2).get_json("/p")
    assert caught.value.failure is failure
    assert len(recorder.requests) == 2


def test_a_4xx_other_than_429_is_returned_to_the_adapter_untried_again():
    clock, recorder = FakeClock(), Recorder(httpx.Response(400, json={"code": -1121}))
    response, body = client(recorder, clock).get_json("/p")
    assert response.status_code == 400 and body == {"code": -1121}
    assert len(recorder.requests) == 1


def test_json_numbers_are_decimals_never_floats():
    recorder = Recorder(httpx.Response(200, content=b'{"usd": 7984.89, "n": 3}'))
    _, body = client(recorder, FakeClock()).get_json("/p")
    assert body["usd"] == Decimal("7984.89") and isinstance(body["usd"], Decimal)
    assert body["n"] == 3


@pytest.mark.parametrize("content", [b'{"usd": 79', b"<html>oops</html>", b'{"usd": NaN}', b"\xff\xfe"])
def test_a_body_that_is_not_json_is_malformed(content):
    recorder = Recorder(httpx.Response(200, content=content))
    with pytest.raises(SourceError) as caught:
        client(recorder, FakeClock()).get_json("/p")
    assert caught.value.failure is Failure.MALFORMED


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30.0),
        (" 1.5 ", 1.5),
        (None, None),
        ("", None),
        ("-1", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
    ],
)
def test_retry_after_is_read_in_seconds_only(value, seconds):
    assert parse_retry_after(value) == seconds
