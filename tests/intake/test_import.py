"""Importing seized items from a spreadsheet: the same rules as the add form, all or nothing."""

import io

import pytest
from openpyxl import Workbook

from intake.imports import import_items, preview_items
from intake.models import SeizedItem
from reserve.models import AuditEvent
from tests.support.factories import eth, random_address

HEADER = ["asset", "claimed_amount", "source_kind", "source_address", "txid", "vout", "custody_wallet"]


def line(txid="ab" * 32, vout="0", amount="0.5", asset="BTC", wallet="cold-a", address=None):
    return [asset, amount, "address", address or random_address("bitcoin"), txid, vout, wallet]


def csv_bytes(*rows, header=HEADER) -> bytes:
    return "\n".join(",".join(str(c) for c in row) for row in [header, *rows]).encode()


def xlsx_bytes(*rows, header=HEADER) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for row in [header, *rows]:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def importing(order, asset, wallet, clerk):
    def run(data, *, apply=True):
        return (import_items if apply else preview_items)(order=order, upload=data, actor=clerk)

    return run


def errors(report):
    return [(e.row, e.column, e.message) for e in report.errors]


@pytest.mark.parametrize("make", [csv_bytes, xlsx_bytes], ids=["csv", "xlsx"])
def test_a_clean_file_registers_every_item(importing, order, make):
    report = importing(make(line("ab" * 32, 0), line("cd" * 32, 1, amount="0.00000001")))
    assert report.ok and report.applied and report.rows == 2
    assert report.totals == {"BTC": "0.50000001"}
    items = SeizedItem.objects.filter(order=order).order_by("vout")
    assert [(i.txid, i.vout, i.claimed_amount) for i in items] == [
        ("ab" * 32, 0, 50_000_000),
        ("cd" * 32, 1, 1),
    ]
    assert all(i.history.count() == 1 for i in items)
    assert AuditEvent.objects.filter(action="intake.item.registered").count() == 2
    assert AuditEvent.objects.get(action="intake.items.imported").data["sha256"] == report.sha256


def test_a_preview_stores_nothing(importing):
    report = importing(csv_bytes(line()), apply=False)
    assert report.ok and not report.applied
    assert [p.values["txid"] for p in report.preview] == ["ab" * 32]
    assert not SeizedItem.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="intake.item").exists()


def test_an_exchange_account_line_needs_no_transaction(importing):
    header = ["Asset", "Amount", "Source", "Exchange account", "Custody wallet", "Restriction"]
    report = importing(
        csv_bytes(["BTC", "1.5", "exchange account", "binance:4411", "cold-a", "no_sale"], header=header)
    )
    assert report.ok, errors(report)
    item = SeizedItem.objects.get()
    assert (item.exchange_account, item.restriction, item.txid) == ("binance:4411", "no_sale", "")


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (line(amount="1 5"), "claimed_amount", "plain decimal"),
        (line(amount="-1"), "claimed_amount", "negative"),
        (line(amount="0.123456789"), "claimed_amount", "8 decimal places"),
        (line(asset="DOGE"), "asset", "Unknown asset DOGE"),
        (line(wallet="nowhere"), "custody_wallet", "Unknown custody wallet nowhere"),
        (line(address="0x" + "11" * 20), "source_address", ""),
        (line(wallet="eth-cold"), "custody_wallet", "Wrong network"),
        (line(txid="xyz"), "txid", "64 hexadecimal digits"),
        (line(vout="-1"), "vout", "output index"),
    ],
    ids=["space", "negative", "decimals", "asset", "wallet", "address", "wallet-network", "txid", "vout"],
)
def test_every_bad_line_is_reported_with_its_row_and_column(importing, eth_wallet, row, column, message):
    report = importing(csv_bytes(line("cd" * 32), row))
    assert not report.ok and not report.applied
    [(number, got_column, got_message)] = errors(report)
    assert (number, got_column) == (3, column)
    assert message in got_message
    assert not SeizedItem.objects.exists()


