"""The services behind the API's submissions: idempotency per (site, day), draft corrections and
all-or-nothing bulk, called directly."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from mining import services
from mining.models import DailyLine, OutputReport, ReportState
from reserve.models import AuditEvent
from tests.mining.conftest import line_figures


def _figures(**overrides):
    figures = line_figures(**overrides)
    return figures.pop("day"), figures


def test_submitting_a_day_twice_with_the_same_figures_writes_once(site, fleet, report, mining_clerk):
    day, figures = _figures()
    first, outcome1 = services.submit_daily_line(site=site, day=day, actor=mining_clerk, **figures)
    second, outcome2 = services.submit_daily_line(site=site, day=day, actor=mining_clerk, **figures)

    assert (outcome1, outcome2) == ("recorded", "unchanged")
    assert first.pk == second.pk
    assert AuditEvent.objects.filter(action__startswith="mining.line.").count() == 1


def test_correcting_a_line_past_draft_is_refused(site, fleet, report, mining_clerk):
    day, figures = _figures()
    line = services.record_daily_line(report=report, day=day, actor=mining_clerk, **figures)
    OutputReport.objects.filter(pk=report.pk).update(state=ReportState.VERIFIED)

    with pytest.raises(ValidationError) as refused:
        services.correct_daily_line(line=line, actor=mining_clerk, **(figures | {"uptime_percent": 90}))

    assert refused.value.error_dict["report"][0].code == "not_draft"


def test_a_correction_is_checked_like_a_new_line(site, fleet, report, mining_clerk):
    day, figures = _figures()
    line = services.record_daily_line(report=report, day=day, actor=mining_clerk, **figures)

    with pytest.raises(ValidationError) as refused:
        services.correct_daily_line(line=line, actor=mining_clerk, **(figures | {"uptime_percent": 101}))

    assert "uptime_percent" in refused.value.error_dict
    line.refresh_from_db()
    assert line.uptime_percent == figures["uptime_percent"]


def test_a_correction_without_changes_records_nothing(site, fleet, report, mining_clerk):
    day, figures = _figures()
    line = services.record_daily_line(report=report, day=day, actor=mining_clerk, **figures)

    services.correct_daily_line(line=line, actor=mining_clerk, **figures)

    assert not AuditEvent.objects.filter(action="mining.line.corrected").exists()
    assert line.history.count() == 1


def test_a_year_of_days_goes_in_at_once(site, fleet, mining_clerk):
    start = dt.date(2018, 1, 1)
    days = [line_figures(day=start + dt.timedelta(days=i)) for i in range(366)]

    results = services.submit_daily_lines(site=site, days=days, actor=mining_clerk)

    assert len(results) == 366
    assert DailyLine.objects.count() == 366
    assert OutputReport.objects.count() == 13  # the twelve months of 2018 and January 2019


def test_one_refused_day_leaves_nothing_behind(site, fleet, mining_clerk):
    days = [line_figures(day=dt.date(2018, 3, 1)), line_figures(day=dt.date(2018, 3, 2), btc_net=5)]

    with pytest.raises(services.DaysRefused) as refused:
        services.submit_daily_lines(site=site, days=days, actor=mining_clerk)

    assert list(refused.value.errors) == [1]
    assert not refused.value.conflicts_only
    assert not DailyLine.objects.exists() and not OutputReport.objects.exists()
