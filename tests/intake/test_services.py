import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from intake import services
from intake.models import CustodyEvent, ItemState, OrderKind, SeizedItem, SourceKind
from reserve.models import AuditEvent
from tests.support.concurrency import run_threads
from tests.support.factories import eth, random_address


def refusal(excinfo, field):
    return " ".join(excinfo.value.message_dict[field])


def test_it_registers_an_item_with_its_first_custody_event(register):
    item = register()
    assert item.state == ItemState.REGISTERED
    assert item.claimed_amount == 50_000_000
    assert item.network == "bitcoin"
    event = CustodyEvent.objects.get(item=item)
    assert (event.sequence, event.action, event.previous_hash) == (1, "intake.item.registered", "")
    assert AuditEvent.objects.filter(action="intake.custody_event", data__hash=event.hash).exists()
    assert AuditEvent.objects.filter(action="intake.item.registered").count() == 1


def test_it_refuses_a_case_number_twice_at_the_same_court(case, court, clerk):
    with pytest.raises(ValidationError) as excinfo:
        services.open_case(
            court=court,
            number=case.number,
            investigating_authority="Police",
            opened_on=dt.date(2026, 2, 1),
            actor=clerk,
        )
    assert "already registered" in refusal(excinfo, "number")


def test_the_same_case_number_is_allowed_at_another_court(case, clerk):
    other = services.register_court(
        name="Almaty City Court", region="Almaty", code="almaty-city", actor=clerk
    )
    services.open_case(
        court=other,
        number=case.number,
        investigating_authority="Police",
        opened_on=dt.date(2026, 2, 1),
        actor=clerk,
    )


def test_it_refuses_an_order_in_force_before_it_was_issued(case, clerk):
    with pytest.raises(ValidationError) as excinfo:
        services.record_order(
            case=case,
            kind=OrderKind.CONFISCATION,
            number="V-1",
            issued_on=dt.date(2026, 3, 1),
            in_force_on=dt.date(2026, 2, 1),
            actor=clerk,
        )
    assert "before it is issued" in refusal(excinfo, "in_force_on")


def test_it_refuses_an_appeal_deadline_before_the_order(case, clerk):
    with pytest.raises(ValidationError) as excinfo:
        services.record_order(
            case=case,
            kind=OrderKind.CONFISCATION,
            number="V-1",
            issued_on=dt.date(2026, 3, 1),
            appeal_deadline=dt.date(2026, 2, 1),
            actor=clerk,
        )
    assert "appeal deadline" in refusal(excinfo, "appeal_deadline")


def test_it_refuses_a_verdict_in_force_before_its_appeal_term_ends(case, clerk):
    with pytest.raises(ValidationError) as excinfo:
        services.record_order(
            case=case,
            kind=OrderKind.CONFISCATION,
            number="V-1",
            issued_on=dt.date(2026, 3, 1),
            appeal_deadline=dt.date(2026, 3, 16),
            in_force_on=dt.date(2026, 3, 5),
            actor=clerk,
        )
    assert "appeal" in refusal(excinfo, "in_force_on")


def test_it_refuses_the_same_court_reference_twice(case, clerk):
    services.record_order(
        case=case,
        kind=OrderKind.ARREST,
        number="A-7",
        issued_on=dt.date(2026, 1, 1),
        court_reference="SUD-7",
        actor=clerk,
    )
    with pytest.raises(ValidationError) as excinfo:
        services.record_order(
            case=case,
            kind=OrderKind.ARREST,
            number="A-8",
            issued_on=dt.date(2026, 1, 1),
            court_reference="SUD-7",
            actor=clerk,
        )
    assert "SUD-7" in refusal(excinfo, "court_reference")


def test_it_refuses_the_same_output_twice_naming_the_item_and_case(register, clerk, case):
    first = register()
    other_case = services.open_case(
        court=case.court,
        number="2-99/2026",
        investigating_authority="Police",
        opened_on=dt.date(2026, 1, 1),
        actor=clerk,
    )
    other_order = services.record_order(
        case=other_case, kind=OrderKind.ARREST, number="A-9", issued_on=dt.date(2026, 1, 2), actor=clerk
    )
    with pytest.raises(ValidationError) as excinfo:
        register(order=other_order, txid=("AB" * 32))
    message = refusal(excinfo, "txid")
    assert f"item #{first.pk}" in message and "2-15/2026" in message
    assert SeizedItem.objects.count() == 1


def test_another_output_of_the_same_transaction_is_a_separate_item(register):
    register(vout=0)
    register(vout=1)
    assert SeizedItem.objects.count() == 2


def test_it_refuses_a_custody_wallet_on_the_wrong_network(register, eth_wallet):
    with pytest.raises(ValidationError) as excinfo:
        register(custody_wallet=eth_wallet)
    assert "Wrong network for the custody wallet" in refusal(excinfo, "custody_wallet")
    assert not SeizedItem.objects.exists()


