"""Epoch start times from a chain source (``sync_epochs`` and ``sync_network_epochs``).

The chain source is the Esplora adapter over a MockTransport. Block hashes and header times
below are **test values** (plausible, about two weeks apart, increasing), not recorded ones;
the bits are the shipped epochs' bits (``mining/data/btc_difficulty_epochs.csv``).
"""

import datetime as dt
import io
from decimal import Decimal

import httpx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mining.expected import ExpectedOutputError, expected_output
from mining.models import NetworkEpoch
from mining.services import EpochSyncError, sync_epochs
from reserve.audit import AuditEvent
from reserve.chain.base import BlockHeader, Tip
from reserve.chain.esplora import EsploraSource
from reserve.external.http import Limits

FAST = Limits(attempts=1, backoff=0.0, budget=5.0)
#: Test values: the start of epochs 437 and 438 (heights 880992 and 883008).
START_437 = dt.datetime(2025, 1, 26, 9, 30, 0, tzinfo=dt.UTC)
START_438 = dt.datetime(2025, 2, 9, 11, 45, 0, tzinfo=dt.UTC)
#: The shipped bits of epochs 437 and 438.
BITS = {880992: 0x17029A8A, 883008: 0x17027726}
TIMES = {880992: START_437, 883008: START_438}


def block_hash(height: int) -> str:
    return f"{height:064x}"  # a test value, never a real block's hash


def esplora(*, tip: int, headers: dict[int, tuple[dt.datetime, int]], broken: set[int] = frozenset()):
    asked = []

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api")
        asked.append(path)
        if path == "/blocks/tip/height":
            return httpx.Response(200, text=str(tip))
        if path.startswith("/block-height/"):
            height = int(path.rsplit("/", 1)[1])
            if height in broken:
                return httpx.Response(503, text="upstream unavailable")
            if height in headers:
                return httpx.Response(200, text=block_hash(height))
            return httpx.Response(404, text="Block not found")
        for height, (time, bits) in headers.items():
            if path == f"/block/{block_hash(height)}":
                # Esplora's documented /block/{hash} shape; bits is an integer there.
                return httpx.Response(
                    200,
                    json={
                        "id": block_hash(height),
                        "height": height,
                        "timestamp": int(time.timestamp()),
                        "bits": bits,
                        "tx_count": 1,
                    },
                )
        return httpx.Response(404, text="not found")

    source = EsploraSource("https://esplora.test/api", transport=httpx.MockTransport(answer), limits=FAST)
    return source, asked


def shipped_headers(**changes) -> dict[int, tuple[dt.datetime, int]]:
    headers = {h: (TIMES[h], BITS[h]) for h in BITS}
    headers.update(changes.get("override", {}))
    return headers


def starts(*epochs):
    return [NetworkEpoch.objects.get(network="bitcoin", epoch=e).start_time for e in epochs]


def day_in_437():
    return expected_output(day=dt.date(2025, 2, 1), hashrate_hs=Decimal(10**18), fees_per_block_sats=0)


def test_start_times_are_recorded_and_expected_output_works_in_that_epoch(db, mining_clerk):
    with pytest.raises(ExpectedOutputError):
        day_in_437()
    source, asked = esplora(tip=883500, headers=shipped_headers())

    recorded = sync_epochs(source=source, actor=mining_clerk)

    assert [(r.epoch, r.start_time, r.bits) for r in recorded] == [
        (437, START_437, "17029a8a"),
        (438, START_438, "17027726"),
    ]
    assert starts(437, 438, 439) == [START_437, START_438, None]
    row = NetworkEpoch.objects.get(network="bitcoin", epoch=437)
    assert row.first_block_hash == block_hash(880992)
    assert row.published_difficulty == "108105433845147.2"  # the shipped figure, checked against the bits
    assert row.source == "chain source esplora"
    assert asked[0] == "/blocks/tip/height"
    assert "/block-height/885024" not in asked  # epoch 439 starts above the tip
    events = AuditEvent.objects.filter(action="mining.epoch.recorded").order_by("id")
    assert [e.data["epoch"] for e in events] == [437, 438]
    assert events[0].actor == mining_clerk

    result = day_in_437()
    assert result.seconds == 86400
    assert [s.epoch for s in result.segments] == [437]
    assert result.expected_sats > 0


def test_up_to_height_stops_below_the_tip(db, mining_clerk):
    source, asked = esplora(tip=900000, headers=shipped_headers())
    recorded = sync_epochs(source=source, actor=mining_clerk, up_to_height=880992)
    assert [r.epoch for r in recorded] == [437]
    assert starts(437, 438) == [START_437, None]


def test_a_source_failure_records_nothing(db, mining_clerk):
    source, _ = esplora(tip=883500, headers=shipped_headers(), broken={883008})
    with pytest.raises(EpochSyncError, match=r"epoch 438 \(height 883008\).*Nothing was recorded"):
        sync_epochs(source=source, actor=mining_clerk)
    assert starts(437, 438) == [None, None]
    assert not AuditEvent.objects.filter(action="mining.epoch.recorded").exists()


