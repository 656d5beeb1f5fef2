import pytest
from django.db import connection

from reserve.posting_rules import NO_SALE, register_reason
from reserve.services.ledger import Line, Origin, get_account, post_entry
from tests.factories import UserFactory, WalletFactory, btc

# Reasons for testing the ledger's mechanics on their own. Every real reason is posted only by
# an executing approval request; these need none.
register_reason("test.inflow", "Test inflow", opens_lots=True, requires_approval=False)
register_reason("test.move", "Test move", requires_approval=False)
register_reason(
    "test.outflow", "Test outflow", requires_approval=False, forbidden_restrictions=frozenset({NO_SALE})
)


def pytest_collection_modifyitems(config, items):
    on_postgres = connection.vendor == "postgresql"
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)


@pytest.fixture
def asset(db):
    return btc()


@pytest.fixture
def wallet(db):
    return WalletFactory(code="cold-a", name="Cold A")


@pytest.fixture
def other_wallet(db):
    return WalletFactory(code="cold-b", name="Cold B")


@pytest.fixture
def clerk(db):
    return UserFactory(username="clerk", roles=["Intake clerk"])


@pytest.fixture
def auditor(db):
    return UserFactory(username="auditor", roles=["Auditor"])


@pytest.fixture
def fund_in(db):
    """Bring ``units`` of an asset into a wallet's account from outside, opening a lot."""

    def bring(wallet, asset, units, *, category="reserve:forfeited", label="Opening balance", actor=None):
        account = get_account(wallet=wallet, category=category, asset=asset)
        external = get_account(wallet=None, category="external", asset=asset)
        post_entry(
            reason="test.inflow",
            lines=[Line(external, -units), Line(account, units)],
            origin=Origin(kind="test.inflow", label=label),
            actor=actor,
        )
        account.refresh_from_db()
        return account

    return bring
