"""Valuation snapshots and NAV: what the holdings are worth at an instant, in USD and KZT, and
where every figure came from (services, selectors)."""
