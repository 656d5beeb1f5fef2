"""Reading valuations: the latest, the one in force at an instant, NAV per day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from reserve.models import ValuationSnapshot


def snapshots() -> QuerySet[ValuationSnapshot]:
    return ValuationSnapshot.objects.select_related("usd_kzt_rate", "usd_kzt_rate__source")


def latest_snapshot() -> ValuationSnapshot | None:
    return snapshots().order_by("-taken_at").first()


def snapshot_at(at: dt.datetime) -> ValuationSnapshot | None:
    """The valuation in force at ``at``: the latest snapshot taken at or before it."""
    return snapshots().filter(taken_at__lte=at).order_by("-taken_at").first()


@dataclass(frozen=True)
class NavDay:
    day: dt.date
    snapshot_id: int
    taken_at: dt.datetime
    reserve_usd: Decimal
    reserve_kzt: Decimal | None
    custody_usd: Decimal
    custody_kzt: Decimal | None


def nav_history(*, since: dt.date | None = None, until: dt.date | None = None) -> list[NavDay]:
    """One figure per Almaty day: the day's last snapshot. The reserve and the units held for
    cases stay apart (never summed as "the reserve")."""
    qs = ValuationSnapshot.objects.order_by("taken_at").values(
        "id", "taken_at", "reserve_usd", "reserve_kzt", "custody_usd", "custody_kzt"
    )
    tz = timezone.get_current_timezone()
    if since is not None:
        qs = qs.filter(taken_at__gte=timezone.make_aware(dt.datetime.combine(since, dt.time.min), tz))
    if until is not None:
        qs = qs.filter(taken_at__lte=timezone.make_aware(dt.datetime.combine(until, dt.time.max), tz))
    days: dict[dt.date, dict] = {}
    for row in qs.iterator(chunk_size=2000):
        days[timezone.localtime(row["taken_at"]).date()] = row  # later rows replace earlier ones
    return [
        NavDay(
            day=day,
            snapshot_id=row["id"],
            taken_at=row["taken_at"],
            reserve_usd=row["reserve_usd"],
            reserve_kzt=row["reserve_kzt"],
            custody_usd=row["custody_usd"],
            custody_kzt=row["custody_kzt"],
        )
        for day, row in sorted(days.items())
    ]


@dataclass(frozen=True)
class LatestPrices:
    """The prices of the latest snapshot (asset id -> USD price, None when unpriced) and its
    USD/KZT rate: what values holdings between snapshots."""

    snapshot: ValuationSnapshot | None
    prices: dict[int, Decimal | None]
    usd_kzt: Decimal | None

    def price_of(self, asset) -> Decimal | None:
        return self.prices.get(asset.pk)


def latest_prices(at: dt.datetime | None = None) -> LatestPrices:
    """The prices of the latest snapshot, or of the one in force at ``at`` (holdings of a past
    date are valued at the prices of then, not of today)."""
    snapshot = latest_snapshot() if at is None else snapshot_at(at)
    if snapshot is None:
        return LatestPrices(snapshot=None, prices={}, usd_kzt=None)
    prices = dict(snapshot.prices.values_list("asset_id", "price"))
    return LatestPrices(snapshot=snapshot, prices=prices, usd_kzt=snapshot.usd_kzt)
