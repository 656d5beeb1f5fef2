"""The daily lines' spreadsheet import page of the output reports' admin."""

import pytest
from django.urls import reverse

from mining.models import DailyLine
from reserve.models import AuditEvent
from tests.mining.test_import_lines import csv_bytes, week, xlsx_bytes
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "admin:mining_outputreport_import_lines"


@pytest.fixture
def staff_clerk(mining_clerk):
    mining_clerk.is_staff = True
    mining_clerk.save()
    return mining_clerk


def upload(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_a_mining_clerk_previews_then_imports(client, staff_clerk, report):
    client.force_login(staff_clerk)
    changelist = client.get(reverse("admin:mining_outputreport_changelist"))
    assert reverse(URL).encode() in changelist.content
    assert client.get(reverse(URL), {"report": report.pk}).status_code == 200

    data = xlsx_bytes(week())
    preview = client.post(reverse(URL), {"report": report.pk, "file": upload(data, "lines.xlsx")})
    assert preview.status_code == 200
    result = preview.context["report"]
    assert result.ok and result.rows == 7
    assert b'id="import-verification"' in preview.content and b'name="_apply"' in preview.content
    assert result.sha256.encode() in preview.content
    assert not DailyLine.objects.exists()

    done = client.post(
        reverse(URL),
        {"report": report.pk, "file": upload(data, "lines.xlsx"), "sha256": result.sha256, "_apply": "1"},
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("admin:mining_outputreport_change", args=[report.pk])
    assert report.lines.count() == 7
    event = AuditEvent.objects.get(action="mining.lines.recorded")
    assert event.actor == staff_clerk


def test_refusals_are_shown_and_nothing_is_imported(client, staff_clerk, report):
    client.force_login(staff_clerk)
    rows = week()
    rows[2] = rows[2] | {"uptime_percent": "120"}
    data = csv_bytes(rows)
    page = client.post(reverse(URL), {"report": report.pk, "file": upload(data, "lines.csv")})
    assert b'id="import-errors"' in page.content and b"Uptime is at most 100%." in page.content
    assert b'name="_apply"' not in page.content
    sha = page.context["report"].sha256
    forced = client.post(
        reverse(URL), {"report": report.pk, "file": upload(data, "lines.csv"), "sha256": sha, "_apply": "1"}
    )
    assert forced.status_code == 200 and not DailyLine.objects.exists()


def test_another_file_at_confirmation_is_refused(client, staff_clerk, report):
    client.force_login(staff_clerk)
    page = client.post(reverse(URL), {"report": report.pk, "file": upload(csv_bytes(week()), "a.csv")})
    sha = page.context["report"].sha256
    other = csv_bytes(week(energy_mwh="99"))
    refused = client.post(
        reverse(URL), {"report": report.pk, "file": upload(other, "a.csv"), "sha256": sha, "_apply": "1"}
    )
    assert refused.status_code == 200 and b"SHA-256" in refused.content
    assert not DailyLine.objects.exists()


def test_without_the_permission_the_page_is_forbidden(client, report):
    user = UserFactory(username="viewer", is_staff=True)
    client.force_login(user)
    assert client.get(reverse(URL)).status_code == 403
    data = csv_bytes(week())
    assert client.post(reverse(URL), {"report": report.pk, "file": upload(data, "a.csv")}).status_code == 403
    assert not DailyLine.objects.exists()
