"""Registry of approval request kinds.

Every action that moves or re-classifies reserve assets, or changes who decides, is a request
kind: a class that validates and normalises the action's payload, parses it once into a typed
action, states the facts policies match on, describes the ledger effect approvers will see, and
executes the action. Apps
register their kinds from ``AppConfig.ready()`` (reserve here; intake and mining their own).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from django.utils.functional import Promise


@dataclass(frozen=True)
class MatchFacts:
    asset: Any = None  # reserve.models.Asset or None
    amount_units: int | None = None
    valuation: Decimal | None = None
    valuation_source: str = ""
    source_category: str = ""
    destination_category: str = ""


@dataclass(frozen=True)
class EffectLine:
    account: str
    amount: str
    direction: str  # "debit" (leaves) or "credit" (arrives)


class RequestKind:
    """Base class: subclasses set ``code`` and ``label`` and implement the methods."""

    code: ClassVar[str]
    label: ClassVar[str | Promise]
    #: The kind's name in URLs: ``/api/v1/requests/<slug>/``, ``/workflow/requests/new/<slug>/``.
    slug: ClassVar[str] = ""
    #: Dotted path of the DRF serializer of the payload. Set, the REST API offers
    #: ``POST /api/v1/requests/<slug>/`` for the kind. A dotted path, so that the engine never
    #: imports a face; the API loads it.
    api_serializer: ClassVar[str] = ""
    #: Dotted path of the Django form of the "new request" screen. Set, the workflow screens
    #: offer the kind at ``/workflow/requests/new/<slug>/``.
    form_class: ClassVar[str] = ""
    #: The roles whose members may make (and amend) requests of this kind. ``None``: any maker
    #: role (:data:`reserve.approvals.access.MAKER_ROLES`). The engine enforces it in
    #: ``create_request`` and ``amend_request``, so every face refuses the same way.
    maker_roles: ClassVar[tuple[str, ...] | None] = None

    def prepare(self, payload: dict, *, maker) -> dict:
        """Gather the facts the request must name before it is made, outside any transaction,
        and return the payload to clean (e.g. ask a chain source about a transaction and record
        its answer, naming the record in the payload). Called by ``create_request`` and
        ``amend_request`` for every face, after the maker's role is checked; no chain or
        network I/O ever happens while deciding. The default changes nothing."""
        return payload

    def clean_payload(self, payload: dict) -> dict:
        """Validate and normalise; raise ValidationError with field errors. Pure: no writes.

        The result is what is stored and signed: plain JSON with exact strings for amounts."""
        raise NotImplementedError

    def parse(self, payload: dict) -> Any:
        """Read a clean payload once into the typed action the other methods work on (a frozen
        dataclass per kind); raise ValidationError if what it names can no longer be read.

        The engine parses once per step and hands the action to ``check_executable``,
        ``match_facts``, ``title`` and ``execute``. The default returns the payload itself, for
        kinds whose payload is already what they act on."""
        return payload

    def parse_request(self, request) -> Any:
        """The action of a stored request, as :meth:`parse` reads its payload: how the engine
        reads it to execute it, inside the deciding transaction. The engine read the request
        under its row lock together with its asset, in that same transaction; a kind may take
        such a row from the request rather than read it again. The default is ``parse``."""
        return self.parse(request.payload)

    def clean_and_parse(self, payload: dict) -> tuple[dict, Any]:
        """``clean_payload``, then ``parse`` of what it returns: how the engine reads a payload
        when a request is made or amended. A kind whose cleaning already reads every row its
        action holds overrides it to build the action from those rows rather than read them
        twice; the two must agree with ``parse(clean_payload(payload))``."""
        clean = self.clean_payload(payload)
        return clean, self.parse(clean)

    def title(self, action: Any) -> str:
        raise NotImplementedError

    def match_facts(self, action: Any) -> MatchFacts:
        return MatchFacts()

    def ledger_effect(self, action: Any) -> list[EffectLine]:
        """What the ledger will show for the typed action (the request page parses the stored
        payload with :meth:`parse` first)."""
        return []

    def notices(self, action: Any) -> list[str]:
        """Facts an approver must see on the request page (e.g. a cooling-off period)."""
        return []

    def evidence(self, action: Any) -> list[dict]:
        """Documents an approver should open, found from the action itself (a court order's
        signed document, a case page): ``{"label": ..., "url": ...}`` items shown with the
        evidence the maker attached. URLs are this site's paths or http(s) pages."""
        return []

    def check_executable(self, action: Any) -> None:
        """Rules that hold whatever a policy says; checked when made and again when executed."""

    def execute(self, *, request, action: Any, actor) -> dict:
        """Carry out the action inside the deciding transaction through named services (each
        writes its own audit row); return a result summary."""
        raise NotImplementedError


_KINDS: dict[str, RequestKind] = {}


class UnknownKind(LookupError):
    pass


def register_kind(kind: RequestKind) -> RequestKind:
    existing = _KINDS.get(kind.code)
    if existing is not None and type(existing) is not type(kind):
        raise ValueError(f"request kind {kind.code!r} is already registered")
    _KINDS[kind.code] = kind
    return kind


def get_kind(code: str) -> RequestKind:
    try:
        return _KINDS[code]
    except KeyError:
        raise UnknownKind(code) from None


def kind_label(code: str) -> str:
    """The kind's label in the active language; the code itself for a kind no app registers."""
    kind = _KINDS.get(code)
    return str(kind.label) if kind else code


def kind_for_slug(slug: str, *, offering: str) -> RequestKind | None:
    """The registered kind named ``slug`` in URLs that sets ``offering`` (``"form_class"`` for
    the "new request" screen, ``"api_serializer"`` for the REST create endpoint), or None."""
    for kind in _KINDS.values():
        if kind.slug and kind.slug == slug and getattr(kind, offering):
            return kind
    return None


def registered_kinds() -> list[RequestKind]:
    return sorted(_KINDS.values(), key=lambda k: k.code)
