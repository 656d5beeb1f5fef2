import datetime as dt

import pytest
from django.db import connection

from reserve.ledger.reasons import NO_SALE, register_reason
from reserve.ledger.services import Line, Origin, get_account, post_entry
from tests.support.factories import UserFactory, WalletFactory, btc

# Reasons for testing the ledger's mechanics on their own. Every real reason is posted only by
# an executing approval request; these need none.
register_reason("test.inflow", "Test inflow", opens_lots=True, requires_approval=False)
register_reason("test.move", "Test move", requires_approval=False)
register_reason(
    "test.outflow", "Test outflow", requires_approval=False, forbidden_restrictions=frozenset({NO_SALE})
)


def pytest_report_header(config):
    from tests.reserve.test_simulation import OPS, SEED

    return f"simulation: seed {SEED}, {OPS} operations (replay: make simulate SEED={SEED} OPS={OPS})"


def pytest_collection_modifyitems(config, items):
    on_postgres = connection.vendor == "postgresql"
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)


@pytest.fixture(autouse=True)
def english_by_default():
    """A request with another Accept-Language leaves its language active in the thread; every
    test starts in English, the language the assertions are written in."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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


#: When ``fund_in`` brings units in by default: before every date the tests post at, so that
#: backdated test entries never take units the account did not hold then.
FUNDED_AT = dt.datetime(2025, 1, 2, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=5)))


@pytest.fixture
def fund_in(db):
    """Bring ``units`` of an asset into a wallet's account from outside, opening a lot."""

    def bring(
        wallet,
        asset,
        units,
        *,
        category="reserve:forfeited",
        label="Opening balance",
        actor=None,
        effective_at=FUNDED_AT,
    ):
        account = get_account(wallet=wallet, category=category, asset=asset)
        external = get_account(wallet=None, category="external", asset=asset)
        post_entry(
            reason="test.inflow",
            lines=[Line(external, -units), Line(account, units)],
            origin=Origin(kind="test.inflow", label=label),
            actor=actor,
            effective_at=effective_at,
        )
        account.refresh_from_db()
        return account

    return bring


@pytest.fixture
def funded(asset, wallet, fund_in):
    """5 BTC held in ``wallet`` as forfeited reserve, taken over from a court order."""
    return fund_in(wallet, asset, 5 * 10**8, label="Court order 2-15/2026")


@pytest.fixture
def funded_with_destination(funded, other_wallet):
    """``funded``, and ``other_wallet`` (cold-b) to move the bitcoins to."""
    return funded


@pytest.fixture
def funded_opening_balance(asset, wallet, fund_in):
    """5 BTC held in ``wallet`` as forfeited reserve, brought in as a plain opening balance."""
    return fund_in(wallet, asset, 5 * 10**8)


class Team:
    """The named people of the approval tests (healthchecks' maker/checker/outsider style)."""

    def __init__(self):
        from django.contrib.auth.models import Group

        from reserve.approvals.services import bootstrap_approvers

        self.maker = UserFactory(username="maker", roles=["Intake clerk"], is_staff=True)
        self.custody1 = UserFactory(username="custody1", roles=["Custody officer"])
        self.custody2 = UserFactory(username="custody2", roles=["Custody officer"])
        self.custody3 = UserFactory(username="custody3", roles=["Custody officer"])
        self.treasury1 = UserFactory(username="treasury1", roles=["Treasury officer"])
        self.treasury2 = UserFactory(username="treasury2", roles=["Treasury officer"])
        self.board1 = UserFactory(username="board1", roles=["Board member"])
        self.board2 = UserFactory(username="board2", roles=["Board member"])
        self.board3 = UserFactory(username="board3", roles=["Board member"])
        self.outsider = UserFactory(username="outsider", roles=["Auditor"])
        self.root = UserFactory(username="root", is_staff=True, is_superuser=True)
        groups = {g.name: g for g in Group.objects.all()}
        bootstrap_approvers(
            assignments=[
                (self.custody1, groups["Custody officer"]),
                (self.custody2, groups["Custody officer"]),
                (self.custody3, groups["Custody officer"]),
                (self.treasury1, groups["Treasury officer"]),
                (self.treasury2, groups["Treasury officer"]),
                (self.board1, groups["Board member"]),
                (self.board2, groups["Board member"]),
                (self.board3, groups["Board member"]),
            ]
        )


@pytest.fixture
def team(db):
    return Team()


@pytest.fixture
def approve():
    """Decide a request as one approver with a verified second factor (service level)."""
    from reserve.approvals.services import decide

    def run(request, user, verdict="approve", comment="Checked against the evidence."):
        request.refresh_from_db()
        return decide(
            request=request,
            approver=user,
            verdict=verdict,
            comment=comment,
            digest=request.payload_digest,
            second_factor=True,
        )

    return run
