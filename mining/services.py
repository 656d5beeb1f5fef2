"""Every write of mining's records: epochs, sites, fleets, output reports and their daily lines.

Keyword-only, one transaction each, the audit event written in it. Every refusal is a
translated ``ValidationError`` naming its field. The report workflow (submit, verify, approve,
post) and sweeps are in :mod:`mining.transitions`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Container, Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from mining.chaindata import BLOCKS_PER_EPOCH, difficulty_from_bits, parse_bits
from mining.expected import ExpectedOutputError, get_zone
from mining.models import (
    DailyLine,
    EnergySource,
    Fleet,
    NetworkEpoch,
    OutputReport,
    PayoutScheme,
    ReportState,
    Site,
    SiteStatus,
)
from reserve.addresses import AddressError, normalize_address
from reserve.amounts import AmountError, check_units
from reserve.audit import record_event
from reserve.chain.base import NotSupported
from reserve.external.http import SourceError
from reserve.models import ApiClient, Network, Wallet

_BITCOIN_TXID = re.compile(r"[0-9a-f]{64}")
HUNDRED = Decimal(100)


def _refuse(field: str, message: str, code: str = "invalid") -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _saved(instance, *, actor) -> None:
    instance._history_user = actor if actor is not None and actor.is_authenticated else None
    instance.save()


def _required(field: str, value: str) -> str:
    value = (value or "").strip() if isinstance(value, str) else ""
    if not value:
        raise _refuse(field, _("This field is required."), "required")
    return value


def _decimal(field: str, value, *, minimum: Decimal | None = Decimal(0), positive: bool = False) -> Decimal:
    """An exact decimal from an int, a Decimal or a decimal string; floats are refused."""
    if isinstance(value, bool | float) or value is None:
        raise _refuse(field, _("Enter an exact number (a decimal string, not a float)."))
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except ArithmeticError:
        raise _refuse(field, _("Enter a number.")) from None
    if not number.is_finite():
        raise _refuse(field, _("Enter a finite number."))
    if positive and number <= 0:
        raise _refuse(field, _("Must be greater than zero."), "min_value")
    if minimum is not None and number < minimum:
        raise _refuse(field, _("Must not be negative."), "min_value")
    return number


def _sats(field: str, value) -> int:
    try:
        units = check_units(value)
    except AmountError as exc:
        raise _refuse(field, str(exc)) from None
    if units < 0:
        raise _refuse(field, _("Must not be negative."), "min_value")
    return units


def _choice(field: str, value: str, choices) -> str:
    if value not in choices.values:
        raise _refuse(field, _("Choose one of: %(choices)s.") % {"choices": ", ".join(choices.values)})
    return value


# Epochs ------------------------------------------------------------------------------------


@transaction.atomic
def record_epoch(
    *,
    network: str = Network.BITCOIN,
    epoch: int,
    start_height: int,
    start_time: dt.datetime | None,
    bits: str,
    published_difficulty: str = "",
    first_block_hash: str = "",
    source: str,
    actor,
) -> NetworkEpoch:
    """Record a retarget epoch, or fill in the start time of a known one (the only write path:
    a clerk in the admin, and :func:`sync_epochs` from a chain source).

    ``published_difficulty``, if given, must agree with ``bits`` to its printed precision.
    """
    try:
        compact = parse_bits(bits)
        exact = difficulty_from_bits(compact)
    except ValueError:
        raise _refuse("bits", _("Enter the compact target as eight hexadecimal digits.")) from None
    if start_height != epoch * 2016:
        raise _refuse(
            "start_height",
            _("Epoch %(epoch)s starts at height %(height)s.") % {"epoch": epoch, "height": epoch * 2016},
        )
    if start_time is not None and timezone.is_naive(start_time):
        raise _refuse("start_time", _("Give the start time with its time zone (UTC)."))
    if published_difficulty:
        published = _decimal("published_difficulty", published_difficulty, positive=True)
        last_digit = Fraction(Decimal(1).scaleb(published.as_tuple().exponent))
        if abs(exact - Fraction(published)) > 2 * last_digit:
            raise _refuse("published_difficulty", _("The difficulty does not match the bits."))
    row = NetworkEpoch.objects.select_for_update().filter(network=network, epoch=epoch).first()
    if row is not None:
        if row.bits != bits.lower() or row.start_height != start_height:
            raise _refuse(
                "bits", _("Epoch %(epoch)s is recorded with other bits.") % {"epoch": epoch}, "duplicate"
            )
        if row.start_time is not None and row.start_time != start_time:
            raise _refuse(
                "start_time", _("Epoch %(epoch)s already has a start time.") % {"epoch": epoch}, "duplicate"
            )
    else:
        row = NetworkEpoch(network=network, epoch=epoch, start_height=start_height, bits=bits.lower())
    neighbours = NetworkEpoch.objects.filter(network=network, start_time__isnull=False)
    if start_time is not None and (
        neighbours.filter(epoch__lt=epoch, start_time__gte=start_time).exists()
        or neighbours.filter(epoch__gt=epoch, start_time__lte=start_time).exists()
    ):
        raise _refuse("start_time", _("The start time must fall between its neighbours' start times."))
    row.start_time = start_time
    row.published_difficulty = published_difficulty or row.published_difficulty
    row.first_block_hash = (first_block_hash or "").strip().lower()
    row.source = _required("source", source)
    row.full_clean()
    _saved(row, actor=actor)
    record_event(
        action="mining.epoch.recorded",
        actor=actor,
        subject=row,
        data={
            "network": network,
            "epoch": epoch,
            "bits": row.bits,
            "start_time": start_time.isoformat() if start_time else None,
        },
    )
    return row


# Sites and fleets --------------------------------------------------------------------------


@transaction.atomic
def register_site(
    *,
    name: str,
    region: str,
    operator: str,
    licence_number: str,
    licence_date: dt.date,
    energy_source: str,
    power_capacity_mw,
    commissioned_on: dt.date,
    pool_name: str,
    payout_scheme: str,
    payout_address: str,
    custody_wallet: Wallet,
    tolerance_percent,
    timezone_name: str = "Asia/Almaty",
    pool_fee_percent=None,
    reporting_client: ApiClient | None = None,
    actor,
) -> Site:
    name = _required("name", name)
    licence_number = _required("licence_number", licence_number)
    if Site.objects.filter(name=name).exists():
        raise _refuse("name", _("A site named %(name)s is already registered.") % {"name": name}, "duplicate")
    if Site.objects.filter(licence_number=licence_number).exists():
        raise _refuse(
            "licence_number",
            _("Licence %(number)s is already registered.") % {"number": licence_number},
            "duplicate",
        )
    network = custody_wallet.network
    if network != Network.BITCOIN:
        raise _refuse("custody_wallet", _("Mining output is kept in a Bitcoin mainnet wallet."))
    if not custody_wallet.is_active:
        raise _refuse("custody_wallet", _("The custody wallet is not active."))
    shared = Site.objects.filter(custody_wallet=custody_wallet).first()
    if shared is not None:
        # One site per wallet: a sweep takes the wallet's oldest lots, which must be this site's.
        raise _refuse(
            "custody_wallet",
            _("Wallet %(wallet)s already keeps the output of site %(site)s; each site has its own wallet.")
            % {"wallet": custody_wallet.code, "site": shared.name},
            "shared_wallet",
        )
    try:
        payout_address = normalize_address(network, (payout_address or "").strip())
    except AddressError as exc:
        raise _refuse("payout_address", str(exc)) from None
    try:
        get_zone(timezone_name)
    except ExpectedOutputError as exc:
        raise _refuse("timezone", str(exc)) from None
    tolerance = _decimal("tolerance_percent", tolerance_percent)
    if tolerance > HUNDRED:
        raise _refuse("tolerance_percent", _("A tolerance is at most 100%."), "max_value")
    fee = None if pool_fee_percent in (None, "") else _decimal("pool_fee_percent", pool_fee_percent)
    if fee is not None and fee >= HUNDRED:
        raise _refuse("pool_fee_percent", _("A pool fee is below 100%."), "max_value")
    for field, value in (("licence_date", licence_date), ("commissioned_on", commissioned_on)):
        if not isinstance(value, dt.date):
            raise _refuse(field, _("This field is required."), "required")
    site = Site(
        name=name,
        region=_required("region", region),
        operator=_required("operator", operator),
        licence_number=licence_number,
        licence_date=licence_date,
        energy_source=_choice("energy_source", energy_source, EnergySource),
        power_capacity_mw=_decimal("power_capacity_mw", power_capacity_mw, positive=True),
        commissioned_on=commissioned_on,
        pool_name=_required("pool_name", pool_name),
        payout_scheme=_choice("payout_scheme", payout_scheme, PayoutScheme),
        pool_fee_percent=fee,
        network=network,
        payout_address=payout_address,
        custody_wallet=custody_wallet,
        tolerance_percent=tolerance,
        timezone=timezone_name,
        reporting_client=reporting_client,
    )
    _saved(site, actor=actor)
    record_event(
        action="mining.site.registered",
        actor=actor,
        subject=site,
        data={"name": name, "licence_number": licence_number, "wallet": custody_wallet.code},
    )
    return site


@transaction.atomic
def link_reporting_client(*, site: Site, client: ApiClient | None, actor) -> Site:
    """Name the API client that reports ``site``'s output (None: only mining clerks do)."""
    site = Site.objects.select_for_update().get(pk=site.pk)
    if client is not None and not client.is_active:
        raise _refuse(
            "reporting_client", _("API client %(client)s is revoked.") % {"client": client}, "inactive"
        )
    before = site.reporting_client.name if site.reporting_client_id else None
    site.reporting_client = client
    _saved(site, actor=actor)
    record_event(
        action="mining.site.reporting_client_set",
        actor=actor,
        subject=site,
        data={"before": before, "after": client.name if client else None},
    )
    return site


