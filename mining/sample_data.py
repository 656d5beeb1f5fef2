"""Mining's sample data: three state sites with the fourth quarter of 2024 reported day by day.

Registered with reserve's ``load_sample_data`` from :meth:`mining.apps.MiningConfig.ready` and
run after reserve's own sample data, with its sample users. Everything goes through mining's
services, its transitions and the approval engine: the mining clerk registers the sites and
their fleets, records the daily lines, submits and verifies the reports and makes the requests;
the sample treasury officers accept the output and the custody officers approve the sweep.
Idempotent: wallets are looked up by code, sites by licence number, reports by site and period,
pool statements by their file's SHA-256 and every request carries a ``sample:`` idempotency key,
so a second run changes nothing.

The days are October–December 2024 (the shipped epoch table ends in January 2025). Each day's
gross output is the expected output of the day's reported hashrate (:mod:`mining.expected`,
with the fees per block the verification uses) times a small deterministic noise, so the
verification finds what each site is meant to show:

* **Ekibastuz** (coal, FPPS): November under-reported by about 15%, beyond its tolerance. The
  report is left *submitted*: verifying it without an explanation is refused.
* **Zhanaozen** (gas, PPS+): the pool under-paid six days of October and November; its statement
  is imported, so the payout check flags each of those days with both figures.
* **Shardara** (hydro, PPLNS): a week of curtailment in November (the grid operator's order);
  the verification is beyond tolerance on those days and is recorded with the explanation.

States: October is posted for every site (both treasury officers approved; lots in
``reserve:mined`` at each site's wallet), and Ekibastuz's October output was swept to cold
storage (approved by both custody officers). November of Zhanaozen and Shardara is verified with
the acceptance request in the treasury officers' inboxes; December is a draft (Ekibastuz,
Shardara) or submitted (Zhanaozen).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from mining import payouts, services
from mining.expected import bitcoin_epochs, expected_output
from mining.models import OutputReport, PoolStatement, ReportState, Site
from mining.transitions import record_verification, request_acceptance, request_sweep, submit_report
from reserve.models import ApprovalRequest, Network, RequestStatus, Wallet, WalletAddress, WalletKind
from reserve.sample_data import SampleContext

MAKER = "mining_clerk"
TREASURY = ("treasury_officer", "treasury_officer_2")
CUSTODY = ("custody_officer", "custody_officer_2")
COLD_WALLET = "btc-cold-1"
KZT_PER_KWH = Decimal(25)

OCTOBER = (dt.date(2024, 10, 1), dt.date(2024, 10, 31))
NOVEMBER = (dt.date(2024, 11, 1), dt.date(2024, 11, 30))
DECEMBER = (dt.date(2024, 12, 1), dt.date(2024, 12, 31))

#: What a report is taken to: a state, or ``PENDING`` (verified, acceptance awaiting approval).
PENDING = "pending_acceptance"

CURTAILMENT = (dt.date(2024, 11, 11), dt.date(2024, 11, 17))
CURTAILED_UPTIME = Decimal(55)
CURTAILMENT_EXPLANATION = (
    "Curtailment ordered by the grid operator (KEGOC dispatch orders 11-17 November 2024, low "
    "water in the Syr Darya): the fleet ran about 55% of each day; the hashrate is the average "
    "while running and the curtailed energy is reported per day."
)
#: Days on which the pool paid less than it credited in the site's report, and by how much (%).
UNDERPAID_DAYS = {
    dt.date(2024, 10, 8): 6,
    dt.date(2024, 10, 9): 6,
    dt.date(2024, 10, 23): 9,
    dt.date(2024, 11, 5): 7,
    dt.date(2024, 11, 6): 7,
    dt.date(2024, 11, 19): 12,
}


@dataclass(frozen=True)
class SampleSite:
    key: str
    name: str
    region: str
    operator: str
    licence_number: str
    licence_date: dt.date
    energy_source: str
    power_capacity_mw: str
    commissioned_on: dt.date
    pool_name: str
    payout_scheme: str
    pool_fee_percent: str
    payout_address: str
    tolerance_percent: str
    wallet_code: str
    wallet_name: str
    wallet_address: str
    machine_model: str
    machines: int
    nominal_ths: str
    j_per_th: str
    #: The state each month's report is taken to (October, November, December).
    targets: tuple[str, str, str]
    under_reported: tuple[dt.date, dt.date] | None = None
    curtailed: tuple[dt.date, dt.date] | None = None
    pool_underpays: bool = False
    explanation: str = ""


SITES = (
    SampleSite(
        key="ekibastuz",
        name="Ekibastuz GRES-1 data centre",
        region="Pavlodar region",
        operator="Ekibastuz GRES-1 LLP (Samruk-Energy)",
        licence_number="DM-0001/2023",
        licence_date=dt.date(2023, 4, 12),
        energy_source="coal",
        power_capacity_mw="12",
        commissioned_on=dt.date(2023, 9, 1),
        pool_name="Foundry USA",
        payout_scheme="fpps",
        pool_fee_percent="2.5",
        payout_address="1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        tolerance_percent="5",
        wallet_code="btc-mining-ekibastuz",
        wallet_name="BTC mining: Ekibastuz GRES-1",
        wallet_address="bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        machine_model="Antminer S19 XP",
        machines=3000,
        nominal_ths="140",
        j_per_th="21.5",
        targets=(ReportState.POSTED, ReportState.SUBMITTED, ReportState.DRAFT),
        under_reported=NOVEMBER,
    ),
    SampleSite(
        key="zhanaozen",
        name="Zhanaozen gas",
        region="Mangystau region",
        operator="Ozenmunaigas JSC, associated gas power plant",
        licence_number="DM-0007/2024",
        licence_date=dt.date(2024, 2, 20),
        energy_source="gas",
        power_capacity_mw="5",
        commissioned_on=dt.date(2024, 6, 15),
        pool_name="ViaBTC",
        payout_scheme="pps_plus",
        pool_fee_percent="4",
        payout_address="bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
        tolerance_percent="4",
        wallet_code="btc-mining-zhanaozen",
        wallet_name="BTC mining: Zhanaozen gas",
        wallet_address="1AGNa15ZQXAZUgFiqJ2i7Z2DPU2J6hW62i",
        machine_model="Antminer S19k Pro",
        machines=1500,
        nominal_ths="120",
        j_per_th="23",
        targets=(ReportState.POSTED, PENDING, ReportState.SUBMITTED),
        pool_underpays=True,
    ),
    SampleSite(
        key="shardara",
        name="Shardara HPP",
        region="Turkistan region",
        operator="Shardara HPP JSC",
        licence_number="DM-0004/2023",
        licence_date=dt.date(2023, 11, 3),
        energy_source="hydro",
        power_capacity_mw="10",
        commissioned_on=dt.date(2024, 3, 1),
        pool_name="Braiins Pool",
        payout_scheme="pplns",
        pool_fee_percent="1.5",
        payout_address="1wiz18xYmhRX6xStj2b9t1rwWX4GKUgpv",
        tolerance_percent="3",
        wallet_code="btc-mining-shardara",
        wallet_name="BTC mining: Shardara HPP",
        wallet_address="3CMNFxN1oHBc4R1EpboAL5yzHGgE611Xou",
        machine_model="Antminer S21",
        machines=2000,
        nominal_ths="200",
        j_per_th="17.5",
        targets=(ReportState.POSTED, PENDING, ReportState.DRAFT),
        curtailed=CURTAILMENT,
        explanation=CURTAILMENT_EXPLANATION,
    ),
)

#: Ekibastuz's October output swept to cold storage.
SWEEP_SITE = "ekibastuz"


def load(context: SampleContext) -> None:
    clerk = context.user(MAKER)
    epochs = bitcoin_epochs()
    for spec in SITES:
        site = _site(context, spec, clerk)
        if spec.pool_underpays:
            _pool_statement(context, site, spec, clerk, epochs)
        for period, target in zip((OCTOBER, NOVEMBER, DECEMBER), spec.targets, strict=True):
            _report(context, site, spec, period, target, clerk, epochs)
        if spec.key == SWEEP_SITE:
            _sweep(context, site, clerk)


def _wallet(context: SampleContext, spec: SampleSite) -> Wallet:
    wallet = Wallet.objects.filter(code=spec.wallet_code).first()
    if wallet is None:
        wallet = Wallet(
            code=spec.wallet_code, name=spec.wallet_name, kind=WalletKind.HOT, network=Network.BITCOIN
        )
        wallet.full_clean()
        wallet.save()
        context.count(str(Wallet._meta.verbose_name_plural), True)
    if not wallet.addresses.exists():
        entry = WalletAddress(
            wallet=wallet, network=Network.BITCOIN, address=spec.wallet_address, label="Site custody address"
        )
        entry.full_clean()
        entry.save()
        context.count(str(WalletAddress._meta.verbose_name_plural), True)
    registered = timezone.make_aware(dt.datetime(2024, 9, 2, 9, 0))
    Wallet.objects.filter(pk=wallet.pk, created_at__gt=registered).update(created_at=registered)
    WalletAddress.objects.filter(wallet=wallet, created_at__gt=registered).update(created_at=registered)
    return wallet


def _site(context: SampleContext, spec: SampleSite, clerk) -> Site:
    site = Site.objects.filter(licence_number=spec.licence_number).first()
    context.count("mining sites", site is None)
    if site is None:
        site = services.register_site(
            name=spec.name,
            region=spec.region,
            operator=spec.operator,
            licence_number=spec.licence_number,
            licence_date=spec.licence_date,
            energy_source=spec.energy_source,
            power_capacity_mw=spec.power_capacity_mw,
            commissioned_on=spec.commissioned_on,
            pool_name=spec.pool_name,
            payout_scheme=spec.payout_scheme,
            pool_fee_percent=spec.pool_fee_percent,
            payout_address=spec.payout_address,
            custody_wallet=_wallet(context, spec),
            tolerance_percent=spec.tolerance_percent,
            actor=clerk,
        )
    if not site.fleets.exists():
        services.add_fleet(
            site=site,
            machine_model=spec.machine_model,
            count=spec.machines,
            nominal_hashrate_ths=spec.nominal_ths,
            efficiency_j_per_th=spec.j_per_th,
            actor=clerk,
        )
        context.count("mining fleets", True)
    return site


def _noise(spec: SampleSite, day: dt.date, what: str, spread: Decimal) -> Decimal:
    """A deterministic factor in ``1 ± spread`` for the site, day and figure."""
    digest = hashlib.sha256(f"sample:mining:{spec.key}:{day.isoformat()}:{what}".encode()).digest()
    unit = Decimal(int.from_bytes(digest[:4], "big")) / Decimal(2**32 - 1)  # 0 … 1
    return 1 + spread * (2 * unit - 1)


def _days(period: tuple[dt.date, dt.date]):
    day = period[0]
    while day <= period[1]:
        yield day
        day += dt.timedelta(days=1)


def _in(day: dt.date, span: tuple[dt.date, dt.date] | None) -> bool:
    return span is not None and span[0] <= day <= span[1]


def daily_rows(spec: SampleSite, period: tuple[dt.date, dt.date], epochs) -> list[dict]:
    """The site's daily lines of ``period``: hashrate 95–99% of the fleet's nominal, gross output
    the expected output of that hashrate within ±1.5% (85% of it when under-reported; the
    running share of the day when curtailed), the pool's fee by the site's scheme, energy from
    hashrate × J/TH over the hours run and its cost at 25 KZT/kWh."""
    nominal_ths = Decimal(spec.nominal_ths) * spec.machines
    j_per_th = Decimal(spec.j_per_th)
    fee = Decimal(spec.pool_fee_percent) / 100
    fees_per_block = settings.MINING_DEFAULT_FEES_PER_BLOCK_SATS
    rows = []
    for day in _days(period):
        ths = (nominal_ths * (Decimal("0.97") * _noise(spec, day, "hashrate", Decimal("0.02")))).quantize(
            Decimal(1)
        )
        curtailed = _in(day, spec.curtailed)
        uptime = (
            CURTAILED_UPTIME
            if curtailed
            else (Decimal("98.8") * _noise(spec, day, "uptime", Decimal("0.01")))
        )
        uptime = min(uptime, Decimal(100)).quantize(Decimal("0.1"))
        hashrate_hs = int(ths) * 10**12
        per_hash = expected_output(
            day=day, hashrate_hs=1, fees_per_block_sats=fees_per_block, tz="Asia/Almaty", epochs=epochs
        ).exact_sats
        expected = Fraction(hashrate_hs) * per_hash
        share = Fraction(_noise(spec, day, "luck", Decimal("0.015")))
        if _in(day, spec.under_reported):
            share *= Fraction(85, 100)
        if curtailed:
            share *= Fraction(uptime) / 100
        gross = round(expected * share)
        fees = int((Decimal(gross) * fee).to_integral_value(ROUND_HALF_EVEN))
        full_day_mwh = ths * j_per_th * 24 / Decimal(10**6)
        energy = (full_day_mwh * uptime / 100).quantize(Decimal("0.001"))
        curtailment = (full_day_mwh - energy).quantize(Decimal("0.001")) if curtailed else Decimal(0)
        rows.append(
            {
                "day": day,
                "average_hashrate_hs": Decimal(hashrate_hs),
                "uptime_percent": uptime,
                "energy_mwh": energy,
                "curtailment_mwh": curtailment,
                "btc_gross": gross,
                "pool_fees": fees,
                "btc_net": gross - fees,
                "energy_cost_kzt": (energy * 1000 * KZT_PER_KWH).quantize(Decimal("0.01")),
            }
        )
    return rows


def _btc(sats: int) -> str:
    return f"{sats // 10**8}.{sats % 10**8:08d}"


def pool_statement_csv(spec: SampleSite, epochs) -> bytes:
    """The pool's statement of October and November: what the site reported, except the
    :data:`UNDERPAID_DAYS`, credited that much lower (no payout transactions: the receipts at
    the payout address are not part of the sample)."""
    fee = Decimal(spec.pool_fee_percent) / 100
    out = ["day,gross_btc,fee_btc,net_btc"]
    for row in daily_rows(spec, OCTOBER, epochs) + daily_rows(spec, NOVEMBER, epochs):
        gross, fees = row["btc_gross"], row["pool_fees"]
        short = UNDERPAID_DAYS.get(row["day"])
        if short:
            gross = gross * (100 - short) // 100
            fees = int((Decimal(gross) * fee).to_integral_value(ROUND_HALF_EVEN))
        out.append(f"{row['day'].isoformat()},{_btc(gross)},{_btc(fees)},{_btc(gross - fees)}")
    return ("\n".join(out) + "\n").encode()


def _pool_statement(context: SampleContext, site: Site, spec: SampleSite, clerk, epochs) -> None:
    content = pool_statement_csv(spec, epochs)
    digest = hashlib.sha256(content).hexdigest()
    known = PoolStatement.objects.filter(site=site, sha256=digest).exists()
    context.count("pool statements", not known)
    if not known:
        payouts.import_pool_statement(site=site, content=content, format="csv", actor=clerk)


def _report(context, site: Site, spec: SampleSite, period, target: str, clerk, epochs) -> OutputReport:
    report = OutputReport.objects.filter(site=site, period_start=period[0], period_end=period[1]).first()
    if report is None:
        report = services.open_report(site=site, period_start=period[0], period_end=period[1], actor=clerk)
        context.count("output reports", True)
    if report.state == ReportState.DRAFT and not report.lines.exists():
        lines = services.record_daily_lines(report=report, rows=daily_rows(spec, period, epochs), actor=clerk)
        for _line in lines:
            context.count("daily lines", True)
    if target == ReportState.DRAFT:
        return report
    if report.state == ReportState.DRAFT:
        report = submit_report(report=report, actor=clerk)
    if target == ReportState.SUBMITTED:
        return report
    if report.state == ReportState.SUBMITTED:
        record_verification(report=report, actor=clerk, explanation=spec.explanation)
        report.refresh_from_db()
    if report.state != ReportState.VERIFIED:
        return report
    key = f"sample:mining:{spec.key}:{period[0]:%Y-%m}:accept"
    context.count("approval requests", not ApprovalRequest.objects.filter(idempotency_key=key).exists())
    request = request_acceptance(
        report=report,
        maker=clerk,
        comment=f"{site.name}, {period[0]:%B %Y} output (sample data).",
        idempotency_key=key,
    )
    if target == ReportState.POSTED:
        request = context.approve(request, [context.user(u) for u in TREASURY])
        _ensure_executed(request, key)
    report.refresh_from_db()
    return report


def _sweep(context: SampleContext, site: Site, clerk) -> None:
    """Sweep the site's October output (its ``reserve:mined`` balance) to cold storage."""
    key = f"sample:mining:{SWEEP_SITE}:2024-10:sweep"
    request = ApprovalRequest.objects.filter(idempotency_key=key).first()
    context.count("approval requests", request is None)
    if request is None:
        october = OutputReport.objects.get(site=site, period_start=OCTOBER[0])
        amount = sum(october.lines.values_list("btc_net", flat=True))
        request = request_sweep(
            site=site,
            to_wallet=Wallet.objects.get(code=COLD_WALLET),
            amount=_btc(amount),
            actor=clerk,
            comment="October 2024 output (sample data).",
            idempotency_key=key,
        )
    request = context.approve(request, [context.user(u) for u in CUSTODY])
    _ensure_executed(request, key)


def _ensure_executed(request: ApprovalRequest, key: str) -> None:
    if request.status != RequestStatus.EXECUTED:
        raise ValidationError(
            f"Sample request {key} is {request.status}: the approvers in this database cannot meet its "
            "policy. Load the sample data into a fresh database."
        )
