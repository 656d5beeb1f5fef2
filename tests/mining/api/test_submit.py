"""Submitting daily output: one day, idempotency per (site, day), draft corrections, bulk."""

import datetime as dt

from mining import services
from mining.models import DailyLine, OutputReport, ReportState
from reserve.models import AuditEvent
from tests.mining.api.conftest import day_body
from tests.mining.api.helpers import bulk_path, days_path, post
from tests.support.api import assert_error_body


def _events(action):
    return AuditEvent.objects.filter(action=action).count()


def test_a_site_submits_a_day_into_the_report_covering_it(site_client, site, report):
    response = post(site_client, days_path(site), day_body())

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["outcome"] == "recorded"
    assert body["line"]["report"] == report.pk
    assert body["line"]["btc_gross"] == 216_000_000
    assert body["line"]["btc_gross_btc"] == "2.16000000"
    assert body["line"]["uptime_percent"] == "98.5"
    assert DailyLine.objects.get().report == report


def test_a_day_no_report_covers_opens_a_draft_for_its_month(site_client, site):
    response = post(site_client, days_path(site), day_body(day="2019-02-10"))

    assert response.status_code == 201, response.json()
    opened = OutputReport.objects.get()
    assert (opened.period_start, opened.period_end, opened.state) == (
        dt.date(2019, 2, 1),
        dt.date(2019, 2, 28),
        ReportState.DRAFT,
    )


def test_the_opened_month_stops_at_the_neighbouring_reports(site_client, site, report):
    response = post(site_client, days_path(site), day_body(day="2019-01-25"))

    assert response.status_code == 201, response.json()
    opened = OutputReport.objects.exclude(pk=report.pk).get()
    assert (opened.period_start, opened.period_end) == (dt.date(2019, 1, 21), dt.date(2019, 1, 31))


def test_the_same_day_twice_with_the_same_figures_is_one_line(site_client, site, report):
    post(site_client, days_path(site), day_body())
    again = post(
        site_client,
        days_path(site),
        day_body(average_hashrate_hs="50000000000000000.00", btc_gross="216000000"),
    )

    assert again.status_code == 200, again.json()
    assert again.json()["outcome"] == "unchanged"
    assert DailyLine.objects.count() == 1
    assert _events("mining.line.recorded") == 1
    assert _events("mining.line.corrected") == 0


def test_other_figures_for_a_draft_day_correct_the_line_with_history(site_client, site, report):
    post(site_client, days_path(site), day_body())
    response = post(site_client, days_path(site), day_body(btc_gross=215_000_000, btc_net=210_680_000))

    assert response.status_code == 200, response.json()
    assert response.json()["outcome"] == "corrected"
    line = DailyLine.objects.get()
    assert line.btc_gross == 215_000_000
    assert line.history.count() == 2
    event = AuditEvent.objects.get(action="mining.line.corrected")
    assert event.data["changes"]["btc_gross"] == {"from": "216000000", "to": "215000000"}
    assert set(event.data["changes"]) == {"btc_gross", "btc_net"}


def test_other_figures_for_a_day_past_draft_are_refused_naming_the_fields(site_client, site, report):
    post(site_client, days_path(site), day_body())
    OutputReport.objects.filter(pk=report.pk).update(state=ReportState.SUBMITTED)

    response = post(site_client, days_path(site), day_body(btc_gross=215_000_000, btc_net=210_680_000))

    assert response.status_code == 409
    body = response.json()
    assert_error_body(body, "day_reported_differently")
    assert set(body["errors"]) == {"btc_gross", "btc_net"}
    assert DailyLine.objects.get().btc_gross == 216_000_000


def test_the_same_figures_past_draft_are_still_one_line(site_client, site, report):
    post(site_client, days_path(site), day_body())
    OutputReport.objects.filter(pk=report.pk).update(state=ReportState.SUBMITTED)

    response = post(site_client, days_path(site), day_body())

    assert response.status_code == 200
    assert response.json()["outcome"] == "unchanged"


