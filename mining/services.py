"""Every write of mining's records: epochs, sites, fleets, output reports and their daily lines.

Keyword-only, one transaction each, the audit event written in it. Every refusal is a
translated ``ValidationError`` naming its field. The report workflow (submit, verify, approve,
post) goes through the approval engine and is not here yet.
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

from mining.chaindata import difficulty_from_bits, parse_bits
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
)
from reserve.addresses import AddressError, normalize_address
from reserve.amounts import AmountError, check_units
from reserve.audit import record_event
from reserve.models import Network, Wallet

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
    a clerk in the admin today, a chain data adapter later).

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
    return DailyLine(
        report=report,
        site=site,
        day=day,
        average_hashrate_hs=hashrate,
        uptime_percent=uptime,
        energy_mwh=energy,
        curtailment_mwh=curtailment,
        btc_gross=gross,
        pool_fees=fees,
        btc_net=net,
        payout_txids="\n".join(_txids(payout_txids)),
        energy_cost_kzt=cost,
    )


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
