"""The generic spreadsheet reader: kinds decided by content, limits, zip bombs, exact text."""

import io
import tracemalloc
import zipfile

import pytest
from openpyxl import Workbook

from reserve.tabular import Column, Limits, TabularError, read_table, sniff

COLUMNS = (
    Column("asset", "asset"),
    Column("claimed_amount", "claimed amount", ("amount",)),
    Column("note", "note", required=False),
)


def xlsx(rows) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read(data, limits=None):
    return list(read_table(data, COLUMNS, limits=limits))


def refusal(data, limits=None) -> str:
    with pytest.raises(TabularError) as caught:
        read(data, limits)
    return caught.value.code


def test_it_reads_a_csv_with_a_bom_and_header_spellings():
    rows = read("\ufeffAsset;Claimed Amount\nBTC;0.5\n\nETH ; 1.25\n".encode())
    assert [(r.number, r.values) for r in rows] == [
        (2, {"asset": "BTC", "claimed_amount": "0.5", "note": ""}),
        (4, {"asset": "ETH", "claimed_amount": "1.25", "note": ""}),
    ]


def test_it_reads_an_xlsx_with_text_and_whole_numbers_exactly():
    rows = read(xlsx([["AMOUNT", "asset"], ["0.12345678", "BTC"], [3, "BTC"]]))
    assert [r.values["claimed_amount"] for r in rows] == ["0.12345678", "3"]
    assert all(not r.errors for r in rows)


def test_it_refuses_a_floating_point_cell_and_asks_for_text():
    [row] = read(xlsx([["asset", "amount"], ["BTC", 0.1]]))
    assert row.values["claimed_amount"] == ""
    assert row.errors[0].column == "claimed_amount" and row.errors[0].row == 2
    assert "Text" in row.errors[0].message


def test_it_refuses_a_formula_cell():
    [row] = read(xlsx([["asset", "amount"], ["BTC", "=1+1"]]))
    assert "formula" in row.errors[0].message


def test_it_refuses_unknown_and_missing_columns():
    assert refusal(b"asset,amount,colour\nBTC,1,red\n") == "unknown_column"
    assert refusal(b"asset\nBTC\n") == "missing_column"
    assert refusal(b"asset,asset,amount\nBTC,BTC,1\n") == "duplicate_column"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"\xef\xbb\xbf\r\n", "empty"),
        (b"MZ\x90\x00\x03" + b"\x00" * 100, "unsupported"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "unsupported"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "unsupported"),
        (b"asset,amount\nBTC,1\x00\n", "binary"),
        (b"asset,amount\nBTC,\xff\xfe1\n", "encoding"),
        (b"asset,amount\n", "no_rows"),
    ],
    ids=["empty", "bom-only", "exe", "elf", "pdf", "nul", "not-utf8", "header-only"],
)
def test_it_refuses_files_that_are_not_spreadsheets(data, code):
    assert refusal(data) == code


def test_the_kind_is_decided_by_content_not_by_name():
    assert sniff(b"asset,amount\nBTC,1\n") == "csv"
    assert sniff(xlsx([["asset", "amount"]])) == "xlsx"


def test_a_zip_that_is_not_an_xlsx_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert refusal(buffer.getvalue()) == "unsupported"


def test_limits_on_size_rows_and_columns():
    assert refusal(b"asset,amount\nBTC,1\n", Limits(max_bytes=5)) == "too_large"
    many = "asset,amount\n" + "BTC,1\n" * 11
    assert refusal(many.encode(), Limits(max_rows=10)) == "too_many_rows"
    assert refusal(xlsx([["asset", "amount"]] + [["BTC", "1"]] * 11), Limits(max_rows=10)) == "too_many_rows"
    wide = "asset,amount" + ",x" * 40 + "\n"
    assert refusal(wide.encode(), Limits(max_columns=10)) == "too_many_columns"


def _with_dimension(data: bytes, ref: str) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            content = source.read(entry.filename)
            if entry.filename.startswith("xl/worksheets/"):
                content = content.replace(b"<sheetData", f'<dimension ref="{ref}"/><sheetData'.encode(), 1)
            target.writestr(entry.filename, content)
    return out.getvalue()


