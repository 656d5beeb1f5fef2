"""The National Bank of Kazakhstan's official KZT rates (XML).

Two shapes, both parsed by :func:`parse_rates`:

- ``rss/get_rates.cfm?fdate=DD.MM.YYYY`` (:meth:`NbkRates.fetch`): ``<rates><date>DD.MM.YYYY</date>
  <item><title>USD</title><description>441.5</description><quant>1</quant>…</item>…</rates>``; every
  item has the feed's date.
- ``rss/rates_all.xml`` (:meth:`NbkRates.fetch_latest`): ``<rss><channel><item><title>…</title>
  <pubDate>DD.MM.YY</pubDate><description>…</description><quant>…</quant></item>…``; every item has
  its own date (retired currencies keep their last one, e.g. LVL 31.12.13).

``description`` is the KZT price of ``quant`` units (quant 10, 100 or 1000 for currencies of small
value): :attr:`OfficialRate.rate_per_unit` is description ÷ quant, exact (a quotient that would
need rounding is MALFORMED rather than rounded).

**The rate for a day applies from the next working day** (:func:`next_working_day`): a rate dated
Friday applies from Monday. Saturdays and Sundays are never working days; Kazakh public holidays
(and the weekend days the government makes working days when it moves a holiday) change every year
by decree, so they are passed in, empty by default: the caller keeps the calendar.

The XML comes from outside: it is parsed with ``defusedxml`` (entity expansion, external entities
and DTDs refused); a body that does not parse, a refused construct, or a value that is not what the
feed documents is MALFORMED.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, Inexact, InvalidOperation, localcontext
from xml.etree.ElementTree import Element, ParseError  # noqa: S405 (types only; parsing is defusedxml's)

import httpx
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from reserve.external.http import DEFAULT_LIMITS, Failure, Http, Limits, SourceError

SATURDAY = 5


@dataclass(frozen=True)
class OfficialRate:
    """KZT per one unit of ``currency`` as set on ``day``, applying from ``applies_from``."""

    currency: str
    quant: int
    rate_per_unit: Decimal
    day: date
    applies_from: date


def next_working_day(
    day: date, holidays: Collection[date] = frozenset(), working_weekend_days: Collection[date] = frozenset()
) -> date:
    """The first working day after ``day``: not a Saturday or Sunday (unless listed in
    ``working_weekend_days``) and not in ``holidays`` (Kazakh public holidays and days off moved by
    decree; the caller supplies them, none by default)."""
    candidate = day + timedelta(days=1)
    while candidate in holidays or (
        candidate.weekday() >= SATURDAY and candidate not in working_weekend_days
    ):
        candidate += timedelta(days=1)
    return candidate


def parse_rates(
    body: bytes | str,
    *,
    holidays: Collection[date] = frozenset(),
    working_weekend_days: Collection[date] = frozenset(),
) -> list[OfficialRate]:
    """Every rate in a ``get_rates.cfm`` or ``rates_all.xml`` body, in the feed's order."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise SourceError(Failure.MALFORMED, f"nbk: refused XML: {type(exc).__name__}")
    except (ParseError, ValueError) as exc:
        raise SourceError(Failure.MALFORMED, f"nbk: not XML: {exc}")
    if root.tag == "rates":
        feed_day = _date(_text(root, "date"), "%d.%m.%Y")
        items: Iterable[Element] = root.findall("item")
    elif root.tag == "rss" and root.find("channel") is not None:
        feed_day = None
        items = root.find("channel").findall("item")
    else:
        raise SourceError(Failure.MALFORMED, f"nbk: unexpected root <{root.tag}>")
    rates = []
    for item in items:
        currency = _text(item, "title").upper()
        if len(currency) != 3 or not currency.isalpha():
            raise SourceError(Failure.MALFORMED, f"nbk: currency {currency!r}")
        day = feed_day or _date(_text(item, "pubDate"), "%d.%m.%y")
        quant = _quant(_text(item, "quant"), currency)
        rates.append(
            OfficialRate(
                currency=currency,
                quant=quant,
                rate_per_unit=_per_unit(_text(item, "description"), quant, currency),
                day=day,
                applies_from=next_working_day(day, holidays, working_weekend_days),
            )
        )
    if not rates:
        raise SourceError(Failure.MALFORMED, "nbk: no rates in the feed")
    return rates


def find_rate(rates: Iterable[OfficialRate], currency: str) -> OfficialRate:
    """The rate of one currency, or UNKNOWN_ASSET when the feed does not list it."""
    currency = currency.upper()
    for rate in rates:
        if rate.currency == currency:
            return rate
    raise SourceError(Failure.UNKNOWN_ASSET, f"nbk: no rate for {currency}")


def _text(element: Element, tag: str) -> str:
    child = element.find(tag)
    if child is None or not (child.text or "").strip():
        raise SourceError(Failure.MALFORMED, f"nbk: <{element.tag}> has no <{tag}>")
    return child.text.strip()


def _date(text: str, fmt: str) -> date:
    try:
        return datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a calendar date, no time)
    except ValueError:
        raise SourceError(Failure.MALFORMED, f"nbk: date {text!r}")


def _quant(text: str, currency: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise SourceError(Failure.MALFORMED, f"nbk: {currency} quant {text!r}")
    return int(text)


def _per_unit(text: str, quant: int, currency: str) -> Decimal:
    try:
        rate = Decimal(text)
    except InvalidOperation:
        raise SourceError(Failure.MALFORMED, f"nbk: {currency} rate {text!r}")
    if not rate.is_finite() or rate <= 0:
        raise SourceError(Failure.MALFORMED, f"nbk: {currency} rate {text!r}")
    with localcontext() as ctx:
        ctx.prec = 60
        ctx.traps[Inexact] = True
        try:
            return rate / quant
        except Inexact:
            raise SourceError(Failure.MALFORMED, f"nbk: {currency} {text} per {quant} is not exact")


class NbkRates:
    """The National Bank's rates feed over :class:`Http` (``transport`` for tests).

    ``holidays``/``working_weekend_days`` go to :func:`next_working_day` for ``applies_from``."""

    code = "nbk"
    default_base_url = "https://nationalbank.kz"

    def __init__(
        self,
        *,
        base_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
        limits: Limits = DEFAULT_LIMITS,
        holidays: Collection[date] = frozenset(),
        working_weekend_days: Collection[date] = frozenset(),
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.holidays = frozenset(holidays)
        self.working_weekend_days = frozenset(working_weekend_days)
        self.http = Http(
            base_url or self.default_base_url,
            limits=limits,
            transport=transport,
            sleep=sleep,
            clock=monotonic,
        )

    def close(self) -> None:
        self.http.close()

    def fetch(self, day: date) -> list[OfficialRate]:
        """The rates set for ``day`` (``get_rates.cfm``); their ``day`` is the one the feed states."""
        return self._get("/rss/get_rates.cfm", params={"fdate": day.strftime("%d.%m.%Y")})

    def fetch_latest(self) -> list[OfficialRate]:
        """Every currency's latest rate (``rates_all.xml``)."""
        return self._get("/rss/rates_all.xml")

    def _get(self, path: str, **kwargs) -> list[OfficialRate]:
        response = self.http.request("GET", path, **kwargs)
        if response.status_code != 200:
            raise SourceError(
                Failure.HTTP_ERROR, f"nbk {path}: status {response.status_code}", status=response.status_code
            )
        return parse_rates(
            response.content, holidays=self.holidays, working_weekend_days=self.working_weekend_days
        )
