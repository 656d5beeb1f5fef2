"""Prices and official rates into the database: fetched from the configured sources, entered by
a clerk, and the one price used for an asset at an instant.

Every quote keeps its source, fetch time and market time; a source's health records its last
success and its last failure with the failure's class (and a provider's Retry-After, honoured:
a rate-limited source is not asked again before then). One source failing never stops the
others; each is bounded in time by its :class:`~reserve.external.http.Limits`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from reserve.audit import record_event
from reserve.external.http import SourceError
from reserve.models import Asset, OfficialRate, PriceSource, Quote, SourceKind
from reserve.pricing import median
from reserve.pricing.sources.base import Quote as FetchedQuote

logger = logging.getLogger(__name__)

#: The adapter of each network source, by its code (a PriceSource row configures it).
ADAPTERS = {
    "kraken": "reserve.pricing.sources.kraken.Kraken",
    "binance": "reserve.pricing.sources.binance.Binance",
    "coingecko": "reserve.pricing.sources.coingecko.CoinGecko",
}
MANUAL = "manual"
NBK = "nbk"


@dataclass(frozen=True)
class DefaultSource:
    code: str
    name: str
    kind: str
    position: int
    online: bool


DEFAULT_SOURCES = (
    DefaultSource("kraken", "Kraken", SourceKind.EXCHANGE, 10, True),
    DefaultSource("coingecko", "CoinGecko", SourceKind.AGGREGATOR, 20, True),
    DefaultSource("binance", "Binance", SourceKind.EXCHANGE, 30, True),
    DefaultSource(MANUAL, "Manual prices", SourceKind.MANUAL, 90, False),
    DefaultSource(NBK, "National Bank of Kazakhstan", SourceKind.OFFICIAL_RATES, 10, True),
)


def install_default_sources(**kwargs) -> None:
    """The sources once, after migrations. Network sources start enabled only where the machine
    may call out (``EXTERNAL_SOURCES_ENABLED``); an operator's change in the admin is kept."""
    for default in DEFAULT_SOURCES:
        PriceSource.objects.get_or_create(
            code=default.code,
            defaults={
                "name": default.name,
                "kind": default.kind,
                "position": default.position,
                "enabled": settings.EXTERNAL_SOURCES_ENABLED or not default.online,
            },
        )


@dataclass
class RefreshReport:
    quotes: list[Quote] = field(default_factory=list)
    failures: dict[str, dict[str, SourceError]] = field(default_factory=dict)  # asset -> source -> error
    skipped: list[str] = field(default_factory=list)  # sources still rate-limited


def _adapter(source: PriceSource, transport=None):
    cls = import_string(ADAPTERS[source.code])
    kwargs = {"transport": transport, "max_age": dt.timedelta(seconds=source.max_age_seconds)}
    if source.base_url:
        kwargs["base_url"] = source.base_url
    return cls(**kwargs)


def _record_health(
    source: PriceSource, *, ok: bool, error: SourceError | None = None, now: dt.datetime
) -> None:
    if ok:
        PriceSource.objects.filter(pk=source.pk).update(last_success_at=now)
        return
    retry_until = now + dt.timedelta(seconds=error.retry_after) if error.retry_after else None
    PriceSource.objects.filter(pk=source.pk).update(
        last_failure_at=now,
        last_failure=str(error.failure),
        last_failure_detail=error.detail[:2000],
        retry_after_until=retry_until,
    )


def refresh_quotes(
    *, assets=None, currency: str = "USD", now: dt.datetime | None = None, transports=None
) -> RefreshReport:
    """Ask every enabled network source, in order, for every active asset's price; store each
    quote. ``transports`` (source code -> httpx transport) is for tests."""
    now = now or timezone.now()
    report = RefreshReport()
    assets = list(assets if assets is not None else Asset.objects.filter(is_active=True))
    sources = PriceSource.objects.filter(enabled=True, code__in=list(ADAPTERS)).order_by("position", "code")
    for source in sources:
        if source.retry_after_until and source.retry_after_until > now:
            report.skipped.append(source.code)
            continue
        adapter = _adapter(source, (transports or {}).get(source.code))
        try:
            answered = False
            for asset in assets:
                try:
                    # One symbol per call: a symbol the provider does not know fails alone.
                    fetched = adapter.fetch([asset.symbol], currency=currency)
                except SourceError as exc:
                    report.failures.setdefault(asset.symbol, {})[source.code] = exc
                    _record_health(source, ok=False, error=exc, now=now)
                    if exc.failure in ("unreachable", "timeout", "rate_limited"):
                        break  # the source is down or asks us to wait: do not ask it again now
                    continue
                answered = True
                report.quotes.extend(_store(fetched, asset, source))
            if answered:
                _record_health(source, ok=True, now=now)
        finally:
            adapter.close()
    return report