def test_an_oversize_sheet_dimension_is_refused_before_reading_rows():
    data = _with_dimension(xlsx([["asset", "amount"], ["BTC", "1"]]), "A1:B1048576")
    assert refusal(data, Limits(max_rows=100)) == "too_many_rows"


def test_rows_past_an_understated_dimension_are_read_not_dropped():
    data = _with_dimension(xlsx([["asset", "amount"]] + [["BTC", str(i)] for i in range(1, 6)]), "A1:B2")
    assert [r.values["claimed_amount"] for r in read(data)] == ["1", "2", "3", "4", "5"]


def zip_bomb_xlsx(uncompressed: int = 300 * 1024 * 1024) -> bytes:
    """A valid-looking XLSX whose sheet inflates to ``uncompressed`` bytes of blanks (~300 KB
    compressed), written in pieces so the test itself never holds it."""
    template = zipfile.ZipFile(io.BytesIO(xlsx([["asset", "amount"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for entry in template.infolist():
            if not entry.filename.startswith("xl/worksheets/"):
                archive.writestr(entry.filename, template.read(entry.filename))
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b" " * (1024 * 1024)
            for _ in range(uncompressed // len(chunk)):
                sheet.write(chunk)
    return out.getvalue()


def test_a_zip_bomb_is_refused_without_decompressing_it():
    data = zip_bomb_xlsx()
    assert len(data) < 2 * 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(TabularError) as caught:
            read(data)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.code == "zip_bomb"
    assert peak < 5 * 1024 * 1024


def test_rows_stream_without_being_kept():
    """Rows are not kept. What grows is openpyxl's: its streaming XML parser leaves each parsed
    (and cleared) ``<row>`` element attached to the sheet's root, under 100 bytes a row."""

    def peak(rows: int) -> int:
        data = xlsx([["asset", "amount", "note"]] + [["BTC", "0.5", "x" * 40]] * rows)
        tracemalloc.start()
        try:
            count = sum(1 for _row in read_table(data, COLUMNS, limits=Limits(max_rows=rows)))
            _current, top = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert count == rows
        return top

    peak(10)  # the column names' translations are loaded once per process
    small, large = peak(1_000), peak(10_000)
    assert (large - small) / 9_000 < 300


def shared_strings_xlsx(rows) -> bytes:
    """An XLSX as Excel writes it: every text cell an index into ``xl/sharedStrings.xml``
    (openpyxl itself writes inline strings)."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006"
    strings: dict[str, int] = {}
    sheet_rows = []
    for number, row in enumerate(rows, start=1):
        cells = "".join(
            f'<c r="{chr(65 + i)}{number}" t="s"><v>{strings.setdefault(text, len(strings))}</v></c>'
            for i, text in enumerate(row)
        )
        sheet_rows.append(f'<row r="{number}">{cells}</row>')
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts = {
        "[Content_Types].xml": f'<Types xmlns="{package}/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{kind}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{kind}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{kind}.sharedStrings+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{package}/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{main}" xmlns:r="{rel}">'
        f'<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{package}/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{main}"><sheetData>{"".join(sheet_rows)}</sheetData></worksheet>',
        "xl/sharedStrings.xml": f'<sst xmlns="{main}">'
        + "".join(f"<si><t>{s}</t></si>" for s in strings)
        + "</sst>",
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


def test_shared_strings_are_read_and_their_table_is_bounded():
    """openpyxl holds the shared-string table whole, even read-only: past
    ``max_shared_strings_bytes`` the file is refused before openpyxl opens it."""
    data = shared_strings_xlsx([["asset", "amount"]] + [["BTC", f"0.{i:08d}"] for i in range(1, 201)])
    rows = read(data)
    assert [row.values["claimed_amount"] for row in rows[:2]] == ["0.00000001", "0.00000002"]
    assert refusal(data, Limits(max_shared_strings_bytes=1_000)) == "too_many_strings"