@transaction.atomic
def set_site_status(*, site: Site, status: str, reason: str, actor) -> Site:
    """Suspend, reactivate or decommission a site (with the reason, in its history and the
    audit journal). Only an active site reports output."""
    site = Site.objects.select_for_update().get(pk=site.pk)
    status = _choice("status", status, SiteStatus)
    reason = _required("reason", reason)
    if site.status == SiteStatus.DECOMMISSIONED:
        raise _refuse("status", _("A decommissioned site stays decommissioned."), "decommissioned")
    before = site.status
    site.status = status
    _saved(site, actor=actor)
    record_event(
        action="mining.site.status_changed",
        actor=actor,
        subject=site,
        data={"before": before, "after": status, "reason": reason},
    )
    return site


def ensure_may_report(*, site: Site, actor) -> None:
    """Who may report a site's output, whatever the entry point: only for an active site, and an
    API client only for the site that names it as its reporting client (a mining clerk for any)."""
    if site.status != SiteStatus.ACTIVE:
        raise _refuse(
            "site",
            _("Site %(site)s is %(status)s; it reports no output.")
            % {"site": site.name, "status": site.get_status_display()},
            "site_inactive",
        )
    client = (
        ApiClient.objects.filter(user_id=getattr(actor, "pk", None)).only("pk").first() if actor else None
    )
    if client is not None and site.reporting_client_id != client.pk:
        raise _refuse(
            "site",
            _("API client %(client)s does not report the output of site %(site)s.")
            % {"client": client.name, "site": site.name},
            "wrong_site",
        )


