"""Expected output against the real shipped epochs and halvings.

Every expected figure below was computed by hand with integers only, independently of the
selector: with ``target = mantissa · 256^(exponent − 3)`` from the epoch's bits,

    sats = H · Σ(seconds · (subsidy + fees)) · target / (0xFFFF · 2^208 · 2^32)

(difficulty × 2^32 = 0xFFFF·2^208·2^32 / target), then divmod and half-to-even rounding; the
float value is written next to it as a sanity check (1 EH/s at difficulty 16.1 T is 1/115 of
the network, so about 144 × 13 BTC / 115 ≈ 16.3 BTC a day in May 2020).
"""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mining.chaindata import MAX_TARGET, shipped_epochs, shipped_halvings, target_from_bits
from mining.expected import (
    ExpectedOutputError,
    expected_output,
    expected_output_between,
    local_day_bounds,
)

EPOCHS = shipped_epochs()
UTC = dt.UTC
EH = 10**18


def by_hand(hashrate: int, parts: list[tuple[int, int, int]], fees: int) -> int:
    """Independent integer computation: parts are (seconds, subsidy, bits)."""
    num = sum(hashrate * s * (sub + fees) * target_from_bits(bits) for s, sub, bits in parts)
    den = MAX_TARGET * 2**32
    q, r = divmod(num, den)
    return q + (1 if 2 * r > den or (2 * r == den and q % 2) else 0)


def out(day, hashrate, fees, tz="Asia/Almaty"):
    return expected_output(day=day, hashrate_hs=hashrate, fees_per_block_sats=fees, tz=tz, epochs=EPOCHS)


def test_the_2016_halving_day_in_almaty_is_split_at_block_420000():
    # Almaty was UTC+6: the day is 2016-07-08T18:00Z .. 2016-07-09T18:00Z. Block 420000 at
    # 16:46:13Z: 22 h 46 min 13 s = 81973 s at 25 BTC, then 1 h 13 min 47 s = 4427 s at 12.5 BTC,
    # all in epoch 208 (bits 180526fd, difficulty 213 398 925 331.32). 10 PH/s, 0.1 BTC fees:
    # 2 305 735 985.0636 sats -> 2 305 735 985.
    result = out(dt.date(2016, 7, 9), 10**16, 10_000_000)
    assert [(s.seconds, s.subsidy_sats, s.epoch) for s in result.segments] == [
        (81973, 2_500_000_000, 208),
        (4427, 1_250_000_000, 208),
    ]
    assert result.segments[1].start == dt.datetime(2016, 7, 9, 16, 46, 13, tzinfo=UTC)
    assert result.expected_sats == 2_305_735_985
    assert result.expected_sats == by_hand(
        10**16, [(81973, 2_500_000_000, 0x180526FD), (4427, 1_250_000_000, 0x180526FD)], 10_000_000
    )


def test_the_2020_halving_falls_on_the_12th_of_may_in_almaty():
    # Block 630000 at 2020-05-11T19:23:43Z is 01:23:43 on 12 May in Almaty (UTC+6), so the
    # local 11 May is whole at 12.5 BTC: 1 EH/s × 86400 s × (12.5 + 0.5) BTC / (16 104 807 485 529.38
    # × 2^32) = 1 623 834 244.445 -> 1 623 834 244.
    may_11 = out(dt.date(2020, 5, 11), EH, 50_000_000)
    assert [(s.seconds, s.subsidy_sats, s.epoch) for s in may_11.segments] == [(86400, 1_250_000_000, 312)]
    assert may_11.expected_sats == 1_623_834_244
    assert may_11.expected_sats == by_hand(EH, [(86400, 1_250_000_000, 0x17117A39)], 50_000_000)
    # 12 May: 18:00Z .. 19:23:43Z = 5023 s at 12.5 BTC, then 81377 s at 6.25 BTC:
    # 888 531 319.1525 -> 888 531 319.
    may_12 = out(dt.date(2020, 5, 12), EH, 50_000_000)
    assert [(s.seconds, s.subsidy_sats) for s in may_12.segments] == [
        (5023, 1_250_000_000),
        (81377, 625_000_000),
    ]
    assert may_12.expected_sats == 888_531_319
    assert may_12.expected_sats == by_hand(
        EH, [(5023, 1_250_000_000, 0x17117A39), (81377, 625_000_000, 0x17117A39)], 50_000_000
    )


def test_the_2024_halving_day_in_almaty():
    # Block 840000 at 2024-04-20T00:09:27Z = 05:09:27 in Almaty (UTC+5). Day 2024-04-19T19:00Z ..
    # 2024-04-20T19:00Z: 5 h 9 min 27 s = 18567 s at 6.25 BTC, then 67833 s at 3.125 BTC, all in
    # epoch 416 (86 388 558 925 171.02); 1 EH/s, 0.3 BTC fees: 95 392 857.107 -> 95 392 857.
    result = out(dt.date(2024, 4, 20), EH, 30_000_000)
    assert [(s.seconds, s.subsidy_sats, s.epoch) for s in result.segments] == [
        (18567, 625_000_000, 416),
        (67833, 312_500_000, 416),
    ]
    assert result.expected_sats == 95_392_857
    assert result.expected_sats == by_hand(
        EH, [(18567, 625_000_000, 0x17034219), (67833, 312_500_000, 0x17034219)], 30_000_000
    )


