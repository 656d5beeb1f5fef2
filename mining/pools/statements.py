"""A pool's statement of what it credited and paid, as :class:`PoolStatementLine` values.

Amounts are exact integers of satoshi. A decimal BTC amount becomes satoshi only when it is a
whole number of them: more than 8 decimals, an exponent, a sign or a float is refused, never
rounded. Parsers never stop at the first bad row: they return the good lines and one
:class:`RowError` (row, column, translated message) per problem, so a clerk can fix the file.

Formats:

* :func:`parse_statement_csv` — the fund's generic CSV (UTF-8, comma separated, one header row):

  ============  ========  ==============================================================
  column        required  content
  ============  ========  ==============================================================
  day           yes       the mining day, ISO ``YYYY-MM-DD`` (UTC day, as pools count)
  gross_btc     yes       credited before the pool fee, decimal BTC (``0.00123456``)
  fee_btc       yes       the pool fee for the day, decimal BTC
  net_btc       yes       credited after the fee; must equal ``gross_btc − fee_btc``
  payout_txid   no        the transaction that paid the day (64 hex digits), blank if unpaid
                          or not known; several days may name the same transaction
  ============  ========  ==============================================================

  Columns may come in any order; unknown columns are ignored. ``row`` in an error is the line
  number a spreadsheet shows (the header is row 1).

* :func:`parse_binance_earnings` — Binance Pool ``GET /sapi/v1/mining/payment/list`` ("Earnings
  List"): one entry per mining day and income type, with ``profitAmount`` in BTC as a JSON
  number. ``time`` is milliseconds at the start of the mining day in UTC+8 (Beijing): every
  ``time`` of the documented example is 16:00 UTC, i.e. 00:00 UTC+8, so the day is the UTC+8
  calendar date (1607529600000 is 2020-12-10) and a ``time`` that is not 00:00 UTC+8 is refused.
  A site reporting by Almaty (UTC+5) or UTC days differs from the pool's day by those hours. The API gives the amount after the pool fee only, so
  ``gross_sats`` and ``fee_sats`` are ``None`` (unknown), never guessed. ``row`` is the entry's
  position in ``accountProfits`` counted from 1. The API pages (``pageIndex``, ``pageSize`` at
  most 200, ``totalNum``): parse every page and join the lines.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from django.utils.translation import gettext as _

from reserve.amounts import AmountError, check_units, parse_amount

BTC_DECIMALS = 8
_TXID = re.compile(r"[0-9a-fA-F]{64}")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

CSV_REQUIRED = ("day", "gross_btc", "fee_btc", "net_btc")
CSV_OPTIONAL = ("payout_txid",)

#: Binance Pool income types, from the Earnings List documentation.
BINANCE_TYPES = {
    0: "mining_wallet",
    5: "mining_address",
    7: "pool_savings",
    8: "transferred",
    31: "income_transfer",
    32: "hashrate_resale_mining_wallet",
    33: "hashrate_resale_pool_savings",
}
#: Binance Pool counts mining days from 00:00 UTC+8.
BINANCE_DAY_ZONE = dt.timezone(dt.timedelta(hours=8))
BINANCE_DAY_OFFSET_MS = 8 * 3_600_000
#: Binance Pool payment status: 0 unpaid, 1 paying, 2 paid.
BINANCE_STATUSES = {0: "unpaid", 1: "paying", 2: "paid"}


@dataclass(frozen=True)
class PoolStatementLine:
    """One day (and, for an API that splits it, one income type) of a pool statement.

    ``gross_sats``/``fee_sats`` are ``None`` when the pool's format does not give them.
    ``payout_txid`` is lower-case hex or ``None``. ``source`` names the format (``csv``,
    ``binance``); ``kind`` and ``status`` keep what the pool said about the line (empty when the
    format has no such field)."""

    day: dt.date
    gross_sats: int | None
    fee_sats: int | None
    net_sats: int
    payout_txid: str | None = None
    source: str = ""
    kind: str = ""
    status: str = ""


@dataclass(frozen=True)
class RowError:
    """A problem with one row: ``column`` names the field, ``message`` is translated."""

    row: int
    column: str
    message: str


@dataclass
class StatementParse:
    lines: list[PoolStatementLine] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def btc_to_sats(value: Any) -> int:
    """An exact decimal BTC amount (a string such as ``"0.00123456"``, or a Decimal/int read from
    JSON) as satoshi. Raises :class:`~reserve.amounts.AmountError` (translated message) for a
    negative, an exponent, a float, or a fraction of a satoshi."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise AmountError(_("Amount must be a finite number."))
        if value < 0:
            raise AmountError(_("Amount must not be negative."))
        with localcontext() as context:
            context.prec = 200  # far above any amount: the scaling itself never rounds
            scaled = value.scaleb(BTC_DECIMALS)
        if scaled != scaled.to_integral_value():
            raise AmountError(
                _("%(amount)s BTC is not a whole number of satoshi (at most 8 decimals).") % {"amount": value}
            )
        return check_units(int(scaled))
    return parse_amount(value, BTC_DECIMALS, allow_zero=True)


def _txid(text: str) -> str:
    if not _TXID.fullmatch(text):
        raise ValueError(_("A transaction id is 64 hexadecimal digits."))
    return text.lower()


def _iso_day(text: str) -> dt.date:
    if not _ISO_DAY.fullmatch(text):
        raise ValueError(_("Enter the day as YYYY-MM-DD."))
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(_("Enter the day as YYYY-MM-DD.")) from None


