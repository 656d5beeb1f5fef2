"""Display helpers of the workflow screens: Almaty time, exact amounts, domain labels."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import template
from django.conf import settings
from django.utils import formats
from django.utils.html import format_html
from django.utils.translation import gettext as _

from reserve.approvals.registry import kind_label
from reserve.models import Asset, Category, RequestStatus

register = template.Library()


@register.filter
def when(value: dt.datetime | None) -> str:
    """A moment in the fund's local time (Asia/Almaty), formatted for the active language,
    with the exact ISO instant for machines and tooltips."""
    if value is None:
        return "—"
    local = value.astimezone(ZoneInfo(settings.TIME_ZONE))
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        local.isoformat(timespec="seconds"),
        local.strftime("%Y-%m-%d %H:%M:%S UTC%z"),
        formats.date_format(local, "DATETIME_FORMAT"),
    )


@register.filter
def amount(units: int | None, asset: Asset | None) -> str:
    """Smallest units as the exact decimal string with all of the asset's decimals."""
    if units is None or asset is None:
        return ""
    return asset.format(units)


@register.filter
def exact(value: Decimal | None) -> str:
    """A price, rate or value as its exact decimal string, never a float ("—" when missing)."""
    return "—" if value is None else format(Decimal(value), "f")


@register.filter
def category_label(code: str) -> str:
    try:
        return Category(code).label
    except ValueError:
        return code


register.filter("kind_label", kind_label)


@register.filter
def status_class(status: str) -> str:
    return {
        RequestStatus.PENDING: "status-pending",
        RequestStatus.EXECUTED: "status-executed",
        RequestStatus.REJECTED: "status-rejected",
    }.get(status, "status-closed")


@register.filter
def direction_label(direction: str) -> str:
    return {"debit": _("leaves"), "credit": _("arrives")}.get(direction, direction)


@register.simple_tag
def user_may_make_requests(user) -> bool:
    from reserve.approvals.access import may_make_requests

    return may_make_requests(user)


@register.filter
def event_details(data: dict | None) -> str:
    """The scalar facts of an audit event in one line (long digests shortened)."""
    if not isinstance(data, dict):
        return ""
    parts = []
    for key, value in data.items():
        if isinstance(value, dict | list):
            continue
        text = str(value)
        if key.startswith("digest") and len(text) == 64:
            text = f"{text[:12]}…"
        if text:
            parts.append(f"{key}: {text}")
    return "; ".join(parts)
