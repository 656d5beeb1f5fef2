"""Chain data: what the blockchains say about the fund's addresses and transactions.

Every source implements :class:`reserve.chain.base.ChainSource` and answers in exact integers of
the smallest unit (satoshi, wei): an Esplora-compatible HTTP API (:mod:`.esplora`), a Bitcoin
Core node over JSON-RPC (:mod:`.bitcoind`) and an Ethereum node over JSON-RPC
(:mod:`.ethereum`). Failures are :class:`reserve.external.http.SourceError` with a
:class:`~reserve.external.http.Failure` class; an unknown transaction or address is
``Failure.UNKNOWN_ASSET`` ("the provider does not know it").

No Django here: the adapters are plain classes, so the models, the manual/offline source and
reconciliation can be built on top of them.
"""