def test_a_new_day_in_a_report_past_draft_is_a_conflict(site_client, site, report):
    OutputReport.objects.filter(pk=report.pk).update(state=ReportState.SUBMITTED)

    response = post(site_client, days_path(site), day_body(day="2019-01-15"))

    assert response.status_code == 409
    assert_error_body(response.json(), "report_not_draft")
    assert not DailyLine.objects.exists()


def test_a_retry_with_the_same_key_replays_the_first_reply(site_client, site, report):
    first = post(site_client, days_path(site), day_body(), key="day-2019-01-20")
    replay = post(site_client, days_path(site), day_body(), key="day-2019-01-20")

    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()


def test_a_mining_clerk_submits_with_a_session(clerk_session, site, report):
    response = post(clerk_session, days_path(site), day_body())

    assert response.status_code == 201, response.json()


# Bulk ----------------------------------------------------------------------------------------


def _days(*days, **overrides):
    return {"days": [day_body(day=day, **overrides) for day in days]}


def test_a_site_submits_several_days_at_once(site_client, site, report):
    response = post(site_client, bulk_path(site), _days("2019-01-18", "2019-01-19", "2019-01-20"))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["recorded"], body["unchanged"], body["corrected"]) == (3, 0, 0)
    assert [d["line"]["day"] for d in body["days"]] == ["2019-01-18", "2019-01-19", "2019-01-20"]
    assert DailyLine.objects.count() == 3


def test_bulk_repeated_is_unchanged(site_client, site, report):
    post(site_client, bulk_path(site), _days("2019-01-19", "2019-01-20"))
    again = post(site_client, bulk_path(site), _days("2019-01-19", "2019-01-20"))

    assert again.status_code == 200
    assert again.json()["unchanged"] == 2
    assert DailyLine.objects.count() == 2


def test_bulk_is_all_or_nothing_with_the_index_of_each_bad_day(site_client, site):
    body = _days("2019-02-01", "2019-02-02", "2019-02-03")
    body["days"][1]["uptime_percent"] = "150"
    body["days"][2]["btc_net"] = 1

    response = post(site_client, bulk_path(site), body)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"days.1.uptime_percent", "days.2.btc_net"}
    assert not DailyLine.objects.exists()
    assert not OutputReport.objects.exists()


def test_bulk_conflicts_past_draft_are_409_and_change_nothing(site_client, site, report):
    post(site_client, days_path(site), day_body())
    OutputReport.objects.filter(pk=report.pk).update(state=ReportState.SUBMITTED)
    body = {"days": [day_body(day="2019-02-01"), day_body(btc_gross=1, pool_fees=0, btc_net=1)]}

    response = post(site_client, bulk_path(site), body)

    assert response.status_code == 409
    assert_error_body(response.json(), "days_past_draft")
    assert set(response.json()["errors"]) == {"days.1.btc_gross", "days.1.pool_fees", "days.1.btc_net"}
    assert DailyLine.objects.count() == 1


def test_bulk_refuses_the_same_day_twice(site_client, site):
    response = post(site_client, bulk_path(site), _days("2019-02-01", "2019-02-01"))

    assert response.status_code == 400
    assert "days.1.day" in response.json()["errors"]


def test_bulk_refuses_more_than_a_year_of_days(site_client, site):
    response = post(site_client, bulk_path(site), {"days": [{}] * 10_001})

    assert response.status_code == 400
    assert "days" in response.json()["errors"]
    assert not DailyLine.objects.exists()


def test_bulk_new_days_for_a_report_past_draft_are_409(site_client, site, report):
    OutputReport.objects.filter(pk=report.pk).update(state=ReportState.SUBMITTED)

    response = post(site_client, bulk_path(site), _days("2019-01-15", "2019-01-16"))

    assert response.status_code == 409
    assert_error_body(response.json(), "days_past_draft")
    assert set(response.json()["errors"]) == {"days.0.report", "days.1.report"}
    assert not DailyLine.objects.exists()


def test_the_day_that_is_today_at_the_site_is_not_over(site_client, site):
    response = post(site_client, days_path(site), day_body(day=services.site_today(site).isoformat()))

    assert response.status_code == 400
    assert "not over yet" in response.json()["errors"]["day"][0]
