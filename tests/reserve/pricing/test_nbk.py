"""The National Bank's official rates: both feed shapes, quant division, the next-working-day rule,
hostile XML refused."""

from datetime import date
from decimal import Decimal

import httpx
import pytest

from reserve.external.http import Failure, Limits, SourceError
from reserve.pricing.sources.nbk import NbkRates, OfficialRate, find_rate, next_working_day, parse_rates
from tests.reserve.pricing.support import FakeClock, Recorder, body, recorded

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rates><date>06.05.2024</date><item><title>USD</title><description>&lol9;</description><quant>1</quant></item></rates>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rates [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rates><date>06.05.2024</date><item><title>USD</title><description>&xxe;</description><quant>1</quant></item></rates>"""


def nbk(recorder: Recorder, **kwargs) -> NbkRates:
    clock = FakeClock()
    return NbkRates(transport=recorder.transport, sleep=clock.sleep, monotonic=clock.monotonic, **kwargs)


class TestRecordedFeeds:
    def test_the_2016_rates_all_body_parses_whole(self):
        rates = parse_rates(recorded("nbk_rates_all_2016-04-18.xml"))
        assert len(rates) == 42
        usd = find_rate(rates, "usd")
        assert usd == OfficialRate("USD", 1, Decimal("334.41"), date(2016, 4, 18), date(2016, 4, 19))
        # a retired currency keeps the date of its last rate
        assert find_rate(rates, "LVL").day == date(2013, 12, 31)

    def test_quant_is_divided_exactly(self):
        rates = {r.currency: r for r in parse_rates(recorded("nbk_rates_all_2016-04-18.xml"))}
        assert {c: r.quant for c, r in rates.items() if r.quant != 1} == {
            "TRL": 1000,
            "UZS": 100,
            "KRW": 100,
            "BYR": 100,
            "HUF": 10,
            "AMD": 10,
            "IRR": 1000,
        }
        assert str(rates["HUF"].rate_per_unit) == "1.211"  # 12.11 per 10
        assert str(rates["KRW"].rate_per_unit) == "0.2915"  # 29.15 per 100
        assert str(rates["IRR"].rate_per_unit) == "0.01108"  # 11.08 per 1000
        assert rates["IRR"].rate_per_unit * 1000 == Decimal("11.08")

    def test_the_2024_excerpt_parses(self):
        aud, irr = parse_rates(recorded("nbk_get_rates_2024-05-06_EXCERPT.xml"))
        assert aud == OfficialRate("AUD", 1, Decimal("291.85"), date(2024, 5, 6), date(2024, 5, 7))
        assert (irr.currency, irr.quant, irr.rate_per_unit) == ("IRR", 1000, Decimal("0.0105"))

    def test_the_2025_excerpt_without_an_xml_declaration_parses(self):
        aud, azn = parse_rates(recorded("nbk_get_rates_2025-05-12_EXCERPT.xml"))
        assert (aud.rate_per_unit, azn.currency, azn.rate_per_unit) == (
            Decimal("331.12"),
            "AZN",
            Decimal("304.43"),
        )
        assert azn.day == date(2025, 5, 12) and azn.applies_from == date(2025, 5, 13)

    def test_a_currency_the_feed_does_not_list_is_unknown(self):
        with pytest.raises(SourceError) as caught:
            find_rate(parse_rates(recorded("nbk_get_rates_2025-05-12_EXCERPT.xml")), "USD")
        assert caught.value.failure is Failure.UNKNOWN_ASSET


class TestNextWorkingDay:
    def test_a_friday_rate_applies_monday(self):
        friday = date(2025, 5, 9)
        assert friday.weekday() == 4
        assert next_working_day(friday) == date(2025, 5, 12)

    def test_a_saturday_and_a_sunday_rate_apply_monday(self):
        assert next_working_day(date(2025, 5, 10)) == date(2025, 5, 12)
        assert next_working_day(date(2025, 5, 11)) == date(2025, 5, 12)

    def test_a_weekday_rate_applies_the_next_day(self):
        assert next_working_day(date(2025, 5, 12)) == date(2025, 5, 13)

    def test_holidays_passed_in_are_skipped(self):
        # Victory Day (9 May) and the Friday before: the rate of Thursday 8 May applies Monday
        assert next_working_day(date(2025, 5, 8), holidays={date(2025, 5, 9)}) == date(2025, 5, 12)
        assert next_working_day(date(2025, 5, 9), holidays={date(2025, 5, 12)}) == date(2025, 5, 13)

    def test_a_weekend_day_made_a_working_day_by_decree_counts(self):
        assert next_working_day(date(2025, 5, 9), working_weekend_days={date(2025, 5, 10)}) == date(
            2025, 5, 10
        )

    def test_a_friday_feed_applies_monday(self):
        feed = recorded("nbk_get_rates_2025-05-12_EXCERPT.xml").replace(b"12.05.2025", b"09.05.2025")
        assert {r.applies_from for r in parse_rates(feed)} == {date(2025, 5, 12)}


class TestMalformed:
    @pytest.mark.parametrize(
        "content",
        [
            BILLION_LAUGHS,
            EXTERNAL_ENTITY,
            recorded("nbk_rates_all_2016-04-18.xml")[:500],  # truncated
            b"garbage",
            b"",
            b"<html><body>maintenance</body></html>",
            b"<rates><date>06.05.2024</date></rates>",  # no items
            b"<rates><date>31.02.2024</date><item><title>USD</title><description>1</description><quant>1</quant></item></rates>",
            b"<rates><date>06.05.2024</date><item><title>USD</title><description>abc</description><quant>1</quant></item></rates>",
            b"<rates><date>06.05.2024</date><item><title>USD</title><description>0</description><quant>1</quant></item></rates>",
            b"<rates><date>06.05.2024</date><item><title>USD</title><description>441</description><quant>0</quant></item></rates>",
            b"<rates><date>06.05.2024</date><item><title>USD</title><description>441</description></item></rates>",
            b"<rates><date>06.05.2024</date><item><title>US</title><description>441</description><quant>1</quant></item></rates>",
        ],
    )
    def test_is_malformed(self, content):
        with pytest.raises(SourceError) as caught:
            parse_rates(content)
        assert caught.value.failure is Failure.MALFORMED

    def test_a_quotient_that_would_need_rounding_is_malformed_not_rounded(self):
        feed = b"<rates><date>06.05.2024</date><item><title>XYZ</title><description>1</description><quant>3</quant></item></rates>"
        with pytest.raises(SourceError) as caught:
            parse_rates(feed)
        assert caught.value.failure is Failure.MALFORMED


class TestOverHttp:
    def test_fetch_asks_get_rates_for_the_day_and_parses_the_answer(self):
        recorder = Recorder(body("nbk_get_rates_2024-05-06_EXCERPT.xml"))
        rates = nbk(recorder).fetch(date(2024, 5, 6))
        assert [r.currency for r in rates] == ["AUD", "IRR"]
        url = recorder.requests[0].url
        assert (url.host, url.path, url.params["fdate"]) == (
            "nationalbank.kz",
            "/rss/get_rates.cfm",
            "06.05.2024",
        )

    def test_fetch_latest_reads_rates_all_with_the_holidays_given(self):
        recorder = Recorder(body("nbk_rates_all_2016-04-18.xml"))
        rates = nbk(recorder, holidays={date(2016, 4, 19)}).fetch_latest()
        assert recorder.requests[0].url.path == "/rss/rates_all.xml"
        assert find_rate(rates, "USD").applies_from == date(2016, 4, 20)

    def test_a_bomb_over_http_is_malformed(self):
        with pytest.raises(SourceError) as caught:
            nbk(Recorder(httpx.Response(200, content=BILLION_LAUGHS))).fetch(date(2024, 5, 6))
        assert caught.value.failure is Failure.MALFORMED

    @pytest.mark.parametrize(
        ("answer", "failure"),
        [
            (httpx.ConnectError("refused"), Failure.UNREACHABLE),
            (httpx.ReadTimeout("slow"), Failure.TIMEOUT),
            (httpx.Response(404, content=b"not found"), Failure.HTTP_ERROR),
            (httpx.Response(503), Failure.HTTP_ERROR),
            (httpx.Response(429, headers={"Retry-After": "5"}), Failure.RATE_LIMITED),
        ],
    )
    def test_failures_are_classified(self, answer, failure):
        with pytest.raises(SourceError) as caught:
            nbk(Recorder(answer), limits=Limits(attempts=2)).fetch(date(2024, 5, 6))
        assert caught.value.failure is failure