def _store(fetched: list[FetchedQuote], asset: Asset, source: PriceSource) -> list[Quote]:
    return [
        Quote.objects.create(
            asset=asset,
            currency=quote.currency,
            price=quote.price,
            source=source,
            fetched_at=quote.fetched_at,
            market_time=quote.market_time,
        )
        for quote in fetched
    ]


def _positive_price(price) -> Decimal:
    try:
        value = Decimal(str(price).strip())
    except ArithmeticError:
        raise ValidationError({"price": [_("Enter a number.")]}) from None
    if not value.is_finite() or value <= 0:
        raise ValidationError({"price": [_("A price is a positive number.")]})
    return value


@transaction.atomic
def enter_manual_price(
    *, asset: Asset, price, actor, note: str, currency: str = "USD", market_time: dt.datetime | None = None
) -> Quote:
    """A clerk's price: always flagged manual (it names who entered it and when), with a note
    saying where it was read."""
    value = _positive_price(price)
    if not note or not note.strip():
        raise ValidationError({"note": [_("Say where the price was read (exchange, page, time).")]})
    now = timezone.now()
    if market_time is not None and market_time > now:
        raise ValidationError({"market_time": [_("The market time cannot be in the future.")]})
    source = PriceSource.objects.get(code=MANUAL)
    quote = Quote.objects.create(
        asset=asset,
        currency=currency,
        price=value,
        source=source,
        fetched_at=now,
        market_time=market_time or now,
        entered_by=actor,
        note=note.strip(),
    )
    record_event(
        action="reserve.price.entered",
        actor=actor,
        subject=quote,
        data={"asset": asset.symbol, "price": str(value), "currency": currency, "note": quote.note},
    )
    return quote


@dataclass(frozen=True)
class Priced:
    asset: Asset
    price: Decimal | None
    used: list[Quote]
    rejected: list[tuple[Quote, str]]
    unpriced_reason: str


def price_at(
    asset: Asset, at: dt.datetime, *, currency: str = "USD", fetched_until: dt.datetime | None = None
) -> Priced:
    """The price of ``asset`` at ``at``: the median of each enabled source's latest quote that is
    fresh at ``at`` (its market time within the source's maximum age), quotes farther than
    ``VALUATION_MAX_SPREAD`` from the median rejected. ``fetched_until`` (default ``at``) admits the
    quotes a refresh fetched for this instant after it began. A missing price is None with the reason,
    never zero."""
    return prices_at([asset], at, currency=currency, fetched_until=fetched_until)[asset.pk]


def prices_at(
    assets, at: dt.datetime, *, currency: str = "USD", fetched_until: dt.datetime | None = None
) -> dict[int, Priced]:
    """:func:`price_at` of each of ``assets``, by asset id, reading the quotes of all of them at
    once: one query for the sources, one per enabled source and one for the quotes, whatever the
    number of assets."""
    assets = list(assets)
    sources = list(PriceSource.objects.filter(enabled=True).exclude(kind=SourceKind.OFFICIAL_RATES))
    latest = _latest_quotes(assets, max(at, fetched_until or at), currency, sources)
    return {asset.pk: _price_from(asset, at, currency, sources, latest) for asset in assets}


def _latest_quotes(assets, fetched_by: dt.datetime, currency: str, sources) -> dict[tuple[int, int], Quote]:
    """Each source's latest quote of each asset fetched by ``fetched_by``, by (asset id, source id)."""
    if not assets or not sources:
        return {}
    asset_ids = [asset.pk for asset in assets]
    ids = []
    for source in sources:
        newest = (
            Quote.objects.filter(
                asset=OuterRef("pk"), currency=currency, source=source, fetched_at__lte=fetched_by
            )
            .order_by("-fetched_at", "-id")
            .values("id")[:1]
        )
        ids.extend(
            pk
            for pk in Asset.objects.filter(pk__in=asset_ids)
            .order_by()
            .annotate(quote_id=Subquery(newest))
            .values_list("quote_id", flat=True)
            if pk is not None
        )
    by_id = {source.pk: source for source in sources}
    latest = {}
    for quote in Quote.objects.filter(pk__in=ids).order_by():
        quote.source = by_id[quote.source_id]
        latest[(quote.asset_id, quote.source_id)] = quote
    return latest