@transaction.atomic
def add_fleet(
    *, site: Site, machine_model: str, count: int, nominal_hashrate_ths, efficiency_j_per_th, actor
) -> Fleet:
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        raise _refuse("count", _("Enter a positive whole number of machines."))
    fleet = Fleet(
        site=site,
        machine_model=_required("machine_model", machine_model),
        count=count,
        nominal_hashrate_ths=_decimal("nominal_hashrate_ths", nominal_hashrate_ths, positive=True),
        efficiency_j_per_th=_decimal("efficiency_j_per_th", efficiency_j_per_th, positive=True),
    )
    _saved(fleet, actor=actor)
    record_event(
        action="mining.fleet.added",
        actor=actor,
        subject=fleet,
        data={
            "site": site.pk,
            "machine_model": fleet.machine_model,
            "count": count,
            "nominal_hashrate_ths": str(fleet.nominal_hashrate_ths),
        },
    )
    return fleet


def nominal_hashrate_hs(site: Site) -> Decimal:
    """The site's fleets' nominal total in H/s (TH/s × 10^12)."""
    return sum((f.count * f.nominal_hashrate_ths for f in site.fleets.all()), Decimal(0)) * 10**12


def site_today(site: Site) -> dt.date:
    return timezone.now().astimezone(get_zone(site.timezone)).date()


# Reports and daily lines -------------------------------------------------------------------


@transaction.atomic
def open_report(*, site: Site, period_start: dt.date, period_end: dt.date, actor) -> OutputReport:
    """Open a draft report for the whole local days ``period_start … period_end`` (inclusive)."""
    if not isinstance(period_start, dt.date) or not isinstance(period_end, dt.date):
        raise _refuse("period_start", _("Give both the first and the last day of the period."), "required")
    if period_end < period_start:
        raise _refuse("period_end", _("The period ends before it starts."))
    Site.objects.select_for_update().filter(pk=site.pk).first()  # serialise reports of one site
    overlapping = (
        OutputReport.objects.filter(site=site, period_start__lte=period_end, period_end__gte=period_start)
        .order_by("period_start")
        .first()
    )
    if overlapping is not None:
        raise _refuse(
            "period_start",
            _("The period overlaps the report for %(start)s … %(end)s of this site.")
            % {"start": overlapping.period_start.isoformat(), "end": overlapping.period_end.isoformat()},
            "overlap",
        )
    report = OutputReport(site=site, period_start=period_start, period_end=period_end)
    _saved(report, actor=actor)
    record_event(
        action="mining.report.opened",
        actor=actor,
        subject=report,
        data={
            "site": site.pk,
            "period_start": period_start.isoformat(),
            "period_end": period_end.isoformat(),
        },
    )
    return report