@pytest.mark.parametrize("txid", ["ab" * 31, "zz" * 32, "0x" + "ab" * 32, "ab" * 32 + " "])
def test_it_refuses_a_bad_bitcoin_txid(register, txid):
    with pytest.raises(ValidationError) as excinfo:
        register(txid=txid)
    assert "64 hexadecimal digits" in refusal(excinfo, "txid")


def test_an_ethereum_txid_needs_its_0x(register, eth_wallet):
    with pytest.raises(ValidationError) as excinfo:
        register(
            asset=eth(), custody_wallet=eth_wallet, source_address=random_address("ethereum"), txid="ab" * 32
        )
    assert "0x" in refusal(excinfo, "txid")
    item = register(
        asset=eth(),
        custody_wallet=eth_wallet,
        source_address=random_address("ethereum"),
        txid="0x" + "AB" * 32,
    )
    assert item.txid == "0x" + "ab" * 32


def test_it_refuses_an_address_of_another_network(register):
    with pytest.raises(ValidationError) as excinfo:
        register(source_address=random_address("ethereum"))
    assert "source_address" in excinfo.value.message_dict


@pytest.mark.parametrize("amount", ["0", "-1", "0.000000001", "1e3", "abc"])
def test_it_refuses_a_claimed_amount_the_asset_cannot_hold(register, amount):
    with pytest.raises(ValidationError) as excinfo:
        register(claimed_amount=amount)
    assert "claimed_amount" in excinfo.value.message_dict


def test_it_refuses_an_inactive_asset(register, asset):
    asset.is_active = False
    asset.save()
    with pytest.raises(ValidationError) as excinfo:
        register()
    assert "deactivated" in refusal(excinfo, "asset")


def test_an_exchange_account_needs_no_txid(register):
    item = register(
        source_kind=SourceKind.EXCHANGE_ACCOUNT,
        source_address="",
        exchange_account="Binance UID 123",
        txid="",
        vout=None,
    )
    assert (item.txid, item.vout, item.source_address) == ("", None, "")


def test_a_txid_needs_its_output_index(register):
    with pytest.raises(ValidationError) as excinfo:
        register(vout=None)
    assert "vout" in excinfo.value.message_dict


def test_it_refuses_a_party_without_a_role(case, clerk):
    with pytest.raises(ValidationError):
        services.add_party(case=case, role="witness", name="A. Person", actor=clerk)


def test_party_personal_data_stays_out_of_the_audit_journal(case, clerk):
    services.add_party(
        case=case, role="owner", name="Aigerim Nurlanovna", identity_document_number="N1234567", actor=clerk
    )
    event = AuditEvent.objects.get(action="intake.party.added")
    assert (
        "Aigerim" not in str(event.data)
        and "N1234567" not in str(event.data)
        and "Aigerim" not in event.subject_repr
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clerks_registering_the_same_output_at_once_make_one_item(order, asset, wallet, clerk):
    assert connection.vendor == "postgresql"
    refusals = []

    def work(index):
        try:
            services.register_item(
                order=order,
                asset=asset,
                claimed_amount="1",
                source_kind=SourceKind.ADDRESS,
                source_address=random_address("bitcoin"),
                txid="cd" * 32,
                vout=3,
                custody_wallet=wallet,
                actor=clerk,
            )
        except ValidationError as exc:
            refusals.append(exc)
            raise

    errors = run_threads(4, work)
    assert SeizedItem.objects.filter(txid="cd" * 32, vout=3).count() == 1
    assert len(errors) == 3 and len(refusals) == 3
    item = SeizedItem.objects.get(txid="cd" * 32)
    for exc in refusals:
        assert f"item #{item.pk}" in " ".join(exc.message_dict["txid"])


def test_a_refusal_reads_in_the_clerks_language(register, eth_wallet):
    from django.utils import translation

    with translation.override("kk"), pytest.raises(ValidationError) as excinfo:
        register(custody_wallet=eth_wallet)
    assert "Сақтау әмиянының желісі қате" in refusal(excinfo, "custody_wallet")


def test_a_restriction_is_a_short_code_that_the_lots_can_keep(register):
    assert register(restriction="no_sale").restriction == "no_sale"
    for bad in ("No Sale", "x" * 33, "no-sale"):
        with pytest.raises(ValidationError) as refused:
            register(restriction=bad, vout=1)
        assert "restriction" in refused.value.message_dict
    assert SeizedItem.objects.count() == 1


def test_a_registered_item_has_its_transfer_started_once(register, clerk):
    from intake.custody_chain import verify_chain
    from intake.models import CustodyEvent, ItemState

    item = register()
    services.record_transfer_started(item=item, actor=clerk, evidence="Exchange instructed, letter 7/2026")
    item.refresh_from_db()
    assert item.state == ItemState.TRANSFER_PENDING
    last = CustodyEvent.objects.filter(item=item).order_by("-sequence").first()
    assert last.action == "intake.item.transfer_pending" and last.evidence.startswith("Exchange instructed")
    assert verify_chain(item) == []
    assert item.history.first().history_user == clerk
    with pytest.raises(ValidationError) as refused:
        services.record_transfer_started(item=item, actor=clerk)
    assert refused.value.error_dict["item"][0].code == "wrong_state"
