"""One-time bootstrap of the first approvers (and the default policies).

    manage.py bootstrap_approvers --approver alice="Board member" --approver bob="Board member" ...

Refuses to run once any approver exists: from then on approvers are granted and revoked only
by approved ``reserve.approver_change`` requests.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from reserve.approvals.services import ApprovalError, bootstrap_approvers


class Command(BaseCommand):
    help = "Set the very first approvers once (refused when any approver exists)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--approver",
            action="append",
            default=[],
            metavar='USER="GROUP"',
            help="A user and the approver group to put them in; repeat for each approver.",
        )

    def handle(self, *args, **options):
        if not options["approver"]:
            raise CommandError('Name the approvers: --approver alice="Board member" (repeat).')
        assignments = []
        User = get_user_model()
        for item in options["approver"]:
            username, sep, group_name = item.partition("=")
            if not sep:
                raise CommandError(f'"{item}": write USER="GROUP".')
            user = User.objects.filter(username=username.strip()).first()
            group = Group.objects.filter(name=group_name.strip()).first()
            if user is None:
                raise CommandError(f"No user {username!r}.")
            if group is None:
                raise CommandError(f"No group {group_name!r}.")
            assignments.append((user, group))
        try:
            created = bootstrap_approvers(assignments=assignments)
        except ApprovalError as exc:
            raise CommandError(" ".join(exc.messages))
        for membership in created:
            self.stdout.write(f"approver: {membership.user.get_username()} in {membership.group.name}")
        self.stdout.write(
            self.style.SUCCESS(f"{len(created)} approvers set; this command will not run again.")
        )