def _txids(values: Iterable[str] | str) -> list[str]:
    if isinstance(values, str):
        values = values.split()
    txids = [v.strip().lower() for v in values if v and v.strip()]
    for txid in txids:
        if not _BITCOIN_TXID.fullmatch(txid):
            raise _refuse("payout_txids", _("%(txid)s is not a transaction id.") % {"txid": txid[:80]})
    if len(set(txids)) != len(txids):
        raise _refuse("payout_txids", _("A transaction id is listed twice."))
    return txids


#: The figures of a daily line, as :func:`record_daily_line` and :func:`record_daily_lines` take them.
LINE_FIELDS = (
    "day",
    "average_hashrate_hs",
    "uptime_percent",
    "energy_mwh",
    "curtailment_mwh",
    "btc_gross",
    "pool_fees",
    "btc_net",
    "energy_cost_kzt",
    "payout_txids",
)


def check_daily_line(
    *,
    report: OutputReport,
    nominal_hs: Decimal,
    today: dt.date,
    taken_days: Container[dt.date],
    day: dt.date,
    average_hashrate_hs,
    uptime_percent,
    energy_mwh,
    curtailment_mwh,
    btc_gross: int,
    pool_fees: int,
    btc_net: int,
    energy_cost_kzt,
    payout_txids: Iterable[str] | str = (),
) -> DailyLine:
    """Every rule of a daily line, without a query: the unsaved line, or a ``ValidationError``
    naming the field. The caller gives what needs the database: the site's fleet nominal
    (:func:`nominal_hashrate_hs`), the site's local today and the days already reported."""
    site = report.site
    if report.state != ReportState.DRAFT:
        raise _refuse("report", _("Only a draft report takes new lines."), "not_draft")
    if not isinstance(day, dt.date):
        raise _refuse("day", _("This field is required."), "required")
    if not report.period_start <= day <= report.period_end:
        raise _refuse(
            "day",
            _("%(day)s is outside the report's period %(start)s … %(end)s.")
            % {
                "day": day.isoformat(),
                "start": report.period_start.isoformat(),
                "end": report.period_end.isoformat(),
            },
            "outside_period",
        )
    if day >= today:
        raise _refuse(
            "day", _("The day %(day)s is not over yet at the site.") % {"day": day.isoformat()}, "future"
        )
    if day in taken_days:
        raise _refuse(
            "day", _("%(day)s is already reported for this site.") % {"day": day.isoformat()}, "duplicate"
        )
    figures = check_line_figures(
        nominal_hs=nominal_hs,
        average_hashrate_hs=average_hashrate_hs,
        uptime_percent=uptime_percent,
        energy_mwh=energy_mwh,
        curtailment_mwh=curtailment_mwh,
        btc_gross=btc_gross,
        pool_fees=pool_fees,
        btc_net=btc_net,
        energy_cost_kzt=energy_cost_kzt,
        payout_txids=payout_txids,
    )
    return DailyLine(report=report, site=site, day=day, **figures)


def check_line_figures(
    *,
    nominal_hs: Decimal,
    average_hashrate_hs,
    uptime_percent,
    energy_mwh,
    curtailment_mwh,
    btc_gross: int,
    pool_fees: int,
    btc_net: int,
    energy_cost_kzt,
    payout_txids: Iterable[str] | str = (),
) -> dict:
    """The figures of one day, normalised, or a ``ValidationError`` naming the impossible one:
    the rules every way of recording a day shares (the form, the import, the API's correction)."""
    hashrate = _decimal("average_hashrate_hs", average_hashrate_hs)
    uptime = _decimal("uptime_percent", uptime_percent)
    if uptime > HUNDRED:
        raise _refuse("uptime_percent", _("Uptime is at most 100%."), "max_value")
    energy = _decimal("energy_mwh", energy_mwh)
    curtailment = _decimal("curtailment_mwh", curtailment_mwh)
    cost = _decimal("energy_cost_kzt", energy_cost_kzt)
    gross, fees, net = _sats("btc_gross", btc_gross), _sats("pool_fees", pool_fees), _sats("btc_net", btc_net)
    if net > gross:
        raise _refuse("btc_net", _("The net output exceeds the gross output."), "net_above_gross")
    if gross - fees != net:
        raise _refuse(
            "btc_net",
            _("Gross %(gross)s minus pool fees %(fees)s is %(net)s sats, not %(given)s.")
            % {"gross": gross, "fees": fees, "net": gross - fees, "given": net},
            "does_not_add_up",
        )
    ceiling = nominal_hs * (HUNDRED + Decimal(settings.MINING_HASHRATE_MARGIN_PERCENT)) / HUNDRED
    if hashrate > ceiling:
        raise _refuse(
            "average_hashrate_hs",
            _("%(hashrate)s H/s is above the fleet's nominal %(nominal)s H/s plus %(margin)s%%.")
            % {
                "hashrate": hashrate,
                "nominal": nominal_hs,
                "margin": settings.MINING_HASHRATE_MARGIN_PERCENT,
            },
            "above_fleet",
        )
    return {
        "average_hashrate_hs": hashrate,
        "uptime_percent": uptime,
        "energy_mwh": energy,
        "curtailment_mwh": curtailment,
        "btc_gross": gross,
        "pool_fees": fees,
        "btc_net": net,
        "payout_txids": "\n".join(_txids(payout_txids)),
        "energy_cost_kzt": cost,
    }


