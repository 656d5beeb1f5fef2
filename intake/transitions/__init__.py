"""Intake's transitions of a seized item, each an approval request kind made by intake clerks.

- ``intake.take_into_custody`` (:mod:`.custody`): the coins arrived in the custody wallet.
- ``intake.forfeit`` (:mod:`.forfeiture`): a confiscation verdict in force makes them reserve.
- ``intake.release`` (:mod:`.release`): a release order in force returns them to their owner.
- ``intake.release_transfer`` (:mod:`.release_transfer`): the released coins reached their owner
  on chain (``released`` → ``external``).
- ``intake.cancel`` (:mod:`.cancellation`): the order was withdrawn before the coins arrived.

A verdict that acts on part of an item splits it into parts (:func:`.common.split`).
"""

from intake.transitions.cancellation import CANCEL, CancelKind, request_cancellation
from intake.transitions.cancellation import POLICIES as CANCEL_POLICIES
from intake.transitions.custody import (
    INTAKE_FROM,
    INTAKE_RECEIVED,
    TAKE_INTO_CUSTODY,
    TakeIntoCustodyAction,
    TakeIntoCustodyKind,
    chain_configured,
    check_on_chain,
    custody_addresses,
    min_confirmations,
    request_custody_intake,
    verified_on_chain,
)
from intake.transitions.custody import POLICIES as CUSTODY_POLICIES
from intake.transitions.forfeiture import FORFEIT, INTAKE_FORFEITED, ForfeitKind, request_forfeiture
from intake.transitions.forfeiture import POLICIES as FORFEIT_POLICIES
from intake.transitions.release import INTAKE_RELEASED, RELEASE, ReleaseKind, request_release
from intake.transitions.release import POLICIES as RELEASE_POLICIES
from intake.transitions.release_transfer import (
    INTAKE_RELEASE_SENT,
    RELEASE_TRANSFER,
    ReleaseTransferKind,
    release_facts,
    request_release_transfer,
)
from intake.transitions.release_transfer import POLICIES as RELEASE_TRANSFER_POLICIES

KINDS = (TakeIntoCustodyKind, ForfeitKind, ReleaseKind, ReleaseTransferKind, CancelKind)
DEFAULT_POLICIES = (
    *CUSTODY_POLICIES,
    *FORFEIT_POLICIES,
    *RELEASE_POLICIES,
    *RELEASE_TRANSFER_POLICIES,
    *CANCEL_POLICIES,
)

__all__ = [
    "CANCEL",
    "DEFAULT_POLICIES",
    "FORFEIT",
    "INTAKE_FORFEITED",
    "INTAKE_FROM",
    "INTAKE_RECEIVED",
    "INTAKE_RELEASED",
    "INTAKE_RELEASE_SENT",
    "KINDS",
    "RELEASE",
    "RELEASE_TRANSFER",
    "TAKE_INTO_CUSTODY",
    "CancelKind",
    "ForfeitKind",
    "ReleaseKind",
    "ReleaseTransferKind",
    "TakeIntoCustodyAction",
    "TakeIntoCustodyKind",
    "chain_configured",
    "check_on_chain",
    "custody_addresses",
    "min_confirmations",
    "request_cancellation",
    "request_custody_intake",
    "request_forfeiture",
    "release_facts",
    "request_release",
    "request_release_transfer",
    "verified_on_chain",
]
