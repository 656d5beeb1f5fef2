"""Mining's report workflow, ``draft → submitted → verified → approved → posted``.

- :mod:`.workflow`: the clerks' steps, as services: :func:`submit_report`,
  :func:`record_verification`, :func:`reopen_report`.
- :mod:`.acceptance`: ``mining.accept_output``, the approval request kind whose execution
  approves the report and posts its output to ``reserve:mined`` (:func:`request_acceptance`).
- :mod:`.sweeps`: :func:`request_sweep`, a ``reserve.transfer`` of mined coins to cold storage.
"""

from mining.transitions.acceptance import (
    MINING_OUTPUT,
    ORIGIN_KIND,
    AcceptOutputAction,
    AcceptOutputKind,
    post_output,
    request_acceptance,
)
from mining.transitions.acceptance import POLICIES as ACCEPTANCE_POLICIES
from mining.transitions.common import current_verification, paid_by_day
from mining.transitions.sweeps import request_sweep, sweep_payload
from mining.transitions.workflow import (
    ACCEPT_OUTPUT,
    open_acceptance_requests,
    record_verification,
    reopen_report,
    submit_report,
)

KINDS = (AcceptOutputKind,)
DEFAULT_POLICIES = (*ACCEPTANCE_POLICIES,)

__all__ = [
    "ACCEPT_OUTPUT",
    "DEFAULT_POLICIES",
    "KINDS",
    "MINING_OUTPUT",
    "ORIGIN_KIND",
    "AcceptOutputAction",
    "AcceptOutputKind",
    "current_verification",
    "open_acceptance_requests",
    "paid_by_day",
    "post_output",
    "record_verification",
    "reopen_report",
    "request_acceptance",
    "request_sweep",
    "submit_report",
    "sweep_payload",
]
