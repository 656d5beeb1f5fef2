"""The embedded default in one command: Django's development server plus a Celery worker with
beat on the broker from settings (the filesystem broker unless CELERY_BROKER_URL is set).

Both run as child processes in their own sessions, so a Ctrl-C in the terminal reaches only
this supervisor, which then stops each child exactly once with SIGTERM (a second signal would
turn Celery's warm shutdown into a cold one). On Linux the children are also told to receive
SIGTERM if the supervisor dies without cleaning up. If either child exits, the other is stopped.
At start it asks (through the outbox) for a valuation of the holdings as of that moment, which
the worker makes as soon as it is up.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import get_commands
from django.core.management.base import BaseCommand, CommandError
from django.urls import NoReverseMatch, reverse

from reserve import roles
from reserve.management.commands.load_sample_data import ADMIN_USERNAME, DEMO_PASSWORD, SAMPLE_USERS

STOP_TIMEOUT = 30.0
READY_TIMEOUT = 60.0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Command(BaseCommand):
    help = (
        "Run the web server (runserver, no autoreload) and a Celery worker with beat together; "
        "Ctrl-C or SIGTERM stops both. For the embedded default, not for production."
    )
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "addrport",
            nargs="?",
            default="127.0.0.1:8000",
            help="Address and port of the web server (default 127.0.0.1:8000).",
        )

    def handle(self, *args, addrport: str, **options) -> None:
        if getattr(settings, "PRODUCTION", False):
            raise CommandError(
                "run_embedded is the development/demo runner. In production run a WSGI server, "
                "Celery workers and one Celery beat as separate services."
            )
        host, _sep, port = addrport.rpartition(":")
        host = host or "127.0.0.1"
        if not port.isdigit():
            raise CommandError(f"{addrport!r} is not an address:port such as 127.0.0.1:8000.")
        self._stop_signal: int | None = None
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        children: dict[str, subprocess.Popen] = {}
        exited: tuple[str, int] | None = None
        try:
            self._ask_for_a_first_valuation()
            children["celery worker + beat"] = self._spawn(self._celery_command())
            children["web server"] = self._spawn(
                [
                    sys.executable,
                    str(Path(settings.BASE_DIR) / "manage.py"),
                    "runserver",
                    f"{host}:{port}",
                    "--noreload",
                ]
            )
            if self._wait_until_listening(host, int(port), children):
                self._print_banner(host, port)
            elif self._stop_signal is None and all(c.poll() is None for c in children.values()):
                self.stderr.write(f"The web server is not answering on {host}:{port} yet; still waiting.")
            exited = self._supervise(children)
        finally:
            self._stop(children)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if exited is not None:
            name, code = exited
            raise CommandError(f"The {name} exited unexpectedly (exit code {code}); stopped the rest.")
        self.stdout.write("Stopped web server and Celery worker.")

    def _ask_for_a_first_valuation(self) -> None:
        """Value the holdings as of now, through the outbox: the worker does it as soon as it
        starts instead of at beat's first 5-minute tick. The instant is now, not the slot: the
        slot began before this start, so prices entered since (the sample data's) would not count.
        """
        from django.db import DatabaseError, transaction
        from django.utils import timezone

        from reserve.outbox import enqueue

        at = timezone.now().isoformat()
        try:
            with transaction.atomic():
                enqueue(
                    "reserve.tasks.refresh_valuation_task",
                    at=at,
                    trigger="start",
                    dedupe_key=f"valuation:start:{at}",
                )
        except DatabaseError as exc:
            self.stderr.write(f"No valuation asked for at start ({exc}); run manage.py migrate first.")

    def _celery_command(self) -> list[str]:
        schedule = Path(settings.VAR_DIR) / "celerybeat-schedule"
        worker = ["-m", "celery", "-A", "reserve", "worker", "-B", "-s", str(schedule)]
        return [sys.executable, *worker, "--loglevel=info"]

    def _spawn(self, command: list[str]) -> subprocess.Popen:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "reserve.settings"}
        return subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
            command,
            cwd=settings.BASE_DIR,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def _on_signal(self, signum, frame) -> None:
        self._stop_signal = signum

    def _wait_until_listening(self, host: str, port: int, children: dict[str, subprocess.Popen]) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline and self._stop_signal is None:
            if any(child.poll() is not None for child in children.values()):
                return False
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.2)
        return False

    def _supervise(self, children: dict[str, subprocess.Popen]) -> tuple[str, int] | None:
        """Wait for a stop signal (returns None) or for a child to exit (returns its name/code)."""
        while self._stop_signal is None:
            for name, child in children.items():
                code = child.poll()
                if code is not None:
                    return name, code
            time.sleep(0.3)
        return None

    def _stop(self, children: dict[str, subprocess.Popen]) -> None:
        running = {name: c for name, c in children.items() if c.poll() is None}
        if not running:
            return
        self.stdout.write(f"Stopping {', '.join(running)} ...")
        for child in running.values():
            child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for name, child in running.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"The {name} did not stop within {STOP_TIMEOUT:.0f} s; killing it.")
                child.kill()
                child.wait()

    def _print_banner(self, host: str, port: str) -> None:
        base = f"http://{host}:{port}"
        width = max(len(u.username) for u in SAMPLE_USERS)
        lines = [
            "",
            "State Digital Asset Fund back office (embedded mode) is running.",
            f"  Clerks, auditors (Django admin):  {base}/admin/",
        ]
        workflow = _url_if_routed("workflow:inbox")
        if workflow:
            lines.append(f"  Approvers (workflow screens):     {base}{workflow}")
        lines += [
            f"  Integrations (REST API docs):     {base}/api/docs/",
            f"  Background:                       Celery worker + beat on {settings.CELERY_BROKER_URL}",
            "",
            f"Sample logins (password for all: {DEMO_PASSWORD}):",
            f"  {ADMIN_USERNAME:<{width}}  superuser (admin; no approval power)",
        ]
        for user in SAMPLE_USERS:
            notes = [user.role]
            if user.role in roles.APPROVER_ROLES:
                notes.append("approver: signs in at the workflow screens")
            if user.is_staff:
                notes.append("signs in at the admin")
            lines.append(f"  {user.username:<{width}}  {', '.join(notes)}")
        if "demo_totp" in get_commands():
            lines += [
                "",
                "The sample approvers already have an authenticator enrolled. A decision asks for",
                "its current 6-digit code, which this prints (each code is accepted once):",
                "  .venv/bin/python manage.py demo_totp <username>",
            ]
        lines += ["", "Press Ctrl-C to stop both.", ""]
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))


def _url_if_routed(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None