def test_every_halving_falls_inside_the_epoch_of_its_height():
    for halving in shipped_halvings():
        if halving.time is None:
            continue
        index = max(i for i, e in enumerate(EPOCHS) if e.start_height <= halving.height)
        assert EPOCHS[index].start_time < halving.time < EPOCHS[index + 1].start_time


def test_a_retarget_day_uses_both_difficulties():
    # Epoch 416 starts 2024-04-10T21:17:33Z = 02:17:33 on 11 April in Almaty (UTC+5 since March
    # 2024). Day 2024-04-10T19:00Z .. 2024-04-11T19:00Z: 8253 s of epoch 415 (83.13 T) then
    # 78147 s of epoch 416 (86.39 T), 6.25 BTC + 0.2 BTC fees, 1 EH/s: 150 758 564.036 -> 150 758 564.
    result = out(dt.date(2024, 4, 11), EH, 20_000_000)
    assert [(s.seconds, s.epoch, s.subsidy_sats) for s in result.segments] == [
        (8253, 415, 625_000_000),
        (78147, 416, 625_000_000),
    ]
    assert result.expected_sats == 150_758_564
    assert result.expected_sats == by_hand(
        EH, [(8253, 625_000_000, 0x170362D3), (78147, 625_000_000, 0x17034219)], 20_000_000
    )
    assert round(float(result.segments[1].difficulty), 2) == 86388558925171.02


def test_an_ordinary_day_is_one_segment():
    # 2019-01-20 in Almaty, epoch 277 (bits 172fd633), 50 PH/s, 12.5 BTC + 0.15 BTC:
    # 216 243 270.42 -> 216 243 270.
    result = out(dt.date(2019, 1, 20), 5 * 10**16, 15_000_000)
    assert len(result.segments) == 1 and result.segments[0].epoch == 277
    assert result.expected_sats == 216_243_270
    assert result.expected_sats == by_hand(5 * 10**16, [(86400, 1_250_000_000, 0x172FD633)], 15_000_000)


def test_the_day_kazakhstan_moved_to_utc_plus_5_has_25_hours():
    start, end = local_day_bounds(dt.date(2024, 2, 29), "Asia/Almaty")
    assert (end - start) == dt.timedelta(hours=25)
    assert out(dt.date(2024, 2, 29), EH, 0).seconds == 90000


def test_rounding_is_once_half_to_even():
    result = out(dt.date(2019, 1, 20), Decimal("0.5"), 0)
    assert result.rounding == "ROUND_HALF_EVEN"
    assert result.expected_sats == round(result.exact_sats) == 0
    assert result.exact_sats == sum(s.exact_sats for s in result.segments)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"day": dt.date(2009, 1, 3)}, "before the genesis block"),
        ({"tz": "Mars/Olympus"}, "Unknown time zone"),
        ({"hashrate_hs": -1}, "must not be negative"),
        ({"fees_per_block_sats": -1}, "must not be negative"),
        ({"day": dt.date(2025, 3, 1)}, "is not recorded"),
    ],
)
def test_it_refuses_what_it_cannot_compute(kwargs, message):
    args = {"day": dt.date(2019, 1, 20), "hashrate_hs": EH, "fees_per_block_sats": 0, "epochs": EPOCHS}
    with pytest.raises(ExpectedOutputError, match=message):
        expected_output(**(args | kwargs))


DAYS = st.dates(min_value=dt.date(2010, 1, 1), max_value=dt.date(2024, 12, 31))
RATES = st.integers(min_value=0, max_value=10**20)
FEES = st.integers(min_value=0, max_value=10**9)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(day=DAYS, rate=RATES, fees=FEES, cut=st.integers(min_value=1, max_value=86399))
def test_splitting_a_day_anywhere_sums_to_the_whole(day, rate, fees, cut):
    whole = out(day, rate, fees, tz="UTC")
    middle = whole.start + dt.timedelta(seconds=cut)
    parts = [
        expected_output_between(start=a, end=b, hashrate_hs=rate, fees_per_block_sats=fees, epochs=EPOCHS)
        for a, b in [(whole.start, middle), (middle, whole.end)]
    ]
    assert parts[0].exact_sats + parts[1].exact_sats == whole.exact_sats
    assert abs(parts[0].expected_sats + parts[1].expected_sats - whole.expected_sats) <= 1


@SETTINGS
@given(day=DAYS, rate=RATES, fees=FEES)
def test_doubling_the_hashrate_doubles_the_output(day, rate, fees):
    single, double = out(day, rate, fees), out(day, 2 * rate, fees)
    assert double.exact_sats == 2 * single.exact_sats
    assert abs(double.expected_sats - 2 * single.expected_sats) <= 1


@SETTINGS
@given(day=DAYS, rate=RATES, fees=FEES, more=st.integers(min_value=0, max_value=10**9))
def test_output_grows_with_fees(day, rate, fees, more):
    assert out(day, rate, fees + more).expected_sats >= out(day, rate, fees).expected_sats


def test_the_default_epochs_come_from_the_database(db):
    assert (
        expected_output(
            day=dt.date(2019, 1, 20), hashrate_hs=5 * 10**16, fees_per_block_sats=15_000_000
        ).expected_sats
        == 216_243_270
    )
    assert Fraction(1) == out(dt.date(2009, 1, 10), 1, 0).segments[0].difficulty
