"""The API's JSON parser: strict, so that hostile bodies are a 400 ``malformed`` and never a
server error further in.

Python's ``json`` accepts three things the API must not: lone UTF-16 surrogates (``"\\ud800"``),
which cannot be encoded as UTF-8 and so break the idempotency fingerprint and the database;
nesting deep enough to exhaust the interpreter's recursion limit; and ``NaN``/``Infinity``,
which are not JSON. Bodies larger than ``settings.API_MAX_BODY_SIZE`` are a 413 ``too_large``
(checked from ``Content-Length`` by :class:`reserve.api.base.ApiEndpoint`, and here again on
the bytes actually read).
"""

from __future__ import annotations

import json
import re

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

#: Deepest nesting of arrays and objects a body may have (the API's inputs need three).
MAX_DEPTH = 32

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def malformed(message: str) -> exceptions.ParseError:
    return exceptions.ParseError(message, code="malformed")


def _reject_constant(name: str):
    raise malformed(_("%(name)s is not a JSON value.") % {"name": name})


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text``, brackets inside strings aside.

    Counted before parsing, so that a body of 100,000 ``[`` never reaches the recursive parser.
    """
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _check_strings(value, path: str = "") -> None:
    """Refuse lone surrogates in every key and string (the depth is bounded, so is the recursion)."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise malformed(_("The body contains an invalid Unicode character (a lone surrogate)."))
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


class StrictJSONParser(JSONParser):
    """JSON bodies only: UTF-8, at most :data:`MAX_DEPTH` levels, no lone surrogates, no
    ``NaN``/``Infinity``, at most ``settings.API_MAX_BODY_SIZE`` bytes."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_SIZE
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            # Imported here: DRF loads this parser from its settings while reserve.api.errors
            # (which imports DRF's views, hence its settings) is still being imported.
            from reserve.api.errors import PayloadTooLarge

            raise PayloadTooLarge()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise malformed(_("The body is not valid UTF-8."))
        if nesting_depth(text) > MAX_DEPTH:
            raise malformed(_("The body is nested deeper than %(depth)d levels.") % {"depth": MAX_DEPTH})
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except exceptions.ParseError:
            raise
        except (ValueError, RecursionError) as exc:
            raise malformed(_("The body is not valid JSON: %(error)s") % {"error": exc})
        _check_strings(data)
        return data
