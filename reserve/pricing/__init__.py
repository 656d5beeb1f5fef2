"""Pricing: adapters of the outside price sources and the choice of one price among them.

- :mod:`reserve.pricing.sources` holds one adapter per provider (Kraken, Binance, CoinGecko) behind
  :class:`~reserve.pricing.sources.base.PriceSource`, each answering :class:`~reserve.pricing.sources.base.Quote`
  objects or raising a classified :class:`~reserve.external.http.SourceError`; and the National Bank of
  Kazakhstan's official KZT rates (:mod:`reserve.pricing.sources.nbk`).
- :mod:`reserve.pricing.median` chooses one price from several quotes (stale and outlier quotes
  rejected, a missing price is ``None`` with a reason, never zero).

No models here: storing quotes, the manual source, schedules and valuation snapshots are built on
top of this interface elsewhere.
"""