def test_an_output_named_twice_in_the_file_is_refused_on_its_second_line(importing):
    report = importing(csv_bytes(line("ab" * 32, 0), line("cd" * 32, 0), line("AB" * 32, 0)))
    assert errors(report) == [
        (4, "txid", f"Output 0 of transaction {'ab' * 32} is already in row 2 of this file.")
    ]
    assert not SeizedItem.objects.exists()


def test_an_output_already_registered_is_refused(importing, register):
    existing = register(txid="ab" * 32, vout=0)
    report = importing(csv_bytes(line("ab" * 32, 0)), apply=False)
    [(row, column, message)] = errors(report)
    assert (row, column) == (2, "txid")
    assert f"item #{existing.pk}" in message
    assert SeizedItem.objects.count() == 1


def test_one_bad_line_imports_nothing(importing):
    good = [line(f"{i:064x}", 0) for i in range(1, 50)]
    report = importing(csv_bytes(*good, line(amount="abc")))
    assert report.error_count == 1 and not report.applied
    assert not SeizedItem.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="intake.item").exists()


def test_a_float_cell_in_an_xlsx_asks_for_text(importing):
    row = line()
    row[1] = 0.5
    report = importing(xlsx_bytes(row))
    [(number, column, message)] = errors(report)
    assert (number, column) == (2, "claimed_amount") and "Text" in message


def test_a_hostile_file_is_refused_as_a_whole(importing):
    report = importing(b"MZ\x90\x00" + b"\x00" * 200)
    assert report.file_error and not report.applied
    assert "CSV" in report.file_error


def test_row_errors_are_in_the_clerks_language(importing):
    from django.utils import translation

    with translation.override("ru"):
        report = importing(csv_bytes(line(amount="-1")))
    assert errors(report) == [(2, "claimed_amount", "Сумма не может быть отрицательной.")]


def test_assets_and_wallets_are_looked_up_once_per_file(importing, django_assert_max_num_queries):
    rows = [line(f"{i:064x}", 0) for i in range(1, 21)]
    with django_assert_max_num_queries(2 + 20 * 20) as captured:
        importing(csv_bytes(*rows), apply=False)
    sql = [q["sql"] for q in captured.captured_queries]
    assert sum('FROM "reserve_asset"' in s for s in sql) <= 1
    assert sum('FROM "reserve_wallet"' in s for s in sql) <= 1


def test_an_eth_line_works_with_its_own_wallet(importing, eth_wallet):
    eth()
    row = ["ETH", "1.000000000000000001", "address", "0x" + "12" * 20, "0x" + "ef" * 32, "0", "eth-cold"]
    report = importing(csv_bytes(row))
    assert report.ok, errors(report)


def test_a_file_headed_in_kazakh_is_read_whatever_the_clerks_language(importing):
    header = [
        "Актив",
        "Мәлімделген сома",
        "Көз",
        "Көз мекенжайы",
        "Транзакция сәйкестендіргіші",
        "Шығыс индексі",
        "Сақтау әмияны",
    ]
    row = ["BTC", "0.5", "мекенжай", random_address("bitcoin"), "ab" * 32, "0", "cold-a"]
    report = importing(csv_bytes(row, header=header))
    assert report.ok, (report.file_error, errors(report))


def test_the_outputs_seen_are_kept_on_disk_and_removed_afterwards(importing, monkeypatch, tmp_path):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    report = importing(csv_bytes(line("ab" * 32, 0), line("ab" * 32, 1), line("ab" * 32, 0)))
    assert errors(report) == [
        (4, "txid", f"Output 0 of transaction {'ab' * 32} is already in row 2 of this file.")
    ]
    assert list(tmp_path.iterdir()) == []


def test_the_name_caches_are_bounded(importing, monkeypatch):
    from intake import imports

    monkeypatch.setattr(imports, "MAX_CACHED_NAMES", 1)
    report = importing(csv_bytes(line("ab" * 32, wallet="nope-1"), line("cd" * 32, wallet="nope-2")))
    assert [(number, column) for number, column, _message in errors(report)] == [
        (2, "custody_wallet"),
        (3, "custody_wallet"),
    ]
