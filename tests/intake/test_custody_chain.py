import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from intake.custody_chain import append_event, verify_chain
from intake.models import CustodyEvent
from reserve.dbguards import maintenance


@pytest.fixture
def chained(register, clerk):
    """An item with three custody events."""
    item = register()
    with transaction.atomic():
        append_event(
            item=item,
            action="intake.item.note",
            actor=clerk,
            data={"note": "Seal checked"},
            evidence="Seal #42",
        )
        append_event(item=item, action="intake.item.note", actor=clerk, data={"note": "Photo taken"})
    return item


def raw(sql, params):
    """Tampering from outside the application: the guards have to be lifted first."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
            try:
                cursor.execute(sql, params)
            finally:
                cursor.execute("SET session_replication_role = origin")
    else:
        with maintenance(), connection.cursor() as cursor:
            cursor.execute(sql, params)


def run_command():
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("verify_custody_chains", stdout=out, stderr=err)
    except CommandError as exc:
        return 1, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


def test_events_are_chained_by_hash(chained):
    events = list(CustodyEvent.objects.filter(item=chained))
    assert [e.sequence for e in events] == [1, 2, 3]
    assert events[1].previous_hash == events[0].hash and events[2].previous_hash == events[1].hash
    assert verify_chain(chained) == []


def test_the_command_passes_intact_chains(chained):
    code, out, _err = run_command()
    assert code == 0 and "1 chains of custody verified" in out


def test_an_edited_event_breaks_the_chain_and_the_command_names_it(chained):
    raw(
        "UPDATE intake_custodyevent SET evidence = %s WHERE item_id = %s AND sequence = 2",
        ["Seal #43", chained.pk],
    )
    problems = verify_chain(chained)
    assert problems[0].sequence == 2
    code, _out, err = run_command()
    assert code == 1
    assert f"item #{chained.pk}, first broken event 2" in err


def test_a_truncated_chain_is_caught_by_the_audit_journal(chained):
    raw("DELETE FROM intake_custodyevent WHERE item_id = %s AND sequence = 3", [chained.pk])
    problems = verify_chain(chained)
    assert [p.sequence for p in problems] == [3]
    code, _out, err = run_command()
    assert code == 1
    assert f"item #{chained.pk}, first broken event 3" in err


def test_a_removed_middle_event_is_named(chained):
    raw("DELETE FROM intake_custodyevent WHERE item_id = %s AND sequence = 2", [chained.pk])
    assert verify_chain(chained)[0].sequence == 3


def test_the_database_refuses_to_change_a_custody_event(chained):
    from django.db import DatabaseError

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM intake_custodyevent WHERE item_id = %s", [chained.pk])