@transaction.atomic
def record_daily_line(
    *,
    report: OutputReport,
    day: dt.date,
    average_hashrate_hs,
    uptime_percent,
    energy_mwh,
    curtailment_mwh,
    btc_gross: int,
    pool_fees: int,
    btc_net: int,
    energy_cost_kzt,
    payout_txids: Iterable[str] | str = (),
    actor,
) -> DailyLine:
    """Record one local day of a draft report; impossible figures are refused by field."""
    report = OutputReport.objects.select_for_update().select_related("site").get(pk=report.pk)
    site = report.site
    ensure_may_report(site=site, actor=actor)
    taken = set()
    if isinstance(day, dt.date) and DailyLine.objects.filter(site=site, day=day).exists():
        taken.add(day)
    line = check_daily_line(
        report=report,
        nominal_hs=nominal_hashrate_hs(site),
        today=site_today(site),
        taken_days=taken,
        day=day,
        average_hashrate_hs=average_hashrate_hs,
        uptime_percent=uptime_percent,
        energy_mwh=energy_mwh,
        curtailment_mwh=curtailment_mwh,
        btc_gross=btc_gross,
        pool_fees=pool_fees,
        btc_net=btc_net,
        energy_cost_kzt=energy_cost_kzt,
        payout_txids=payout_txids,
    )
    _saved(line, actor=actor)
    record_event(
        action="mining.line.recorded",
        actor=actor,
        subject=line,
        data={
            "report": report.pk,
            "day": day.isoformat(),
            "btc_gross": line.btc_gross,
            "pool_fees": line.pool_fees,
            "btc_net": line.btc_net,
            "average_hashrate_hs": str(line.average_hashrate_hs),
        },
    )
    return line


class LinesRefused(ValidationError):
    """Some lines of a batch are refused: ``by_line`` maps each refused line's index in the
    batch to its ``ValidationError`` (naming the field)."""

    def __init__(self, by_line: dict[int, ValidationError]):
        super().__init__(
            _("%(count)s of the lines are refused; none is recorded.") % {"count": len(by_line)},
            code="lines_refused",
        )
        self.by_line = by_line


def check_daily_lines(
    *, report: OutputReport, rows: Sequence[Mapping], row_numbers: Sequence[int] | None = None
) -> tuple[list[DailyLine], dict[int, ValidationError]]:
    """:func:`check_daily_line` for every row of ``rows`` (mappings of :data:`LINE_FIELDS`),
    with a fixed number of queries whatever their count: the fleets, and the days already
    reported for the site (one query). A day given twice in ``rows`` is refused on its second
    row. Returns the unsaved lines of the accepted rows and the refusal of each refused row
    (by index). Writes nothing."""
    site = report.site
    nominal = nominal_hashrate_hs(site)
    today = site_today(site)
    days = {row.get("day") for row in rows if isinstance(row.get("day"), dt.date)}
    taken = (
        set(DailyLine.objects.filter(site=site, day__in=days).values_list("day", flat=True))
        if days
        else set()
    )
    lines: list[DailyLine] = []
    refused: dict[int, ValidationError] = {}
    first_row: dict[dt.date, int] = {}
    numbers = list(row_numbers) if row_numbers is not None else list(range(1, len(rows) + 1))
    for index, row in enumerate(rows):
        day = row.get("day")
        if isinstance(day, dt.date) and day in first_row:
            refused[index] = _refuse(
                "day",
                _("%(day)s is given twice (first in row %(row)s).")
                % {"day": day.isoformat(), "row": numbers[first_row[day]]},
                "duplicate",
            )
            continue
        try:
            line = check_daily_line(
                report=report,
                nominal_hs=nominal,
                today=today,
                taken_days=taken,
                **{name: row.get(name, "" if name != "payout_txids" else ()) for name in LINE_FIELDS},
            )
        except ValidationError as exc:
            refused[index] = exc
        else:
            lines.append(line)
        if isinstance(day, dt.date):
            first_row[day] = index
    return lines, refused


