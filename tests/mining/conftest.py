import datetime as dt
from decimal import Decimal

import pytest

from mining import services
from tests.support.factories import UserFactory, WalletFactory, random_address


@pytest.fixture
def mining_clerk(db):
    return UserFactory(username="miner-clerk", roles=["Mining clerk"])


@pytest.fixture
def site(mining_clerk):
    wallet = WalletFactory(code="mined-cold")
    return services.register_site(
        name="Ekibastuz DC-1",
        region="Pavlodar",
        operator="Energy Mining LLP",
        licence_number="ML-0042",
        licence_date=dt.date(2018, 3, 1),
        energy_source="coal",
        power_capacity_mw=Decimal("25.5"),
        commissioned_on=dt.date(2018, 6, 1),
        pool_name="Accredited Pool",
        payout_scheme="fpps",
        payout_address=random_address("bitcoin"),
        custody_wallet=wallet,
        tolerance_percent=Decimal("5"),
        actor=mining_clerk,
    )


@pytest.fixture
def fleet(site, mining_clerk):
    # 10 000 machines × 14 TH/s = 140 PH/s nominal (1.4e17 H/s).
    return services.add_fleet(
        site=site,
        machine_model="Antminer S9",
        count=10_000,
        nominal_hashrate_ths=Decimal("14"),
        efficiency_j_per_th=Decimal("98"),
        actor=mining_clerk,
    )


@pytest.fixture
def report(site, fleet, mining_clerk):
    return services.open_report(
        site=site, period_start=dt.date(2019, 1, 14), period_end=dt.date(2019, 1, 20), actor=mining_clerk
    )


def line_figures(**overrides):
    figures = {
        "day": dt.date(2019, 1, 20),
        "average_hashrate_hs": Decimal(5 * 10**16),
        "uptime_percent": Decimal("98.5"),
        "energy_mwh": Decimal("120"),
        "curtailment_mwh": Decimal("3.5"),
        "btc_gross": 216_000_000,
        "pool_fees": 4_320_000,
        "btc_net": 211_680_000,
        "energy_cost_kzt": Decimal("2400000.00"),
        "payout_txids": ["ab" * 32],
    }
    return figures | overrides
