"""The clerks' admin screens of the reserve: reference data is edited, the ledger is only read."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from reserve.addresses import encode_segwit
from reserve.ledger.reasons import reason_label
from reserve.ledger.services import Line, Origin, get_account, post_entry, reverse_entry
from reserve.models import (
    Account,
    Asset,
    AuditEvent,
    JournalEntry,
    Lot,
    Period,
    Posting,
    Wallet,
    WalletAddress,
)
from tests.support.factories import AssetFactory, UserFactory, WalletAddressFactory, WalletFactory, eth
from tests.support.screens import wallet_form_data

#: BIP-173 test vector (P2WPKH, mainnet).
VALID_ADDRESS = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"

MODELS = [
    "asset",
    "wallet",
    "walletaddress",
    "account",
    "journalentry",
    "posting",
    "lot",
    "period",
    "auditevent",
]
#: Rows written once and never changed are their own history: no version pages, one write.
INSERT_ONLY_MODELS = ["journalentry", "posting"]
HISTORY_MODELS = [m for m in MODELS if m not in ("auditevent", *INSERT_ONLY_MODELS)]
LEDGER_MODELS = ["account", "journalentry", "posting", "lot", "period", "auditevent"]


def segwit_address(n: int) -> str:
    return encode_segwit("bc", 0, bytes([n % 256]) * 20)


def staff(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def superuser(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def clerk_client(client, clerk):
    client.force_login(staff(clerk))
    return client


@pytest.fixture
def auditor_client(client, auditor):
    client.force_login(staff(auditor))
    return client


@pytest.fixture
def posted_entry(wallet, asset, fund_in):
    fund_in(wallet, asset, 150_000_000, label="Court order 7/2024")
    return JournalEntry.objects.get()


def build_ledger(count: int, asset, fund_in, *, start: int = 0) -> None:
    """``count`` of every kind of row: wallets with addresses, entries, reversals, lots..."""
    for n in range(start, start + count):
        wallet = WalletFactory()
        WalletAddressFactory(wallet=wallet, address=segwit_address(n))
        fund_in(wallet, asset, 100_000 + n)
        fund_in(wallet, asset, 5, category="reserve:mined")
        reverse_entry(entry=JournalEntry.objects.latest("id"))
        Period.objects.create(year=2000 + n, month=1)
        AssetFactory(symbol=f"TOK{n}", name=f"Token {n}", decimals=6)


def url(model: str, view: str, *args) -> str:
    return reverse(f"admin:reserve_{model}_{view}", args=args)


def first_row(model: str):
    return (
        {
            "asset": Asset,
            "wallet": Wallet,
            "walletaddress": WalletAddress,
            "account": Account,
            "journalentry": JournalEntry,
            "posting": Posting,
            "lot": Lot,
            "period": Period,
            "auditevent": AuditEvent,
        }[model]
        .objects.order_by("pk")
        .first()
    )


# Every screen opens


def test_the_admin_is_titled_state_digital_asset_fund(admin_client):
    response = admin_client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert "State Digital Asset Fund" in response.content.decode()


@pytest.mark.parametrize("model", MODELS)
def test_every_list_page_opens_for_a_superuser(admin_client, asset, fund_in, model):
    build_ledger(2, asset, fund_in)

    response = admin_client.get(url(model, "changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count > 0


@pytest.mark.parametrize("model", MODELS)
def test_every_detail_page_opens_for_a_superuser(admin_client, asset, fund_in, model):
    build_ledger(1, asset, fund_in)

    response = admin_client.get(url(model, "change", first_row(model).pk))

    assert response.status_code == 200


@pytest.mark.parametrize("model", HISTORY_MODELS)
def test_every_history_and_version_page_opens_for_a_superuser(admin_client, asset, fund_in, model):
    build_ledger(1, asset, fund_in)
    row = first_row(model)

    history = admin_client.get(url(model, "history", row.pk))
    version = admin_client.get(url(model, "simple_history", row.pk, row.history.first().history_id))

    assert history.status_code == 200
    assert version.status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_list_pages_make_the_same_number_of_queries_for_one_row_or_five(admin_client, asset, fund_in, model):
    build_ledger(1, asset, fund_in)
    with CaptureQueriesContext(connection) as one_row:
        assert admin_client.get(url(model, "changelist")).status_code == 200
    build_ledger(4, asset, fund_in, start=1)

    with CaptureQueriesContext(connection) as five_rows:
        response = admin_client.get(url(model, "changelist"))

    assert response.context["cl"].result_count >= 5
    assert len(five_rows) == len(one_row), [q["sql"] for q in five_rows.captured_queries]


# The ledger is read-only


def test_an_entry_page_shows_its_postings_with_exact_amounts_and_no_save_button(admin_client, posted_entry):
    response = admin_client.get(url("journalentry", "change", posted_entry.pk))

    page = response.content.decode()
    assert posted_entry.number in page
    assert reason_label(posted_entry.reason) in page
    assert "1.50000000" in page and "-1.50000000" in page
    assert "Reserve: forfeited" in page
    assert 'name="_save"' not in page
    assert 'name="_continue"' not in page


def test_an_entry_page_shows_amounts_of_an_18_decimal_asset_exactly(admin_client, fund_in):
    ether = eth()
    wallet = WalletFactory(network="ethereum")
    fund_in(wallet, ether, 123_456_789 * 10**18 + 1)

    response = admin_client.get(url("journalentry", "change", JournalEntry.objects.get().pk))

    assert "123456789.000000000000000001" in response.content.decode()


def test_an_entry_page_links_a_reversal_both_ways(admin_client, posted_entry):
    reversal = reverse_entry(entry=posted_entry)

    original_page = admin_client.get(url("journalentry", "change", posted_entry.pk)).content.decode()
    reversal_page = admin_client.get(url("journalentry", "change", reversal.pk)).content.decode()

    assert url("journalentry", "change", reversal.pk) in original_page
    assert url("journalentry", "change", posted_entry.pk) in reversal_page
    assert "Reversal of an entry" in reversal_page


def test_it_refuses_editing_a_posted_entry(admin_client, posted_entry):
    response = admin_client.post(
        url("journalentry", "change", posted_entry.pk),
        {"memo": "rewritten", "reason": "reserve.transfer", "_save": "Save"},
    )

    assert response.status_code == 403
    posted_entry.refresh_from_db()
    assert posted_entry.memo == ""
    assert posted_entry.reason == "test.inflow"


def test_it_refuses_deleting_a_posted_entry(admin_client, posted_entry):
    page = admin_client.get(url("journalentry", "delete", posted_entry.pk))
    confirm = admin_client.post(url("journalentry", "delete", posted_entry.pk), {"post": "yes"})

    assert page.status_code == 403
    assert confirm.status_code == 403
    assert JournalEntry.objects.filter(pk=posted_entry.pk).exists()


@pytest.mark.parametrize("model", INSERT_ONLY_MODELS)
def test_the_history_of_an_insert_only_row_is_its_one_write(admin_client, wallet, asset, fund_in, model):
    clerk = UserFactory(username="posting-clerk")
    fund_in(wallet, asset, 150_000_000, label="Court order 7/2024", actor=clerk)
    row = first_row(model)
    entry = row if model == "journalentry" else row.entry

    page = admin_client.get(url(model, "history", row.pk))

    assert page.status_code == 200
    writes = page.context["action_list"]
    assert [(w.action_time, w.user) for w in writes] == [(entry.posted_at, clerk)]
    assert "posting-clerk" in page.content.decode()


def test_it_refuses_reverting_a_posted_entry_through_its_history(admin_client, posted_entry):
    """There is no version to revert to: the version pages do not exist, and nothing changes."""
    with pytest.raises(NoReverseMatch):
        url("journalentry", "simple_history", posted_entry.pk, 1)
    response = admin_client.post(f"{url('journalentry', 'history', posted_entry.pk)}1/", {"memo": "x"})

    assert response.status_code != 200  # the admin's catch-all redirects to the (read-only) entry
    posted_entry.refresh_from_db()
    assert posted_entry.memo == ""


@pytest.mark.parametrize("model", LEDGER_MODELS)
def test_nobody_adds_changes_or_deletes_ledger_rows_in_the_admin(admin_client, posted_entry, model):
    Period.objects.create(year=2024, month=1)
    row = first_row(model)

    assert admin_client.get(url(model, "add")).status_code == 403
    assert admin_client.post(url(model, "change", row.pk), {"_save": "Save"}).status_code == 403
    assert admin_client.post(url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert type(row).objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("model", LEDGER_MODELS)
def test_ledger_lists_offer_no_actions(admin_client, posted_entry, model):
    response = admin_client.get(url(model, "changelist"))

    assert response.context["action_form"] is None


def test_balances_show_exact_amounts_and_category_labels(admin_client, wallet, asset, fund_in):
    fund_in(wallet, asset, 1)

    page = admin_client.get(url("account", "changelist")).content.decode()

    assert "0.00000001" in page
    assert "Reserve: forfeited" in page


def test_a_balance_links_to_its_postings(admin_client, wallet, other_wallet, asset, fund_in):
    account = fund_in(wallet, asset, 7)
    fund_in(other_wallet, asset, 9)

    response = admin_client.get(url("posting", "changelist"), {"account__id__exact": account.pk})

    assert response.status_code == 200
    assert {p.account_id for p in response.context["cl"].result_list} == {account.pk}


def test_a_lot_shows_its_origin_restriction_remaining_and_original_lot(
    admin_client, wallet, other_wallet, asset
):
    source = get_account(wallet=wallet, category="reserve:forfeited", asset=asset)
    post_entry(
        reason="test.inflow",
        lines=[
            Line(get_account(wallet=None, category="external", asset=asset), -300),
            Line(source, 300),
        ],
        origin=Origin(kind="intake.seizure", label="Court order 7/2024", restriction="no_sale"),
    )
    post_entry(
        reason="test.move",
        lines=[
            Line(source, -120),
            Line(get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset), 120),
        ],
    )
    root = Lot.objects.get(parent=None)
    child = Lot.objects.get(parent=root)

    page = admin_client.get(url("lot", "change", child.pk)).content.decode()
    root_page = admin_client.get(url("lot", "change", root.pk)).content.decode()

    assert "Court order 7/2024" in page
    assert "no_sale" in page
    assert "0.00000120" in page
    assert url("lot", "change", root.pk) in page
    assert "0.00000180" in root_page


def test_a_lot_gathered_from_several_lots_names_every_lot_it_was_taken_from(
    admin_client, wallet, other_wallet, asset, fund_in
):
    source = fund_in(wallet, asset, 300, label="Court order 7/2024")
    middle = get_account(wallet=other_wallet, category="reserve:forfeited", asset=asset)
    last = get_account(wallet=WalletFactory(code="cold-c"), category="reserve:forfeited", asset=asset)
    for _ in range(3):
        post_entry(reason="test.move", lines=[Line(source, -10), Line(middle, 10)])
    post_entry(reason="test.move", lines=[Line(middle, -30), Line(last, 30)])
    pieces = list(Lot.objects.filter(account=middle).order_by("id"))
    (gathered,) = Lot.objects.filter(account=last)

    page = admin_client.get(url("lot", "change", gathered.pk)).content.decode()

    assert gathered.parent == pieces[0]
    for piece in pieces:
        assert url("lot", "change", piece.pk) in page
    assert "0.00000030" in page


def test_audit_events_can_be_filtered_by_action_and_searched(admin_client, posted_entry):
    AuditEvent.objects.create(action="reserve.wallet.renamed", subject_repr="cold-a")

    by_action = admin_client.get(url("auditevent", "changelist"), {"action": "reserve.entry.posted"})
    by_search = admin_client.get(url("auditevent", "changelist"), {"q": posted_entry.number})

    assert [e.action for e in by_action.context["cl"].result_list] == ["reserve.entry.posted"]
    assert [e.subject_repr for e in by_search.context["cl"].result_list] == [posted_entry.number]


# Auditors read everything and change nothing


def test_an_auditor_can_view_entries_and_their_history(auditor_client, posted_entry):
    page = auditor_client.get(url("journalentry", "change", posted_entry.pk))
    history = auditor_client.get(url("journalentry", "history", posted_entry.pk))

    assert page.status_code == 200
    assert "1.50000000" in page.content.decode()
    assert history.status_code == 200


def test_an_auditor_cannot_change_a_wallet(auditor_client, wallet):
    page = auditor_client.get(url("wallet", "change", wallet.pk))
    response = auditor_client.post(
        url("wallet", "change", wallet.pk), wallet_form_data(wallet, name="Renamed by auditor")
    )

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert response.status_code == 403
    wallet.refresh_from_db()
    assert wallet.name == "Cold A"


def test_an_auditor_cannot_revert_a_wallet_through_its_history(auditor_client, wallet):
    first_version = wallet.history.get()
    wallet.name = "Cold A (renamed)"
    wallet.save()

    page = auditor_client.get(url("wallet", "simple_history", wallet.pk, first_version.history_id))
    response = auditor_client.post(url("wallet", "simple_history", wallet.pk, first_version.history_id), {})

    assert page.status_code == 200
    assert 'value="Revert"' not in page.content.decode()
    assert 'name="name"' not in page.content.decode(), "an auditor sees the version read-only"
    assert response.status_code == 403
    wallet.refresh_from_db()
    assert wallet.name == "Cold A (renamed)"


@pytest.mark.parametrize(
    "path",
    ["wallet/add/", "walletaddress/add/", "asset/add/"],
)
def test_a_clerk_cannot_add_custody_records_alone(clerk_client, path):
    """Custody records change only through approved custody changes (reserve.custody_change)."""
    before = (Wallet.objects.count(), WalletAddress.objects.count())
    response = clerk_client.post(
        f"/admin/reserve/{path}", {"code": "hot-x", "address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"}
    )
    assert response.status_code == 403
    assert (Wallet.objects.count(), WalletAddress.objects.count()) == before


def test_a_clerk_cannot_change_or_deactivate_a_wallet_alone(clerk_client, wallet):
    response = clerk_client.post(
        url("wallet", "change", wallet.pk), wallet_form_data(wallet, code="cold-z", is_active="")
    )
    wallet.refresh_from_db()
    assert response.status_code == 403
    assert (wallet.code, wallet.is_active) == ("cold-a", True)


def test_a_clerk_cannot_revert_a_wallet_through_its_history(clerk_client, wallet):
    first_version = wallet.history.get()
    wallet.name = "Cold A (renamed)"
    wallet.save()
    response = clerk_client.post(url("wallet", "simple_history", wallet.pk, first_version.history_id), {})
    assert response.status_code == 403
    wallet.refresh_from_db()
    assert wallet.name == "Cold A (renamed)"


def test_the_history_page_of_a_wallet_shows_the_change_made(clerk_client, wallet):
    wallet.name = "Cold A (vault 2)"
    wallet.save()
    page = clerk_client.get(url("wallet", "history", wallet.pk))
    assert page.status_code == 200
    assert "Cold A (vault 2)" in page.content.decode() or "vault 2" in page.content.decode()


def test_entries_and_requests_filter_by_registered_codes(client, team, fund_in, asset, wallet):
    fund_in(wallet, asset, 5)
    client.force_login(team.root)
    entries = client.get(reverse("admin:reserve_journalentry_changelist"), {"reason": "test.inflow"})
    assert entries.status_code == 200 and "1 journal entry" in entries.content.decode()
    none = client.get(reverse("admin:reserve_journalentry_changelist"), {"reason": "reserve.transfer"})
    assert "0 journal entries" in none.content.decode()
    requests = client.get(reverse("admin:reserve_approvalrequest_changelist"), {"kind": "reserve.transfer"})
    assert requests.status_code == 200