@transaction.atomic
def record_daily_lines(
    *,
    report: OutputReport,
    rows: Sequence[Mapping],
    actor,
    source: Mapping | None = None,
    row_numbers: Sequence[int] | None = None,
) -> list[DailyLine]:
    """Record many days of a draft report at once, all or none: every row is checked by
    :func:`check_daily_line` (as :func:`record_daily_line` does, so the refusals are the same)
    and, if one is refused, :class:`LinesRefused` is raised and nothing is written. Otherwise
    the lines and their history rows are bulk-created, with one audit event for the batch
    (``source`` goes into its data, e.g. the imported file's SHA-256). Queries: a fixed number,
    whatever the count of rows (batches of 500)."""
    report = OutputReport.objects.select_for_update().select_related("site").get(pk=report.pk)
    ensure_may_report(site=report.site, actor=actor)
    lines, refused = check_daily_lines(report=report, rows=rows, row_numbers=row_numbers)
    if refused:
        raise LinesRefused(refused)
    if not lines:
        raise _refuse("day", _("Give at least one line."), "required")
    user = actor if actor is not None and actor.is_authenticated else None
    lines = bulk_create_with_history(lines, DailyLine, batch_size=500, default_user=user)
    record_event(
        action="mining.lines.recorded",
        actor=actor,
        subject=report,
        data={
            **(dict(source) if source else {}),
            "report": report.pk,
            "lines": len(lines),
            "first_day": min(line.day for line in lines).isoformat(),
            "last_day": max(line.day for line in lines).isoformat(),
            "btc_gross": sum(line.btc_gross for line in lines),
            "pool_fees": sum(line.pool_fees for line in lines),
            "btc_net": sum(line.btc_net for line in lines),
            "line_ids": [line.pk for line in lines],
        },
    )
    return lines


# Daily output submitted by a site (the REST API) -------------------------------------------
#
# What the API's "submit a day" needs beyond record_daily_line: the report the day belongs in
# (opened when none covers it), idempotency per (site, day), and the correction of a draft line.
# The figures' rules are check_daily_line's (through _checked_line_figures).

#: The figures of a daily line a site reports, in the order they are compared.
LINE_FIGURES = (
    "average_hashrate_hs",
    "uptime_percent",
    "energy_mwh",
    "curtailment_mwh",
    "btc_gross",
    "pool_fees",
    "btc_net",
    "energy_cost_kzt",
    "payout_txids",
)


class DayReportedDifferently(Exception):
    """The day is already reported with other figures and its report is no longer a draft.

    ``differences`` maps each differing figure to ``(reported, sent)``.
    """

    def __init__(self, *, line: DailyLine, differences: dict[str, tuple[str, str]]):
        self.line = line
        self.differences = differences
        super().__init__(
            _("%(day)s is already reported with other figures (%(fields)s) in a report that is %(state)s.")
            % {"day": line.day.isoformat(), "fields": ", ".join(differences), "state": line.report.state}
        )


def _checked_line_figures(*, site: Site, day: dt.date, figures: dict) -> dict:
    """The figures of a line for ``site`` on ``day``, normalised; impossible ones refused by field
    (:func:`check_line_figures`, the rules of :func:`record_daily_line`)."""
    if not isinstance(day, dt.date):
        raise _refuse("day", _("This field is required."), "required")
    if day >= site_today(site):
        raise _refuse(
            "day", _("The day %(day)s is not over yet at the site.") % {"day": day.isoformat()}, "future"
        )
    known = {name: figures.get(name) for name in LINE_FIGURES}
    known["payout_txids"] = figures.get("payout_txids") or ()
    return check_line_figures(nominal_hs=nominal_hashrate_hs(site), **known)


def _differences(line: DailyLine, checked: dict) -> dict[str, tuple[str, str]]:
    return {
        name: (str(getattr(line, name)), str(checked[name]))
        for name in LINE_FIGURES
        if getattr(line, name) != checked[name]
    }


