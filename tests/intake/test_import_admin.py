"""The "Import from spreadsheet" admin page: a clerk previews, then confirms the same file."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from intake.models import SeizedItem
from tests.intake.test_import import csv_bytes, line, xlsx_bytes

URL = "admin:intake_seizeditem_import"


@pytest.fixture
def staff_clerk(clerk):
    clerk.is_staff = True
    clerk.save()
    return clerk


@pytest.fixture
def staff_auditor(auditor):
    auditor.is_staff = True
    auditor.save()
    return auditor


def upload(data, name="items.xlsx"):
    return SimpleUploadedFile(name, data)


@pytest.fixture
def file_of_two(asset, wallet):
    return xlsx_bytes(line("ab" * 32, 0), line("cd" * 32, 0))


def test_a_clerk_previews_then_imports(client, staff_clerk, order, file_of_two):
    client.force_login(staff_clerk)
    listing = client.get(reverse("admin:intake_seizeditem_changelist")).content.decode()
    assert reverse(URL) in listing

    preview = client.post(reverse(URL), {"order": order.pk, "file": upload(file_of_two), "_preview": "1"})
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "every line is accepted" in page and "ab" * 32 in page
    sha256 = preview.context["report"].sha256
    assert sha256 in page
    assert not SeizedItem.objects.exists()

    done = client.post(
        reverse(URL), {"order": order.pk, "file": upload(file_of_two), "sha256": sha256, "_apply": "1"}
    )
    assert done.status_code == 302
    assert SeizedItem.objects.filter(order=order).count() == 2
    assert "2 seized items imported under order A-1." in client.get(done.url).content.decode()


def test_the_preview_shows_each_refusal(client, staff_clerk, order, asset, wallet):
    client.force_login(staff_clerk)
    data = csv_bytes(line(amount="0.123456789"))
    page = client.post(reverse(URL), {"order": order.pk, "file": upload(data, "a.csv"), "_preview": "1"})
    text = page.content.decode()
    assert "This asset has 8 decimal places; the amount has 9." in text
    assert 'name="_apply"' not in text


def test_a_different_file_than_the_one_previewed_is_not_imported(client, staff_clerk, order, file_of_two):
    client.force_login(staff_clerk)
    other = csv_bytes(line("ef" * 32, 0))
    page = client.post(
        reverse(URL), {"order": order.pk, "file": upload(other), "sha256": "0" * 64, "_apply": "1"}
    )
    assert page.status_code == 200
    assert "not the one previewed" in page.content.decode()
    assert not SeizedItem.objects.exists()


def test_a_renamed_program_is_refused(client, staff_clerk, order):
    client.force_login(staff_clerk)
    page = client.post(
        reverse(URL),
        {"order": order.pk, "file": upload(b"MZ\x90\x00" + b"\x00" * 64, "x.csv"), "_preview": "1"},
    )
    assert "Only CSV (UTF-8) and XLSX" in page.content.decode()


def test_a_user_who_may_not_add_items_is_refused(client, staff_auditor, order, file_of_two):
    client.force_login(staff_auditor)
    assert client.get(reverse(URL)).status_code == 403
    response = client.post(reverse(URL), {"order": order.pk, "file": upload(file_of_two), "_preview": "1"})
    assert response.status_code == 403
    listing = client.get(reverse("admin:intake_seizeditem_changelist"))
    assert reverse(URL) not in listing.content.decode()
