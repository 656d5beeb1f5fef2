"""Integration clients, their tokens and their call log (issue #4).

Every change to a client or a token is written with its audit event in one transaction.
A token's secret exists only in the :class:`IssuedToken` returned when it is made; the
database keeps its SHA-256 and a visible prefix. Idempotent replies are in
:mod:`reserve.api.idempotency`; the second factor of a decision in :mod:`reserve.api.decisions`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from reserve import roles
from reserve.audit import record_event
from reserve.models import ApiCallLog, ApiClient, ApiToken, Scope

User = get_user_model()

TOKEN_PREFIX = "sdaf_"
VISIBLE_PREFIX_LENGTH = 12
DEFAULT_TOKEN_LIFETIME = dt.timedelta(days=90)
MAX_TOKEN_LIFETIME = dt.timedelta(days=366)
#: ``last_used_at`` is written at most this often per token, not on every call.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _clean_scopes(scopes) -> list[str]:
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ValidationError(
            {
                "scopes": [
                    _("Unknown scopes: %(unknown)s. Known: %(known)s.")
                    % {"unknown": ", ".join(unknown), "known": ", ".join(Scope.values)}
                ]
            }
        )
    return [scope for scope in Scope.values if scope in set(scopes)]


@transaction.atomic
def create_client(*, name: str, scopes: list[str], user=None, description: str = "", actor=None) -> ApiClient:
    """Make a client. Without ``user`` a service user named ``<name>@api`` is made in the
    "Integration client" group (no password, no permissions); with ``user`` the client acts as
    that existing person (e.g. an approver deciding from another system)."""
    scopes = _clean_scopes(scopes)
    if ApiClient.objects.filter(name=name).exists():
        raise ValidationError({"name": [_("A client with this name exists.")]})
    if user is None:
        username = f"{name}@api"
        if User.objects.filter(username=username).exists():
            raise ValidationError(
                {"name": [_("A user named %(username)s exists already.") % {"username": username}]}
            )
        user = User(username=username, is_active=True)
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name=roles.INTEGRATION_CLIENT))
    else:
        if actor is None or actor.pk != user.pk:
            # Otherwise an administrator could hold a token that decides as an approver.
            raise ValidationError(
                {"user": [_("A client that acts as a person can be set up only by that person, signed in.")]}
            )
        if not user.is_active:
            raise ValidationError({"user": [_("This user is deactivated.")]})
        if ApiClient.objects.filter(user=user).exists():
            raise ValidationError({"user": [_("This user already has an API client.")]})
    client = ApiClient(
        name=name,
        user=user,
        scopes=scopes,
        description=description,
        created_at=timezone.now(),
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    client.full_clean(exclude=["user", "created_by"])
    client._history_user = actor
    client.save()
    record_event(
        action="reserve.api_client.created",
        actor=actor,
        subject=client,
        data={"user": user.get_username(), "scopes": scopes},
    )
    return client


@transaction.atomic
def set_client_scopes(*, client: ApiClient, scopes: list[str], actor=None) -> ApiClient:
    scopes = _clean_scopes(scopes)
    locked = ApiClient.objects.select_for_update().get(pk=client.pk)
    before = list(locked.scopes)
    if before == scopes:
        return locked
    locked.scopes = scopes
    locked._history_user = actor
    locked.save(update_fields=["scopes"])
    record_event(
        action="reserve.api_client.scopes_changed",
        actor=actor,
        subject=locked,
        data={"before": before, "after": scopes},
    )
    return locked


@transaction.atomic
def revoke_client(client: ApiClient, *, actor=None) -> ApiClient:
    """Switch a client off for good: it and all its tokens stop working at once."""
    locked = ApiClient.objects.select_for_update().get(pk=client.pk)
    now = timezone.now()
    revoked = ApiToken.objects.filter(client=locked, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=actor if actor is not None and actor.is_authenticated else None
    )
    if locked.revoked_at is None:
        locked.is_active = False
        locked.revoked_at = now
        locked.revoked_by = actor if actor is not None and actor.is_authenticated else None
        locked._history_user = actor
        locked.save(update_fields=["is_active", "revoked_at", "revoked_by"])
        record_event(
            action="reserve.api_client.revoked", actor=actor, subject=locked, data={"tokens_revoked": revoked}
        )
    return locked


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``secret`` is what the client sends; it is never stored or shown again."""

    token: ApiToken
    secret: str


def _new_token(
    client: ApiClient, *, expires_in: dt.timedelta, actor, replaces: ApiToken | None = None
) -> IssuedToken:
    if not client.is_active:
        raise ValidationError(_("Client %(name)s is revoked; it gets no new tokens.") % {"name": client.name})
    if not dt.timedelta(0) < expires_in <= MAX_TOKEN_LIFETIME:
        raise ValidationError(
            {
                "expires_in": [
                    _("A token lives between a moment and %(days)d days.") % {"days": MAX_TOKEN_LIFETIME.days}
                ]
            }
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        client=client,
        prefix=secret[:VISIBLE_PREFIX_LENGTH],
        token_hash=hash_token(secret),
        created_at=now,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        expires_at=now + expires_in,
        replaces=replaces,
    )
    return IssuedToken(token=token, secret=secret)


