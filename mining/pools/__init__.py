"""Pool payout verification (issue #19): what the pool says it paid, what arrived at the payout
address, and what the site reported, compared day by day to the satoshi.

Pure Python, no models: :mod:`.statements` parses a pool's statement (a documented CSV format and
Binance Pool's "Earnings List" API) into :class:`~.statements.PoolStatementLine` values;
:mod:`.receipts` gathers the receipts at the payout address (a chain source, or a clerk's
entries with their txids); :mod:`.reconcile` compares them with the receipts observed on chain (or entered by a clerk) and
the site's report and returns every mismatch with both figures.
"""
