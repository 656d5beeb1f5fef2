import datetime as dt

import pytest

from intake import services
from intake.models import OrderKind, SourceKind
from tests.support.factories import UserFactory, WalletFactory, random_address


@pytest.fixture(autouse=True)
def document_store(settings, tmp_path):
    """Every test stores court documents in its own empty folder."""
    folder = tmp_path / "court-documents"
    settings.INTAKE_DOCUMENT_DIR = folder
    return folder


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def court(clerk):
    return services.register_court(
        name="Specialized Interdistrict Court", region="Astana", code="astana-sic", actor=clerk
    )


@pytest.fixture
def case(court, clerk):
    return services.open_case(
        court=court,
        number="2-15/2026",
        investigating_authority="Anti-Corruption Agency",
        opened_on=dt.date(2026, 1, 10),
        actor=clerk,
    )


@pytest.fixture
def order(case, clerk):
    return services.record_order(
        case=case, kind=OrderKind.ARREST, number="A-1", issued_on=dt.date(2026, 1, 12), actor=clerk
    )


@pytest.fixture
def register(order, asset, wallet, clerk):
    """Register a seized bitcoin output (defaults: 0.5 BTC, output 0 of a fixed txid)."""

    def run(**overrides):
        values = {
            "order": order,
            "asset": asset,
            "claimed_amount": "0.5",
            "source_kind": SourceKind.ADDRESS,
            "source_address": random_address("bitcoin"),
            "txid": "ab" * 32,
            "vout": 0,
            "custody_wallet": wallet,
            "actor": clerk,
        }
        values.update(overrides)
        return services.register_item(**values)

    return run


@pytest.fixture
def eth_wallet(db):
    return WalletFactory(code="eth-cold", name="ETH cold", network="ethereum")


def days_ago(days: int) -> dt.date:
    from django.utils import timezone

    return timezone.localdate() - dt.timedelta(days=days)


@pytest.fixture
def in_custody(team, register, approve):
    """Register a seized output and take it into custody through the engine (0.5 BTC unless
    ``received`` says otherwise)."""
    from intake.transitions import request_custody_intake

    def run(received="0.5", **overrides):
        item = register(claimed_amount=received, **overrides)
        approve(
            request_custody_intake(
                item=item, received_amount=received, evidence="Statement", maker=team.maker
            ),
            team.custody1,
        )
        item.refresh_from_db()
        return item

    return run


@pytest.fixture
def final_order(case, clerk):
    """Record a court order of ``kind`` in the case that is final: issued 40 days ago, appeal
    term expired 20 days ago without an appeal, in force since the day after (overridable)."""
    counter = iter(range(1, 1000))

    def run(kind=OrderKind.CONFISCATION, **overrides):
        values = {
            "case": case,
            "kind": kind,
            "number": f"V-{next(counter)}",
            "issued_on": days_ago(40),
            "appeal_deadline": days_ago(20),
            "in_force_on": days_ago(19),
            "actor": clerk,
        }
        values.update(overrides)
        return services.record_order(**values)

    return run


RELEASE_DESTINATION = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"


@pytest.fixture
def released(team, in_custody, final_order, approve):
    """An item in custody released in full (or ``amount`` of it) to ``destination``."""

    from intake.models import ItemState
    from intake.transitions import request_release

    def run(*, destination=RELEASE_DESTINATION, amount="", **custody):
        item = in_custody(**custody)
        request = request_release(
            item=item,
            order=final_order(kind=OrderKind.RELEASE),
            destination=destination,
            amount=amount,
            maker=team.maker,
        )
        approve(request, team.custody1)
        approve(request, team.board1)
        request.refresh_from_db()
        assert request.status == "executed", request.result
        part = item.parts.get(state=ItemState.RELEASED) if amount else item
        part.refresh_from_db()
        assert part.state == ItemState.RELEASED
        return part

    return run
