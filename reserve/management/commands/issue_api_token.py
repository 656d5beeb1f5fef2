"""Issue a bearer token for an integration client, making the client if it does not exist.

    manage.py issue_api_token demo-integration
    manage.py issue_api_token court-system --scopes requests:read requests:write --days 30
    TOKEN=$(manage.py issue_api_token demo-integration)

The token is the only thing written to stdout (its last line); what was done goes to stderr.
A new client gets a service user ``<client>@api`` in the "Integration client" group, or acts
as an existing user with ``--user``. ``--scopes`` on an existing client replaces its scopes.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from reserve.api.clients import (
    DEFAULT_TOKEN_LIFETIME,
    MAX_TOKEN_LIFETIME,
    create_client,
    issue_token,
    set_client_scopes,
)
from reserve.models import ApiClient, Scope


class Command(BaseCommand):
    help = "Print a new API token for CLIENT (made if missing); only the token goes to stdout."

    def add_arguments(self, parser):
        parser.add_argument("client", help="Client name, e.g. demo-integration.")
        parser.add_argument(
            "--scopes",
            nargs="+",
            metavar="SCOPE",
            help=f"The client's scopes ({', '.join(Scope.values)}, or 'all'). Required for a new client.",
        )
        parser.add_argument(
            "--days",
            type=int,
            default=DEFAULT_TOKEN_LIFETIME.days,
            help=f"Days until the token expires (1 to {MAX_TOKEN_LIFETIME.days}; default {DEFAULT_TOKEN_LIFETIME.days}).",
        )
        parser.add_argument(
            "--user", help="For a new client: the existing user it acts as (default: a new service user)."
        )

    def handle(self, *args, **options):
        name = options["client"]
        scopes = options["scopes"]
        if scopes is not None and "all" in scopes:
            scopes = list(Scope.values)
        if not 1 <= options["days"] <= MAX_TOKEN_LIFETIME.days:
            raise CommandError(f"--days must be between 1 and {MAX_TOKEN_LIFETIME.days}.")
        try:
            client = ApiClient.objects.filter(name=name).first()
            if client is None:
                if not scopes:
                    raise CommandError(
                        f"No client {name!r}: give --scopes to make it ({', '.join(Scope.values)})."
                    )
                user = None
                if options["user"]:
                    user = get_user_model().objects.filter(username=options["user"]).first()
                    if user is None:
                        raise CommandError(f"No user {options['user']!r}.")
                client = create_client(name=name, scopes=scopes, user=user)
                self.stderr.write(f"Made client {client.name}, acting as {client.user.get_username()}.")
            elif scopes is not None:
                client = set_client_scopes(client=client, scopes=scopes)
            issued = issue_token(client, expires_in=dt.timedelta(days=options["days"]))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
        self.stderr.write(
            f"Client {client.name} (scopes: {', '.join(client.scopes) or 'none'}); "
            f"token {issued.token.prefix}… expires {issued.token.expires_at:%Y-%m-%d %H:%M} UTC."
        )
        self.stdout.write(issued.secret)
