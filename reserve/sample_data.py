"""Sample data contributed by other apps: the registration point of ``load_sample_data``.

Reserve never imports the apps built on it; they register a loader from their
``AppConfig.ready()``::

    register_sample_data("intake", "intake.sample_data.load")

``load_sample_data`` makes its own data first (assets, wallets, sample users and approvers,
the opening balances) and then runs every registered loader, in registration order, inside the
same transaction, with a :class:`SampleContext`. A loader must be idempotent: it looks its
records up before it creates them, makes every change through its app's services and the
approval engine, and reports what it created through :meth:`SampleContext.count` (a second run
reports nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.utils.module_loading import import_string

from reserve.approvals.services import decide, refusal_reason
from reserve.models import ApprovalRequest, RequestStatus, Verdict


@dataclass(frozen=True)
class SampleContext:
    """What a loader gets: the sample users by username, the clerk who makes the sample
    requests, the sample approvers, and a counter of what was created."""

    users: Mapping[str, object]
    maker: object
    approvers: tuple
    count: Callable[[str, bool], None]

    def user(self, username: str):
        return self.users[username]

    def approve(
        self,
        request: ApprovalRequest,
        approvers=None,
        comment: str = "Checked against the evidence (sample data).",
    ) -> ApprovalRequest:
        """Approve ``request`` by ``approvers`` (default: every sample approver) in turn."""
        return approve_in_turn(request, self.approvers if approvers is None else approvers, comment=comment)


def approve_in_turn(request: ApprovalRequest, approvers, *, comment: str) -> ApprovalRequest:
    """Approve ``request`` by each of ``approvers`` in turn, each only while it is pending and
    only if the engine would accept that approver now (the sample approvers' second factor
    counts as verified)."""
    for approver in approvers:
        if request.status != RequestStatus.PENDING:
            break
        if request.decisions.filter(approver=approver).exists():
            continue
        if refusal_reason(request, approver) is not None:
            continue
        request = decide(
            request=request,
            approver=approver,
            verdict=Verdict.APPROVE,
            comment=comment,
            digest=request.payload_digest,
            second_factor=True,
            via="sample_data",
        )
    return request


Loader = Callable[[SampleContext], None]

_LOADERS: dict[str, Loader | str] = {}


def register_sample_data(label: str, loader: Loader | str) -> None:
    """Register ``loader`` (a callable or its dotted path, imported when it runs) under
    ``label``. Registering the same label again replaces the loader (``ready()`` may run twice
    in tests)."""
    _LOADERS[label] = loader


def registered_sample_data() -> list[tuple[str, Loader]]:
    """The registered loaders, in registration order, dotted paths imported."""
    return [
        (label, import_string(loader) if isinstance(loader, str) else loader)
        for label, loader in _LOADERS.items()
    ]
