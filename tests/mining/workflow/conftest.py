"""Setup shared by the report workflow, sweep and entry-point tests: a week's report on target, recorded, and the
steps that take it towards ``posted``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings

from mining import services
from mining.expected import expected_output
from mining.transitions import record_verification, request_acceptance, submit_report
from tests.mining.conftest import line_figures

HASHRATE = Decimal(5 * 10**16)
WEEK = [dt.date(2019, 1, 14) + dt.timedelta(days=i) for i in range(7)]


def on_target(site, day: dt.date, *, factor: Decimal = Decimal(1)) -> dict:
    """A day whose gross output is the expected output (× ``factor``), 2 % pool fee."""
    expected = expected_output(
        day=day,
        hashrate_hs=HASHRATE,
        fees_per_block_sats=settings.MINING_DEFAULT_FEES_PER_BLOCK_SATS,
        tz=site.timezone,
    ).expected_sats
    gross = int(expected * factor)
    fees = gross // 50
    return line_figures(
        day=day,
        average_hashrate_hs=HASHRATE,
        btc_gross=gross,
        pool_fees=fees,
        btc_net=gross - fees,
        payout_txids=[f"{day.toordinal():064x}"],
    )


def record_week(report, clerk, *, short_day: dt.date | None = None, days=WEEK) -> list:
    lines = []
    for day in days:
        factor = Decimal("0.8") if day == short_day else Decimal(1)
        lines.append(
            services.record_daily_line(
                report=report, actor=clerk, **on_target(report.site, day, factor=factor)
            )
        )
    return lines


@pytest.fixture(autouse=True)
def fees(settings):
    settings.MINING_DEFAULT_FEES_PER_BLOCK_SATS = 15_000_000


@pytest.fixture
def week(report, mining_clerk, asset):
    """The report with a line on target for each of its seven days."""
    return record_week(report, mining_clerk)


@pytest.fixture
def verified(report, week, mining_clerk):
    submit_report(report=report, actor=mining_clerk)
    return record_verification(report=report, actor=mining_clerk)


@pytest.fixture
def acceptance(team, verified, report, mining_clerk):
    return request_acceptance(report=report, maker=mining_clerk)


@pytest.fixture
def posted(team, acceptance, approve):
    """The week accepted by two treasury officers and posted to ``reserve:mined``."""
    approve(acceptance, team.treasury1)
    approve(acceptance, team.treasury2)
    acceptance.refresh_from_db()
    assert acceptance.status == "executed", acceptance.result
    return acceptance