@transaction.atomic
def correct_daily_line(*, line: DailyLine, actor, **figures) -> DailyLine:
    """Replace the figures of a line of a **draft** report (the history keeps the former ones;
    the audit event names each changed figure with its former and new value)."""
    line = DailyLine.objects.select_for_update().select_related("report__site").get(pk=line.pk)
    report = OutputReport.objects.select_for_update().get(pk=line.report_id)
    if report.state != ReportState.DRAFT:
        raise _refuse("report", _("Only a line of a draft report can be corrected."), "not_draft")
    checked = _checked_line_figures(site=line.report.site, day=line.day, figures=figures)
    changes = _differences(line, checked)
    if not changes:
        return line
    for name, value in checked.items():
        setattr(line, name, value)
    _saved(line, actor=actor)
    record_event(
        action="mining.line.corrected",
        actor=actor,
        subject=line,
        data={
            "report": report.pk,
            "day": line.day.isoformat(),
            "changes": {name: {"from": old, "to": new} for name, (old, new) in changes.items()},
        },
    )
    return line


def _report_for_day(*, site: Site, day: dt.date, actor) -> OutputReport:
    """The site's report covering ``day``; when none does, a draft is opened for the day's
    calendar month, shortened to the days between the neighbouring reports."""
    covering = OutputReport.objects.filter(site=site, period_start__lte=day, period_end__gte=day).first()
    if covering is not None:
        return covering
    first = day.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    before = (
        OutputReport.objects.filter(site=site, period_end__lt=day, period_end__gte=first)
        .order_by("-period_end")
        .first()
    )
    after = (
        OutputReport.objects.filter(site=site, period_start__gt=day, period_start__lte=last)
        .order_by("period_start")
        .first()
    )
    start = before.period_end + dt.timedelta(days=1) if before is not None else first
    end = after.period_start - dt.timedelta(days=1) if after is not None else last
    return open_report(site=site, period_start=start, period_end=end, actor=actor)


@transaction.atomic
def submit_daily_line(*, site: Site, day: dt.date, actor, **figures) -> tuple[DailyLine, str]:
    """A site's figures for one local day, idempotent per (site, day). Returns the line and what
    happened: ``"recorded"`` (a new line, in the report covering the day, opened if needed),
    ``"unchanged"`` (the same figures again: nothing is written, no audit event) or
    ``"corrected"`` (other figures for a line of a draft report). Other figures for a day of a
    report past draft raise :class:`DayReportedDifferently`."""
    site = Site.objects.select_for_update().get(pk=site.pk)  # serialise one site's days
    ensure_may_report(site=site, actor=actor)
    checked = _checked_line_figures(site=site, day=day, figures=figures)
    line = DailyLine.objects.select_related("report").filter(site=site, day=day).first()
    if line is None:
        report = _report_for_day(site=site, day=day, actor=actor)
        return record_daily_line(report=report, day=day, actor=actor, **figures), "recorded"
    differences = _differences(line, checked)
    if not differences:
        return line, "unchanged"
    if line.report.state != ReportState.DRAFT:
        raise DayReportedDifferently(line=line, differences=differences)
    return correct_daily_line(line=line, actor=actor, **figures), "corrected"


class DaysRefused(Exception):
    """Some days of a bulk submission were refused; nothing was written. ``errors`` maps each
    refused day's index to its field errors; ``conflicts_only`` is true when every refusal is
    about a report past draft (a day reported differently in it, or a new day for it)."""

    def __init__(self, errors: dict[int, dict[str, list[str]]], *, conflicts_only: bool):
        self.errors = errors
        self.conflicts_only = conflicts_only
        super().__init__(
            _("%(count)s of the days were refused; nothing was recorded.") % {"count": len(errors)}
        )


@transaction.atomic
def submit_daily_lines(*, site: Site, days: list[dict], actor) -> list[tuple[DailyLine, str]]:
    """Several days of a site at once, all or nothing: each as :func:`submit_daily_line`; when
    any is refused, nothing is written and :class:`DaysRefused` lists every refused day."""
    ensure_may_report(site=site, actor=actor)
    results: list[tuple[DailyLine, str]] = []
    errors: dict[int, dict[str, list[str]]] = {}
    conflicts_only = True
    for index, row in enumerate(days):
        try:
            with transaction.atomic():
                results.append(submit_daily_line(site=site, actor=actor, **row))
        except ValidationError as exc:
            codes = {e.code for es in getattr(exc, "error_dict", {}).values() for e in es}
            conflicts_only = conflicts_only and codes == {"not_draft"}
            errors[index] = exc.message_dict if hasattr(exc, "error_dict") else {"day": exc.messages}
        except DayReportedDifferently as exc:
            errors[index] = {
                name: [_("Reported as %(reported)s; sent %(sent)s.") % {"reported": old, "sent": new}]
                for name, (old, new) in exc.differences.items()
            }
    if errors:
        raise DaysRefused(errors, conflicts_only=conflicts_only)
    return results