def acts_for_person(client: ApiClient) -> bool:
    """True when the client's user is a person (not a service user of the Integration client
    group): its tokens carry that person's approval power."""
    return not client.user.groups.filter(name=roles.INTEGRATION_CLIENT).exists()


def _ensure_may_hold_tokens(client: ApiClient, actor) -> None:
    if acts_for_person(client) and (actor is None or actor.pk != client.user_id):
        raise ValidationError(
            _("Tokens of a client that acts as a person are issued only to that person, signed in.")
        )


@transaction.atomic
def issue_token(
    client: ApiClient, *, expires_in: dt.timedelta = DEFAULT_TOKEN_LIFETIME, actor=None
) -> IssuedToken:
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    _ensure_may_hold_tokens(client, actor)
    issued = _new_token(client, expires_in=expires_in, actor=actor)
    record_event(
        action="reserve.api_token.issued",
        actor=actor,
        subject=client,
        data={"prefix": issued.token.prefix, "expires_at": issued.token.expires_at},
    )
    return issued


@transaction.atomic
def rotate_token(token: ApiToken, *, expires_in: dt.timedelta | None = None, actor=None) -> IssuedToken:
    """Replace a token: the new one is returned, the old one stops working now."""
    locked = ApiToken.objects.select_for_update().select_related("client").get(pk=token.pk)
    if locked.revoked_at is not None:
        raise ValidationError(
            _("Token %(prefix)s… is revoked; issue a new one instead.") % {"prefix": locked.prefix}
        )
    _ensure_may_hold_tokens(locked.client, actor)
    issued = _new_token(
        locked.client, expires_in=expires_in or DEFAULT_TOKEN_LIFETIME, actor=actor, replaces=locked
    )
    _revoke(locked, actor)
    record_event(
        action="reserve.api_token.rotated",
        actor=actor,
        subject=locked.client,
        data={
            "old_prefix": locked.prefix,
            "prefix": issued.token.prefix,
            "expires_at": issued.token.expires_at,
        },
    )
    return issued


def _revoke(token: ApiToken, actor) -> None:
    token.revoked_at = timezone.now()
    token.revoked_by = actor if actor is not None and actor.is_authenticated else None
    token.save(update_fields=["revoked_at", "revoked_by"])


@transaction.atomic
def revoke_token(token: ApiToken, *, actor=None) -> ApiToken:
    locked = ApiToken.objects.select_for_update().select_related("client").get(pk=token.pk)
    if locked.revoked_at is None:
        _revoke(locked, actor)
        record_event(
            action="reserve.api_token.revoked",
            actor=actor,
            subject=locked.client,
            data={"prefix": locked.prefix},
        )
    return locked


class TokenRefused(Exception):
    """A bearer token that does not authenticate; ``code`` says why, ``token`` is the row if known."""

    def __init__(self, code: str, message: str, token: ApiToken | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.token = token


def authenticate_token(secret: str, *, now: dt.datetime | None = None) -> ApiToken:
    """The live token for ``secret`` (with its client and user), or :class:`TokenRefused`."""
    now = now or timezone.now()
    token = (
        ApiToken.objects.select_related("client__user").filter(token_hash=hash_token(secret)).first()
        if secret.startswith(TOKEN_PREFIX)
        else None
    )
    if token is None:
        raise TokenRefused("token_invalid", _("Unknown API token."))
    if token.revoked_at is not None:
        raise TokenRefused("token_revoked", _("This API token was revoked."), token)
    if token.expires_at <= now:
        raise TokenRefused("token_expired", _("This API token expired."), token)
    if not token.client.is_active:
        raise TokenRefused("client_revoked", _("This API client was revoked."), token)
    if not token.client.user.is_active:
        raise TokenRefused("client_disabled", _("The user this API client acts as is deactivated."), token)
    if token.last_used_at is None or token.last_used_at <= now - LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def _storable(text: str, length: int) -> str:
    """Text as logged: NUL (which PostgreSQL cannot store) written as %00, cut to ``length``."""
    return text.replace("\x00", "%00")[:length]


def record_api_call(
    *,
    client: ApiClient | None,
    token_prefix: str,
    method: str,
    path: str,
    status: int,
    idempotency_key: str = "",
    duration_ms: int,
) -> ApiCallLog:
    return ApiCallLog.objects.create(
        client=client,
        token_prefix=_storable(token_prefix, 16),
        method=_storable(method, 8),
        path=_storable(path, 500),
        status=status,
        idempotency_key=_storable(idempotency_key, 128),
        duration_ms=max(0, duration_ms),
        at=timezone.now(),
    )
