"""Exact amounts in integer smallest units (satoshi, wei, ...) on every supported database.

SQLite keeps only 15 significant digits in NUMERIC columns and sums them as floats, so a
``DecimalField`` is not exact there. ``AmountField`` holds a Python ``int``:

* PostgreSQL: ``numeric(78, 0)`` (enough for any uint256), summed with plain ``SUM``.
* SQLite: fixed-width zero-padded text of ``value + 10**79`` so that ordering, range lookups
  and ``CHECK (balance >= 0)`` compare correctly (negatives sort below zero), summed with an
  ``EXACT_SUM`` aggregate that adds Python ints and is registered on every new connection.

Amount arithmetic is done in Python under a row lock, or in SQL only through :class:`AmountPlus`
(never a bare ``F()`` expression: on SQLite ``F('balance') + 1`` would write an unpadded string;
``AmountPlus`` calls an exact ``AMOUNT_ADD`` function there).

Human input ("0.00000001") is parsed with :func:`parse_amount`, which refuses anything that is
not a plain non-negative decimal with at most the asset's number of decimals.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _

MAX_DIGITS = 78
MAX_ABS = 10**MAX_DIGITS - 1
SQLITE_OFFSET = 10**79
SQLITE_WIDTH = 80

_PLAIN_DECIMAL = re.compile(r"(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?")


class AmountError(ValueError):
    """An amount that cannot be accepted; the message is safe to show to the user."""


def check_units(value: object) -> int:
    """Return ``value`` as an int of smallest units, or raise AmountError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise AmountError(_("Amounts are whole numbers of the smallest unit."))
    if abs(value) > MAX_ABS:
        raise AmountError(_("Amount is too large."))
    return value


def encode_sqlite(value: int) -> str:
    return str(check_units(value) + SQLITE_OFFSET).zfill(SQLITE_WIDTH)


def decode_sqlite(text: str) -> int:
    return int(text) - SQLITE_OFFSET


def parse_amount(text: object, decimals: int, *, allow_zero: bool = False) -> int:
    """Parse a human amount such as ``"1.5"`` into smallest units of an asset with ``decimals``.

    Refuses negatives, NaN, infinities, exponents, signs, separators, blank strings, floats and
    more fractional digits than the asset has. Decimals are accepted only when finite and plain.
    """
    if isinstance(text, float):
        raise AmountError(_("Amounts must be given as strings, not floating-point numbers."))
    if isinstance(text, Decimal):
        if not text.is_finite():
            raise AmountError(_("Amount must be a finite number."))
        if text.adjusted() >= MAX_DIGITS:
            raise AmountError(_("Amount is too large."))
        text = format(text, "f")
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str):
        raise AmountError(_("Amount must be a decimal number written as a string."))
    if len(text) > MAX_DIGITS + 40:
        raise AmountError(_("Amount is too large."))
    match = _PLAIN_DECIMAL.fullmatch(text)
    if match is None:
        stripped = text.strip()
        if stripped.startswith("-"):
            raise AmountError(_("Amount must not be negative."))
        if stripped.lower().lstrip("+") in {"nan", "snan", "inf", "infinity"}:
            raise AmountError(_("Amount must be a finite number."))
        if "e" in stripped.lower():
            raise AmountError(_("Amount must be written without an exponent."))
        raise AmountError(_("Enter a plain decimal number such as 12.345 (digits and one dot, no spaces)."))
    integer, fraction = match.group("int"), match.group("frac") or ""
    if len(fraction) > decimals:
        raise AmountError(
            _("This asset has %(decimals)d decimal places; the amount has %(given)d.")
            % {"decimals": decimals, "given": len(fraction)}
        )
    units = int(integer) * 10**decimals + int(fraction.ljust(decimals, "0") or "0")
    if units > MAX_ABS:
        raise AmountError(_("Amount is too large."))
    if units == 0 and not allow_zero:
        raise AmountError(_("Amount must be greater than zero."))
    return units


