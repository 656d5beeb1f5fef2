"""The generic spreadsheet reader: kinds decided by content, limits, zip bombs, exact text."""

import datetime as dt
import io
import os
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


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def xlsx_package(
    sheet_data: str, *, strings: str | None = None, workbook_pr: str = "", styles: str = ""
) -> bytes:
    """An XLSX built by hand: ``sheet_data`` is the XML inside ``<sheetData>``, ``strings`` the
    ``<si>`` items of a shared-string table, ``styles`` the inside of ``xl/styles.xml``."""
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006"
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    overrides = f'<Override PartName="/xl/workbook.xml" ContentType="{kind}.sheet.main+xml"/>'
    overrides += f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{kind}.worksheet+xml"/>'
    relations = f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
    parts = {
        "_rels/.rels": f'<Relationships xmlns="{package}/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{rel}">{workbook_pr}'
        f'<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{MAIN}"><sheetData>{sheet_data}</sheetData></worksheet>',
    }
    if strings is not None:
        overrides += f'<Override PartName="/xl/sharedStrings.xml" ContentType="{kind}.sharedStrings+xml"/>'
        relations += f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
        parts["xl/sharedStrings.xml"] = f'<sst xmlns="{MAIN}">{strings}</sst>'
    if styles:
        parts["xl/styles.xml"] = f'<styleSheet xmlns="{MAIN}">{styles}</styleSheet>'
    parts["[Content_Types].xml"] = (
        f'<Types xmlns="{package}/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>'
    )
    parts["xl/_rels/workbook.xml.rels"] = (
        f'<Relationships xmlns="{package}/relationships">{relations}</Relationships>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


def shared_strings_xlsx(rows) -> bytes:
    """An XLSX as Excel writes it: every text cell an index into ``xl/sharedStrings.xml``
    (openpyxl itself writes inline strings)."""
    strings: dict[str, int] = {}
    sheet_rows = []
    for number, row in enumerate(rows, start=1):
        cells = "".join(
            f'<c r="{chr(65 + i)}{number}" t="s"><v>{strings.setdefault(text, len(strings))}</v></c>'
            for i, text in enumerate(row)
        )
        sheet_rows.append(f'<row r="{number}">{cells}</row>')
    return xlsx_package("".join(sheet_rows), strings="".join(f"<si><t>{s}</t></si>" for s in strings))


def test_shared_strings_are_read_and_their_table_is_bounded():
    """The shared-string table goes to a temporary file, which ``max_shared_strings_bytes``
    bounds: past it the file is refused from the ZIP directory, before anything is parsed."""
    data = shared_strings_xlsx([["asset", "amount"]] + [["BTC", f"0.{i:08d}"] for i in range(1, 201)])
    rows = read(data)
    assert [row.values["claimed_amount"] for row in rows[:2]] == ["0.00000001", "0.00000002"]
    assert refusal(data, Limits(max_shared_strings_bytes=1_000)) == "too_many_strings"


def test_shared_strings_join_rich_text_runs_and_unescape_underscores_as_openpyxl_does():
    """A rich-text item is its runs' texts joined (the phonetic reading left out); ``_x005F_``
    is Excel's escape of an underscore, and openpyxl (so this reader) drops its ``x005F_``."""
    data = xlsx_package(
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" t="s"><v>4</v></c><c r="C2" t="s"><v>5</v></c></row>',
        strings="<si><t>asset</t></si><si><t>amount</t></si><si><t>note</t></si>"
        '<si><r><rPr><b/></rPr><t>BT</t></r><r><t xml:space="preserve">C</t></r>'
        '<rPh sb="0" eb="1"><t>ビット</t></rPh></si>'
        "<si><t>1</t></si><si><t>seized_x005F_x000D_lot</t></si>",
    )
    [row] = read(data)
    assert row.values == {"asset": "BTC", "claimed_amount": "1", "note": "seized_x000D_lot"}


def test_an_xlsx_with_shared_strings_reads_like_the_same_file_with_inline_strings():
    rows = [["asset", "amount", "note"], ["BTC", "0.5", "first"], ["ETH", "2", "first"]]
    assert [r.values for r in read(shared_strings_xlsx(rows))] == [r.values for r in read(xlsx(rows))]


def test_a_shared_string_index_past_the_table_is_malformed():
    data = xlsx_package(
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>2</v></c></row>',
        strings="<si><t>asset</t></si><si><t>amount</t></si>",
    )
    assert refusal(data) == "malformed"
    no_table = xlsx_package('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')
    assert refusal(no_table) == "malformed"


def test_inline_strings_and_the_other_cell_kinds():
    data = xlsx_package(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>asset</t></is></c>'
        '<c r="B1" t="inlineStr"><is><r><t>amo</t></r><r><t>unt</t></r></is></c>'
        '<c r="C1" t="inlineStr"><is><t>note</t></is></c></row>'
        '<row r="2"><c r="A2" t="str"><v>BTC</v></c><c r="B2"><v>7</v></c><c r="C2" t="e"><v>#N/A</v></c></row>'
        '<row r="3"><c r="A3" t="inlineStr"><is><t>BTC</t></is></c><c r="B3" t="b"><v>1</v></c>'
        '<c r="C3" t="d"><v>2024-03-01T10:30:00</v></c></row>'
    )
    rows = read(data)
    assert [r.values for r in rows] == [
        {"asset": "BTC", "claimed_amount": "7", "note": "#N/A"},
        {"asset": "BTC", "claimed_amount": "", "note": "2024-03-01T10:30:00"},
    ]
    assert "true/false" in rows[1].errors[0].message


def test_a_date_styled_number_is_a_date():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["asset", "amount", "note"])
    sheet.append(["BTC", "1", dt.date(2024, 3, 1)])
    sheet.append(["BTC", "2", dt.datetime(2024, 3, 1, 14, 5)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert [r.values["note"] for r in read(buffer.getvalue())] == ["2024-03-01", "2024-03-01T14:05:00"]


def test_a_1904_workbook_counts_its_dates_from_1904():
    """Serial 1 is 1900-01-01 in the Windows date system, 1904-01-02 in the Mac one."""
    styles = '<numFmts count="1"><numFmt numFmtId="164" formatCode="dd.mm.yyyy"/></numFmts><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/></cellXfs>'
    sheet = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>asset</t></is></c><c r="B1" t="inlineStr"><is><t>amount</t></is></c>'
        '<c r="C1" t="inlineStr"><is><t>note</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>BTC</t></is></c><c r="B2" s="2"><v>1</v></c><c r="C2" s="1"><v>1</v></c></row>'
    )
    windows = read(xlsx_package(sheet, styles=styles))
    mac = read(xlsx_package(sheet, styles=styles, workbook_pr='<workbookPr date1904="1"/>'))
    assert [(r.values["claimed_amount"], r.values["note"]) for r in windows] == [("1900-01-01", "1900-01-01")]
    assert [(r.values["claimed_amount"], r.values["note"]) for r in mac] == [("1904-01-02", "1904-01-02")]


def test_rows_and_cells_without_references_and_sparse_cells():
    """Without ``r`` a row follows the previous one and a cell the previous cell; a missing cell
    is empty and a missing row is skipped as blank."""
    data = xlsx_package(
        '<row><c t="inlineStr"><is><t>asset</t></is></c><c t="inlineStr"><is><t>note</t></is></c>'
        '<c t="inlineStr"><is><t>amount</t></is></c></row>'
        '<row><c t="inlineStr"><is><t>BTC</t></is></c><c/><c><v>1</v></c></row>'
        '<row r="5"><c r="A5" t="inlineStr"><is><t>ETH</t></is></c><c r="C5"><v>2</v></c></row>'
        '<row><c t="inlineStr"><is><t>LTC</t></is></c><c t="inlineStr"><is><t>n</t></is></c><c><v>3</v></c></row>'
    )
    assert [(r.number, r.values) for r in read(data)] == [
        (2, {"asset": "BTC", "claimed_amount": "1", "note": ""}),
        (5, {"asset": "ETH", "claimed_amount": "2", "note": ""}),
        (6, {"asset": "LTC", "claimed_amount": "3", "note": "n"}),
    ]


def test_a_document_type_declaration_is_refused_as_malformed():
    data = xlsx([["asset", "amount"], ["BTC", "1"]])
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            content = source.read(entry.filename)
            if entry.filename.startswith("xl/worksheets/"):
                content = content.replace(b"<worksheet", b'<!DOCTYPE w [<!ENTITY e "BTC">]><worksheet', 1)
            target.writestr(entry.filename, content)
    assert refusal(out.getvalue()) == "malformed"


def test_a_value_past_the_column_limit_is_refused_even_in_the_header():
    data = xlsx_package(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>asset</t></is></c><c r="B1" t="inlineStr"><is><t>amount</t></is></c>'
        '<c r="AZ1" t="inlineStr"><is><t>x</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>BTC</t></is></c><c r="B2"><v>1</v></c></row>'
    )
    assert refusal(data) == "too_many_columns"


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts the process's open files")
def test_the_shared_strings_temporary_files_are_closed_when_reading_stops_early():
    data = shared_strings_xlsx([["asset", "amount"]] + [["BTC", str(i)] for i in range(1, 50)])
    before = len(os.listdir("/proc/self/fd"))
    rows = read_table(data, COLUMNS)
    next(rows)
    assert len(os.listdir("/proc/self/fd")) == before + 2
    rows.close()
    assert len(os.listdir("/proc/self/fd")) == before


@pytest.mark.parametrize("kind", ["inline strings", "shared strings"])
def test_memory_does_not_grow_with_the_sheet(kind):
    """Rows are not kept, each parsed element is detached once read, and the shared-string
    table (every amount distinct, as txids are too) is on disk: the peak stays flat from 1,000
    to 10,000 rows. openpyxl's reader grew by ~80 bytes a row, plus ~90 a distinct string."""
    write = xlsx if kind == "inline strings" else shared_strings_xlsx

    def peak(rows: int) -> int:
        data = write([["asset", "amount"]] + [["BTC", f"0.{i:08d}"] for i in range(1, rows + 1)])
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
    assert large < 1.3 * small