def parse_statement_csv(content: str | bytes) -> StatementParse:
    """Parse the generic CSV statement (see the module docstring)."""
    result = StatementParse()
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            result.errors.append(RowError(1, "", _("The file is not UTF-8 text.")))
            return result
    reader = csv.reader(io.StringIO(content))
    header = next(reader, None)
    if header is None:
        result.errors.append(RowError(1, "", _("The file is empty.")))
        return result
    names = [name.strip().lower() for name in header]
    missing = [column for column in CSV_REQUIRED if column not in names]
    for column in missing:
        result.errors.append(
            RowError(1, column, _("The header has no column “%(column)s”.") % {"column": column})
        )
    if missing:
        return result
    for row_number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        values = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(names)}
        line = _csv_line(row_number, values, result.errors)
        if line is not None:
            result.lines.append(line)
    return result


def _csv_line(row: int, values: dict[str, str], errors: list[RowError]) -> PoolStatementLine | None:
    before = len(errors)
    day = None
    try:
        day = _iso_day(values["day"])
    except ValueError as exc:
        errors.append(RowError(row, "day", str(exc)))
    amounts: dict[str, int] = {}
    for column in ("gross_btc", "fee_btc", "net_btc"):
        try:
            amounts[column] = btc_to_sats(values[column])
        except AmountError as exc:
            errors.append(RowError(row, column, str(exc)))
    txid = None
    if values.get("payout_txid"):
        try:
            txid = _txid(values["payout_txid"])
        except ValueError as exc:
            errors.append(RowError(row, "payout_txid", str(exc)))
    if len(amounts) == 3 and amounts["gross_btc"] - amounts["fee_btc"] != amounts["net_btc"]:
        errors.append(
            RowError(
                row,
                "net_btc",
                _("Net %(net)s sats is not gross %(gross)s sats less fee %(fee)s sats (%(expected)s sats).")
                % {
                    "net": amounts["net_btc"],
                    "gross": amounts["gross_btc"],
                    "fee": amounts["fee_btc"],
                    "expected": amounts["gross_btc"] - amounts["fee_btc"],
                },
            )
        )
    if len(errors) > before or day is None:
        return None
    return PoolStatementLine(
        day=day,
        gross_sats=amounts["gross_btc"],
        fee_sats=amounts["fee_btc"],
        net_sats=amounts["net_btc"],
        payout_txid=txid,
        source="csv",
    )


def parse_binance_earnings(content: str | bytes) -> StatementParse:
    """Parse a Binance Pool Earnings List answer (``{"code": 0, "data": {"accountProfits": [...]}}``).

    Numbers are read as Decimal (never float); an entry in another coin than BTC, a ``time`` that
    is not 00:00 UTC+8, or a ``profitAmount`` with a fraction of a satoshi is a row error."""
    result = StatementParse()
    try:
        body = json.loads(content, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError):
        result.errors.append(RowError(0, "", _("The answer is not JSON.")))
        return result
    if not isinstance(body, dict) or body.get("code") != 0:
        code = body.get("code") if isinstance(body, dict) else None
        message = body.get("msg") if isinstance(body, dict) else None
        result.errors.append(
            RowError(
                0,
                "code",
                _("The pool answered with an error: %(code)s %(msg)s") % {"code": code, "msg": message},
            )
        )
        return result
    data = body.get("data")
    profits = data.get("accountProfits") if isinstance(data, dict) else None
    if not isinstance(profits, list):
        result.errors.append(RowError(0, "accountProfits", _("The answer has no list of earnings.")))
        return result
    for row, entry in enumerate(profits, start=1):
        line = _binance_line(row, entry, result.errors)
        if line is not None:
            result.lines.append(line)
    return result


def _binance_line(row: int, entry: Any, errors: list[RowError]) -> PoolStatementLine | None:
    if not isinstance(entry, dict):
        errors.append(RowError(row, "", _("An earnings entry must be an object.")))
        return None
    before = len(errors)
    coin = entry.get("coinName")
    if coin != "BTC":
        errors.append(
            RowError(row, "coinName", _("Only BTC earnings are accepted, not %(coin)s.") % {"coin": coin})
        )
    day = None
    millis = entry.get("time")
    if isinstance(millis, bool) or not isinstance(millis, int) or millis < 0:
        errors.append(RowError(row, "time", _("The mining date must be a whole number of milliseconds.")))
    else:
        moment = dt.datetime.fromtimestamp(millis // 1000, tz=BINANCE_DAY_ZONE)
        if (millis + BINANCE_DAY_OFFSET_MS) % 86_400_000:
            errors.append(
                RowError(
                    row,
                    "time",
                    _("The mining date is not the start of a day (00:00 UTC+8): %(moment)s.")
                    % {"moment": moment.isoformat()},
                )
            )
        else:
            day = moment.date()
    net = None
    amount = entry.get("profitAmount")
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal):
        errors.append(RowError(row, "profitAmount", _("The earnings amount must be a number.")))
    else:
        try:
            net = btc_to_sats(amount)
        except AmountError as exc:
            errors.append(RowError(row, "profitAmount", str(exc)))
    if len(errors) > before or day is None or net is None:
        return None
    return PoolStatementLine(
        day=day,
        gross_sats=None,
        fee_sats=None,
        net_sats=net,
        payout_txid=None,
        source="binance",
        kind=_label(BINANCE_TYPES, entry.get("type")),
        status=_label(BINANCE_STATUSES, entry.get("status")),
    )


def _label(labels: dict[int, str], code: Any) -> str:
    """The documented name of a code, or the code as given (a code added after the docs)."""
    if isinstance(code, int) and not isinstance(code, bool) and code in labels:
        return labels[code]
    return "" if code is None else str(code)[:40]


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number")


def days_of(lines: Iterable[PoolStatementLine]) -> list[dt.date]:
    return sorted({line.day for line in lines})
