"""One adapter per outside price source; the shared interface is in :mod:`.base`."""

from reserve.pricing.sources.base import PriceSource, Quote

__all__ = ["PriceSource", "Quote"]