def test_an_unreachable_tip_records_nothing(db, mining_clerk):
    def refuse(request):
        raise httpx.ConnectError("simulated", request=request)

    source = EsploraSource("https://esplora.test/api", transport=httpx.MockTransport(refuse), limits=FAST)
    with pytest.raises(EpochSyncError, match="tip"):
        sync_epochs(source=source, actor=mining_clerk)
    assert starts(437) == [None]


def test_bits_that_disagree_with_the_published_difficulty_are_refused(db, mining_clerk):
    wrong = {880992: (START_437, 0x17029A8B)}  # one unit off the shipped 17029a8a
    source, _ = esplora(tip=883500, headers=shipped_headers(override=wrong))
    with pytest.raises(
        EpochSyncError, match="Epoch 437 .*refused.*difficulty does not match the bits"
    ) as exc:
        sync_epochs(source=source, actor=mining_clerk)
    assert exc.value.recorded == []
    assert starts(437, 438) == [None, None]


def test_a_start_time_out_of_order_is_refused(db, mining_clerk):
    early = {883008: (START_437 - dt.timedelta(days=1), BITS[883008])}
    source, _ = esplora(tip=883500, headers=shipped_headers(override=early))
    with pytest.raises(EpochSyncError, match="Epoch 438 .*between its neighbours") as exc:
        sync_epochs(source=source, actor=mining_clerk)
    assert [r.epoch for r in exc.value.recorded] == [437]  # written in its own transaction before
    assert starts(437, 438) == [START_437, None]


def test_epochs_after_the_last_known_one_are_created(db, mining_clerk):
    last = NetworkEpoch.objects.filter(network="bitcoin").order_by("-epoch").first()
    headers = {}
    for i, row in enumerate(
        NetworkEpoch.objects.filter(network="bitcoin", start_time__isnull=True).order_by("epoch")
    ):
        headers[row.start_height] = (START_437 + dt.timedelta(days=14 * i), int(row.bits, 16))
    new_epoch = last.epoch + 1
    new_time = START_437 + dt.timedelta(days=14 * len(headers))
    headers[new_epoch * 2016] = (new_time, int(last.bits, 16))  # test value: the last shipped bits
    source, _ = esplora(tip=new_epoch * 2016 + 10, headers=headers)

    recorded = sync_epochs(source=source, actor=mining_clerk)

    assert recorded[-1].epoch == new_epoch
    created = NetworkEpoch.objects.get(network="bitcoin", epoch=new_epoch)
    assert (created.start_height, created.start_time, created.bits) == (new_epoch * 2016, new_time, last.bits)
    assert not NetworkEpoch.objects.filter(network="bitcoin", start_time__isnull=True).exists()


def test_the_command_without_a_chain_source_exits_non_zero(db, settings):
    settings.CHAIN_SOURCES = {}
    with pytest.raises(CommandError, match="No chain source is configured for bitcoin"):
        call_command("sync_network_epochs", stdout=io.StringIO())
    assert starts(437) == [None]


def test_the_command_prints_what_it_recorded(db, monkeypatch):
    source, _ = esplora(tip=883500, headers=shipped_headers())
    monkeypatch.setattr("mining.management.commands.sync_network_epochs.chain_source", lambda network: source)
    out = io.StringIO()
    call_command("sync_network_epochs", "--up-to-height", "883008", stdout=out)
    text = out.getvalue()
    assert "Epoch 437 (height 880992): start 2025-01-26T09:30:00+00:00, bits 17029a8a" in text
    assert "Epoch 438 (height 883008)" in text
    assert "2 epoch(s) recorded." in text


def test_the_command_reports_a_source_failure(db, monkeypatch):
    source, _ = esplora(tip=883500, headers=shipped_headers(), broken={880992})
    monkeypatch.setattr("mining.management.commands.sync_network_epochs.chain_source", lambda network: source)
    with pytest.raises(CommandError, match="Nothing was recorded"):
        call_command("sync_network_epochs", stdout=io.StringIO())


class NodeLike:
    """A source that prints the difficulty with each header, as Bitcoin Core does (test values)."""

    code = "fake-node"
    network = "bitcoin"

    def __init__(self, difficulty: str):
        self.printed = Decimal(difficulty)

    def tip(self):
        return Tip(height=880992, difficulty=None)

    def block_header(self, height):
        return BlockHeader(
            height=height, hash=block_hash(height), time=START_437, bits="17029a8a", difficulty=self.printed
        )


def test_a_difficulty_printed_by_the_source_is_checked_and_kept(db, mining_clerk):
    (row,) = sync_epochs(source=NodeLike("108105433845147.16"), actor=mining_clerk)
    assert (row.epoch, row.published_difficulty) == (437, "108105433845147.16")


def test_a_printed_difficulty_that_disagrees_with_the_bits_is_refused(db, mining_clerk):
    with pytest.raises(EpochSyncError, match="difficulty does not match the bits"):
        sync_epochs(source=NodeLike("108105433845150"), actor=mining_clerk)
    assert starts(437) == [None]
