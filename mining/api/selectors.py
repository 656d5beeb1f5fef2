"""The querysets the mining API reads: what each list and detail fetches, in a constant number
of queries per page."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from mining.models import DailyLine, OutputReport, Site


def sites() -> QuerySet[Site]:
    return Site.objects.select_related("custody_wallet").order_by("id")


def reports(*, site: int | None = None, state: str | None = None) -> QuerySet[OutputReport]:
    queryset = OutputReport.objects.select_related("site").annotate(line_count=Count("lines"))
    if site is not None:
        queryset = queryset.filter(site_id=site)
    if state:
        queryset = queryset.filter(state=state)
    return queryset


def report_detail() -> QuerySet[OutputReport]:
    return reports().prefetch_related(
        Prefetch("lines", queryset=DailyLine.objects.select_related("report").order_by("day"))
    )
