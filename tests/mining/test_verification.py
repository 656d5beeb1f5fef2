import datetime as dt
from decimal import Decimal

import pytest

from mining import services
from mining.selectors import verify_report
from tests.mining.conftest import line_figures

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fees(settings):
    settings.MINING_DEFAULT_FEES_PER_BLOCK_SATS = 15_000_000


@pytest.fixture
def lines(report, mining_clerk):
    on_target = services.record_daily_line(report=report, actor=mining_clerk, **line_figures())
    short = services.record_daily_line(
        report=report,
        actor=mining_clerk,
        **line_figures(
            day=dt.date(2019, 1, 19),
            average_hashrate_hs=Decimal(4 * 10**16),
            btc_gross=150_000_000,
            pool_fees=3_000_000,
            btc_net=147_000_000,
            payout_txids=["cd" * 32],
        ),
    )
    return on_target, short


def test_a_day_on_target_is_within_tolerance(report, lines):
    # 2019-01-20, epoch 277, 50 PH/s, 12.5 + 0.15 BTC a block: expected 216 243 270.4228 sats
    # (see test_expected_output). Reported gross 216 000 000: deviation -243 270.42 sats,
    # -0.1125 % (5 % tolerance). Implied hashrate 216 000 000 × 5e16 / 216 243 270.4228 =
    # 49 943 750 752 956 191 H/s. Energy 120 MWh = 4.32e11 J over 50 000 TH × 86 400 s
    # = 100 J/TH; net 2.1168 BTC / 120 MWh = 0.01764 BTC/MWh; 2 400 000 KZT / 2.1168 BTC
    # = 1 133 786.8481 -> 1 133 786.85 KZT/BTC.
    result = verify_report(report)
    day = next(d for d in result.days if d.day == dt.date(2019, 1, 20))
    f = day.figures
    assert f.expected_sats == 216_243_270
    assert f.deviation_sats == -243_270
    assert f.deviation_percent == Decimal("-0.1125")
    assert f.implied_hashrate_hs == Decimal(49_943_750_752_956_191)
    assert f.j_per_th == Decimal("100.00")
    assert f.btc_per_mwh == Decimal("0.01764000")
    assert f.kzt_per_btc == Decimal("1133786.85")
    assert f.exceeds_tolerance is False


def test_a_short_day_exceeds_the_site_tolerance(report, lines):
    # 2019-01-19, 40 PH/s: expected 172 994 616 sats; 150 000 000 reported is -13.29 %.
    result = verify_report(report)
    short = next(d for d in result.days if d.day == dt.date(2019, 1, 19))
    assert short.figures.expected_sats == 172_994_616
    assert short.figures.deviation_percent == Decimal("-13.2921")
    assert short.figures.exceeds_tolerance is True
    assert result.exceeds_tolerance is True


def test_the_total_is_the_exact_sum_rounded_once(report, lines):
    # 216 243 270.4228 + 172 994 616.33 = 389 237 886.75 -> 389 237 887 (not 216 243 270 +
    # 172 994 616 = 389 237 886); gross 366 000 000: -5.9701 %, above the 5 % tolerance.
    result = verify_report(report)
    assert result.total.expected_sats == 389_237_887
    assert result.total.btc_gross == 366_000_000
    assert result.total.deviation_percent == Decimal("-5.9701")
    assert result.total.exceeds_tolerance is True
    assert result.total.energy_mwh == Decimal("240")
    assert result.missing_days == tuple(dt.date(2019, 1, d) for d in range(14, 19))


def test_a_day_without_known_difficulty_is_reported_not_guessed(site, fleet, mining_clerk):
    report = services.open_report(
        site=site, period_start=dt.date(2025, 3, 1), period_end=dt.date(2025, 3, 1), actor=mining_clerk
    )
    services.record_daily_line(report=report, actor=mining_clerk, **line_figures(day=dt.date(2025, 3, 1)))
    result = verify_report(report)
    assert result.days[0].figures.expected_sats is None
    assert "is not recorded" in result.days[0].error
    assert result.total.expected_sats is None
    assert result.days[0].figures.j_per_th == Decimal("100.00")