# Epochs from a chain source ----------------------------------------------------------------


class EpochSyncError(Exception):
    """A chain source could not give what :func:`sync_epochs` needs, or refused data was found.
    ``recorded``: the epochs written before the refusal (each in its own transaction)."""

    def __init__(self, message: str, recorded: Sequence[NetworkEpoch] = ()):
        super().__init__(message)
        self.recorded = list(recorded)


def sync_epochs(*, source, actor, up_to_height: int | None = None) -> list[NetworkEpoch]:
    """Fill in, from a Bitcoin chain source, the start of every epoch recorded without one, and
    add the epochs after the last recorded one, up to the source's tip (or ``up_to_height``,
    whichever is lower).

    Every header is fetched first, outside any transaction; a source failure records nothing and
    raises :class:`EpochSyncError`. Then each epoch is written by :func:`record_epoch` (its own
    transaction and audit event, its checks: the bits against the recorded bits and published
    difficulty, the start time between its neighbours'), in epoch order. A refusal stops there
    with :class:`EpochSyncError`; the epochs before it stay recorded. Call it outside a
    transaction. Returns the epochs recorded.
    """
    if getattr(source, "network", None) != Network.BITCOIN:
        raise EpochSyncError(_("Epochs are read from a Bitcoin (mainnet) chain source only."))
    if up_to_height is not None and (
        isinstance(up_to_height, bool) or not isinstance(up_to_height, int) or up_to_height < 0
    ):
        raise EpochSyncError(_("The height to stop at must be a non-negative whole number."))
    try:
        limit = source.tip().height
    except (SourceError, NotSupported) as exc:
        raise EpochSyncError(
            _("The chain source %(source)s did not give its tip: %(error)s")
            % {"source": source.code, "error": exc}
        ) from exc
    if up_to_height is not None:
        limit = min(limit, up_to_height)

    rows = NetworkEpoch.objects.filter(network=Network.BITCOIN)
    wanted: list[tuple[int, NetworkEpoch | None]] = [
        (row.epoch, row)
        for row in rows.filter(start_time__isnull=True, start_height__lte=limit).order_by("epoch")
    ]
    last = rows.order_by("-epoch").values_list("epoch", flat=True).first()
    first_new = 0 if last is None else last + 1
    wanted += [(epoch, None) for epoch in range(first_new, limit // BLOCKS_PER_EPOCH + 1)]

    headers = {}
    for epoch, _row in wanted:
        height = epoch * BLOCKS_PER_EPOCH
        try:
            headers[epoch] = source.block_header(height)
        except (SourceError, NotSupported) as exc:
            raise EpochSyncError(
                _(
                    "The chain source %(source)s gave no header for epoch %(epoch)s (height %(height)s): "
                    "%(error)s. Nothing was recorded."
                )
                % {"source": source.code, "epoch": epoch, "height": height, "error": exc}
            ) from exc
        if headers[epoch].height != height:
            raise EpochSyncError(
                _("The chain source %(source)s answered block %(answered)s for height %(height)s.")
                % {"source": source.code, "answered": headers[epoch].height, "height": height}
            )

    recorded: list[NetworkEpoch] = []
    for epoch, row in wanted:
        header = headers[epoch]
        if header.difficulty is not None:
            published = str(header.difficulty)
        else:
            published = row.published_difficulty if row is not None else ""
        try:
            recorded.append(
                record_epoch(
                    network=Network.BITCOIN,
                    epoch=epoch,
                    start_height=epoch * BLOCKS_PER_EPOCH,
                    start_time=header.time,
                    bits=header.bits,
                    published_difficulty=published,
                    first_block_hash=header.hash,
                    source=f"chain source {source.code}",
                    actor=actor,
                )
            )
        except ValidationError as exc:
            raise EpochSyncError(
                _("Epoch %(epoch)s from %(source)s was refused: %(errors)s")
                % {"epoch": epoch, "source": source.code, "errors": " ".join(exc.messages)},
                recorded,
            ) from exc
    return recorded


def restore_shipped_epochs() -> int:
    """Put back the shipped epochs that are missing (migration 0002's rows; a ``flush`` empties
    every table); returns how many were added. Existing rows, whoever recorded them, stay as
    they are."""
    from mining.chaindata import read_epoch_rows

    known = set(NetworkEpoch.objects.filter(network=Network.BITCOIN).values_list("epoch", flat=True))
    missing = [
        NetworkEpoch(network=Network.BITCOIN, **row) for row in read_epoch_rows() if row["epoch"] not in known
    ]
    NetworkEpoch.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)