def format_amount(units: int, decimals: int) -> str:
    """Exact decimal string of ``units`` with all of the asset's decimals: 150000000, 8 -> 1.50000000."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**decimals)
    if decimals == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:0{decimals}d}"


def units_to_decimal(units: int, decimals: int) -> Decimal:
    return Decimal(units).scaleb(-decimals)


class AmountFormField(forms.CharField):
    """Form field for smallest units, entered as a plain integer string."""

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        if not re.fullmatch(r"-?[0-9]+", value):
            raise ValidationError(_("Enter a whole number of smallest units."), code="invalid")
        try:
            return check_units(int(value))
        except AmountError as exc:
            raise ValidationError(str(exc), code="invalid")


class AmountField(models.Field):
    """Signed integer amount of smallest units, exact on PostgreSQL and SQLite."""

    description = _("Amount in smallest units")

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return f"numeric({MAX_DIGITS},0)"
        if connection.vendor == "sqlite":
            return f"varchar({SQLITE_WIDTH})"
        raise NotImplementedError(f"AmountField does not support {connection.vendor}")

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        if isinstance(value, str):
            return decode_sqlite(value)
        if isinstance(value, Decimal):
            integral = value.to_integral_value()
            if integral != value:
                raise ValueError(f"non-integral amount {value} read from the database")
            return int(integral)
        if isinstance(value, int):
            return value
        raise TypeError(f"unexpected amount type {type(value).__name__} from the database")

    def to_python(self, value):
        if value is None or isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
            return int(value)
        raise ValidationError(_("Enter a whole number of smallest units."), code="invalid")

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None:
            return None
        if hasattr(value, "resolve_expression"):
            return value
        return check_units(value)

    def get_db_prep_value(self, value, connection, prepared=False):
        if not prepared:
            value = self.get_prep_value(value)
        if value is None or hasattr(value, "resolve_expression"):
            return value
        if connection.vendor == "sqlite":
            return encode_sqlite(value)
        return Decimal(value)

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": AmountFormField, **kwargs})


class ExactSum(models.Aggregate):
    """``SUM`` of an AmountField that stays exact on SQLite; ``None`` over no rows."""

    function = "SUM"
    name = "ExactSum"

    def __init__(self, expression, **extra):
        super().__init__(expression, output_field=AmountField(), **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function="EXACT_SUM", **extra_context)


class _SqliteExactSum:
    def __init__(self) -> None:
        self.total = 0
        self.seen = False

    def step(self, value) -> None:
        if value is None:
            return
        self.total += decode_sqlite(value) if isinstance(value, str) else int(value)
        self.seen = True

    def finalize(self):
        return encode_sqlite(self.total) if self.seen else None


class AmountPlus(models.Func):
    """``column + units`` for an AmountField, exact on both databases (one UPDATE for many rows)."""

    function = ""
    template = "(%(expressions)s)"
    arg_joiner = " + "

    def __init__(self, column: str, units: int, **extra):
        units = check_units(units)
        super().__init__(models.F(column), models.Value(Decimal(units)), output_field=AmountField(), **extra)
        self.units = units

    def as_sqlite(self, compiler, connection, **extra_context):
        column = self.source_expressions[0]
        sql, params = compiler.compile(column)
        return f"AMOUNT_ADD({sql}, %s)", (*params, str(self.units))


def _sqlite_amount_add(text, units):
    if text is None:
        return None
    return encode_sqlite(decode_sqlite(text) + int(units))


def _sqlite_amount_sub(left, right):
    if left is None or right is None:
        return None
    return encode_sqlite(decode_sqlite(left) - decode_sqlite(right))


def _register_sqlite_functions(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("EXACT_SUM", 1, _SqliteExactSum)
        connection.connection.create_function("AMOUNT_ADD", 2, _sqlite_amount_add, deterministic=True)
        # Exact difference of two stored amounts (ledger verification: opened - taken).
        connection.connection.create_function("AMOUNT_SUB", 2, _sqlite_amount_sub, deterministic=True)


def install_sqlite_functions() -> None:
    connection_created.connect(_register_sqlite_functions, dispatch_uid="reserve.amounts.sqlite")


class ExactDecimalField(models.Field):
    """A decimal number kept exactly on every database: prices, rates and values.

    Django's ``DecimalField`` is stored as a float on SQLite (15 significant digits), so a
    price or a value in KZT could come back changed. Here: PostgreSQL ``numeric`` without a
    fixed scale; SQLite the plain decimal text (never compared or summed in SQL there: values
    are added in Python with :class:`~decimal.Decimal`). NaN and infinities are refused.
    """

    description = _("Exact decimal number")

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "numeric"
        if connection.vendor == "sqlite":
            return "varchar(100)"
        raise NotImplementedError(f"ExactDecimalField does not support {connection.vendor}")

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return Decimal(str(value)) if not isinstance(value, Decimal) else value

    def to_python(self, value):
        if value is None or isinstance(value, Decimal):
            return value
        if isinstance(value, float):
            raise ValidationError(_("A float is not an exact number; pass a decimal string."), code="invalid")
        try:
            number = Decimal(str(value).strip())
        except ArithmeticError:
            raise ValidationError(_("Enter a number."), code="invalid") from None
        if not number.is_finite():
            raise ValidationError(_("Enter a finite number."), code="invalid")
        return number

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or hasattr(value, "resolve_expression"):
            return value
        return self.to_python(value)

    def get_db_prep_value(self, value, connection, prepared=False):
        if not prepared:
            value = self.get_prep_value(value)
        if value is None or hasattr(value, "resolve_expression"):
            return value
        if connection.vendor == "sqlite":
            return format(value, "f")
        return value

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": forms.DecimalField, **kwargs})