def _price_from(asset: Asset, at: dt.datetime, currency: str, sources, latest_quotes) -> Priced:
    latest: list[Quote] = []
    failures: dict[str, SourceError] = {}
    stale: list[tuple[Quote, str]] = []
    for source in sources:
        quote = latest_quotes.get((asset.pk, source.pk))
        if quote is None:
            if source.last_failure:
                failures[source.code] = SourceError(source.last_failure, source.last_failure_detail)
            continue
        if at - (quote.market_time or quote.fetched_at) > dt.timedelta(seconds=source.max_age_seconds):
            stale.append((quote, median.STALE))
            continue
        latest.append(quote)
    by_fetched = {id(q): q for q in latest}
    fetched_view = [
        FetchedQuote(
            asset=asset.symbol,
            currency=currency,
            price=q.price,
            source=q.source.code,
            market_time=q.market_time,
            fetched_at=q.fetched_at,
        )
        for q in latest
    ]
    choice = median.choose_price(
        fetched_view,
        max_spread=settings.VALUATION_MAX_SPREAD,
        now=at,
        max_age=dt.timedelta(days=36500),  # freshness is per source, checked above
        failures=failures,
    )
    chosen = {(v.source, v.price, v.fetched_at) for v in choice.used}
    used = [q for q in by_fetched.values() if (q.source.code, q.price, q.fetched_at) in chosen]
    rejected_keys = {(v.source, v.price, v.fetched_at): reason for v, reason in choice.rejected}
    rejected = stale + [
        (q, rejected_keys[(q.source.code, q.price, q.fetched_at)])
        for q in by_fetched.values()
        if (q.source.code, q.price, q.fetched_at) in rejected_keys
    ]
    reason = choice.unpriced_reason or ""
    if choice.price is None and not reason:
        reason = _("no quote from any source")
    if choice.price is None and stale and not latest:
        reason = _("only stale quotes (older than the sources' maximum age)")
    return Priced(asset=asset, price=choice.price, used=used, rejected=rejected, unpriced_reason=reason)


def store_official_rates(
    rates, *, source_code: str = NBK, fetched_at: dt.datetime | None = None, actor=None
) -> int:
    """Keep the rates of a feed (one row per source, currency and day; a feed read twice adds
    nothing). Returns how many rows are new."""
    source = PriceSource.objects.get(code=source_code)
    fetched_at = fetched_at or timezone.now()
    created = 0
    for rate in rates:
        if OfficialRate.objects.filter(source=source, currency=rate.currency, day=rate.day).exists():
            continue
        try:
            with transaction.atomic():
                OfficialRate.objects.create(
                    currency=rate.currency,
                    quant=rate.quant,
                    rate=rate.rate_per_unit * rate.quant,
                    rate_per_unit=rate.rate_per_unit,
                    day=rate.day,
                    applies_from=rate.applies_from,
                    source=source,
                    fetched_at=fetched_at,
                    entered_by=actor,
                )
        except IntegrityError:
            continue  # stored by a concurrent run
        created += 1
    return created


def refresh_official_rates(*, transport=None, now: dt.datetime | None = None) -> int:
    """Read the National Bank's latest rates (when the source is enabled)."""
    from reserve.pricing.sources.nbk import NbkRates

    source = PriceSource.objects.filter(code=NBK, enabled=True).first()
    if source is None:
        return 0
    now = now or timezone.now()
    kwargs = {"transport": transport}
    if source.base_url:
        kwargs["base_url"] = source.base_url
    feed = NbkRates(**kwargs)
    try:
        rates = feed.fetch_latest()
    except SourceError as exc:
        _record_health(source, ok=False, error=exc, now=now)
        return 0
    _record_health(source, ok=True, now=now)
    return store_official_rates(rates, fetched_at=now)


@transaction.atomic
def enter_official_rate(*, currency: str, rate, quant: int = 1, day: dt.date, actor) -> OfficialRate:
    """An official rate recorded by a clerk (offline, from the National Bank's published table).
    It applies from the next working day, like the feed's."""
    from reserve.pricing.sources.nbk import next_working_day

    value = _positive_price(rate)
    if quant < 1:
        raise ValidationError({"quant": [_("The number of units quoted is at least 1.")]})
    source = PriceSource.objects.get(code=MANUAL)
    if OfficialRate.objects.filter(source=source, currency=currency, day=day).exists():
        raise ValidationError(
            {"day": [_("A rate of %(currency)s for this day is already recorded.") % {"currency": currency}]}
        )
    per_unit = value / quant
    entry = OfficialRate.objects.create(
        currency=currency,
        quant=quant,
        rate=value,
        rate_per_unit=per_unit,
        day=day,
        applies_from=next_working_day(day),
        source=source,
        fetched_at=timezone.now(),
        entered_by=actor,
    )
    record_event(
        action="reserve.official_rate.entered",
        actor=actor,
        subject=entry,
        data={"currency": currency, "rate": str(value), "quant": quant, "day": day.isoformat()},
    )
    return entry


def rate_in_force(currency: str, at: dt.datetime) -> OfficialRate | None:
    """The official rate of ``currency`` in KZT in force at ``at``: the latest that applies
    from the Almaty day of ``at`` or earlier (the feed's over a clerk's for the same day)."""
    day = timezone.localtime(at).date()
    return (
        OfficialRate.objects.filter(currency=currency, applies_from__lte=day)
        .order_by("-applies_from", "-day", "source__position")
        .select_related("source")
        .first()
    )
