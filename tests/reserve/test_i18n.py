"""Translation catalogues: the interface ships in Kazakh, Russian and English (the source language).

The .po files under ``locale/`` are read with a small parser of their own (no polib in the
project's dependencies); the compiled .mo files are read with the standard library, so a stale
``compilemessages`` is caught too.
"""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from reserve.models.approvals import RequestStatus, Verdict
from reserve.models.ledger import Category

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
TRANSLATED = ("ru", "kk")
KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")


@pytest.fixture(autouse=True)
def _restore_active_language():
    """A test-client request leaves the language LocaleMiddleware chose active in the thread;
    put back the one before, so that later tests still read English messages."""
    previous = translation.get_language()
    yield
    if previous:
        translation.activate(previous)
    else:
        translation.deactivate()


# A minimal .po reader


def _unquote(chunks: list[str]) -> str:
    return "".join(ast.literal_eval(chunk) for chunk in chunks)


def read_po(path: Path) -> list[dict]:
    """Entries of a .po file: msgctxt, msgid, msgid_plural, msgstr (list, one per plural form),
    flags, obsolete. Multi-line strings are joined; the header entry is returned too."""
    entries: list[dict] = []
    blocks = re.split(r"\n\s*\n", path.read_text(encoding="utf-8"))
    keyword = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")\s*$")
    for block in blocks:
        entry = {"flags": set(), "obsolete": False, "msgctxt": None, "msgid_plural": None}
        parts: dict[str, list[str]] = {}
        current = None
        for raw in block.splitlines():
            line = raw.strip()
            if line.startswith("#~"):
                entry["obsolete"] = True
                line = line[2:].strip()
            if line.startswith("#,"):
                entry["flags"].update(flag.strip() for flag in line[2:].split(","))
                continue
            if not line or line.startswith("#"):
                continue
            match = keyword.match(line)
            if match:
                current = match.group(1)
                parts[current] = [match.group(3)]
            elif line.startswith('"') and current is not None:
                parts[current].append(line)
            else:
                raise AssertionError(f"{path}: cannot parse line {raw!r}")
        if "msgid" not in parts:
            continue
        entry["msgid"] = _unquote(parts["msgid"])
        if "msgctxt" in parts:
            entry["msgctxt"] = _unquote(parts["msgctxt"])
        if "msgid_plural" in parts:
            entry["msgid_plural"] = _unquote(parts["msgid_plural"])
            forms = sorted((key for key in parts if key.startswith("msgstr[")), key=lambda k: int(k[7:-1]))
            entry["msgstr"] = [_unquote(parts[key]) for key in forms]
        else:
            entry["msgstr"] = [_unquote(parts.get("msgstr", ['""']))]
        entries.append(entry)
    return entries


def catalogue(lang: str) -> list[dict]:
    """The live (non-obsolete) entries of a language's catalogue, header left out."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "django.po"
    assert path.exists(), f"{path} is missing: run makemessages"
    return [e for e in read_po(path) if e["msgid"] and not e["obsolete"]]


PLACEHOLDER = re.compile(
    r"%\([A-Za-z_][A-Za-z0-9_]*\)[-#0 +]*\d*(?:\.\d+)?[sdifrx]"  # %(name)s, %(n)d, %(month)02d
    r"|%[-#0 +]*\d*(?:\.\d+)?[sdif]"  # positional %s / %d
    r"|\{[A-Za-z_][A-Za-z0-9_]*\}"  # {name} (python-brace-format)
    r"|&(?:[a-z]+|#\d+);"  # HTML entities
)


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text.replace("%%", "")))


# The catalogues


def test_catalogues_exist_for_every_language():
    codes = {code for code, _name in settings.LANGUAGES}
    assert codes == {"kk", "ru", "en"}
    for code in codes:
        assert (LOCALE_DIR / code / "LC_MESSAGES" / "django.po").exists()
        assert (LOCALE_DIR / code / "LC_MESSAGES" / "django.mo").exists(), "run compilemessages"


def test_catalogues_hold_the_same_msgids():
    keys = {lang: {(e["msgctxt"], e["msgid"]) for e in catalogue(lang)} for lang in ("en", *TRANSLATED)}
    assert len(keys["en"]) > 100
    assert keys["ru"] == keys["en"]
    assert keys["kk"] == keys["en"]


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_msgid_is_translated_and_none_is_fuzzy(lang):
    plural_forms = {"ru": 4, "kk": 2}[lang]
    untranslated, fuzzy, wrong_forms = [], [], []
    for entry in catalogue(lang):
        if not all(s.strip() for s in entry["msgstr"]):
            untranslated.append(entry["msgid"])
        if "fuzzy" in entry["flags"]:
            fuzzy.append(entry["msgid"])
        if entry["msgid_plural"] is not None and len(entry["msgstr"]) != plural_forms:
            wrong_forms.append(entry["msgid"])
    assert not untranslated, f"{lang}: {len(untranslated)} untranslated, e.g. {untranslated[:5]}"
    assert not fuzzy, f"{lang}: fuzzy entries left: {fuzzy[:5]}"
    assert not wrong_forms, f"{lang}: wrong number of plural forms: {wrong_forms[:5]}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_placeholders_are_kept(lang):
    mismatches = []
    for entry in catalogue(lang):
        source = entry["msgid_plural"] or entry["msgid"]
        expected = sorted(set(placeholders(source)) | set(placeholders(entry["msgid"])))
        for msgstr in entry["msgstr"]:
            if sorted(set(placeholders(msgstr))) != expected or (
                entry["msgid_plural"] is None and placeholders(msgstr) != placeholders(entry["msgid"])
            ):
                mismatches.append((entry["msgid"], msgstr))
    assert not mismatches, f"{lang}: placeholders differ: {mismatches[:5]}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_python_format_strings_format(lang):
    """msgstrs flagged python-format survive the % operator with the msgid's own arguments."""
    name = re.compile(r"%\(([A-Za-z_][A-Za-z0-9_]*)\)[-#0 +]*\d*(?:\.\d+)?([sdifrx])")
    for entry in catalogue(lang):
        if "python-format" not in entry["flags"]:
            continue
        args = {
            key: (7 if conv in "dix" else 1.5 if conv == "f" else "x")
            for key, conv in name.findall(entry["msgid"])
        }
        if entry["msgid_plural"]:
            args.update(
                {key: (7 if conv in "dix" else "x") for key, conv in name.findall(entry["msgid_plural"])}
            )
        for msgstr in entry["msgstr"]:
            msgstr % args  # raises on a broken conversion


@pytest.mark.parametrize("lang", ("en", *TRANSLATED))
def test_compiled_catalogue_matches_the_po(lang):
    """The committed .mo is compiled from the current .po (a fresh machine may lack gettext)."""
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog
    stale = []
    for entry in catalogue(lang):
        key = entry["msgid"] if entry["msgctxt"] is None else f"{entry['msgctxt']}\x04{entry['msgid']}"
        if entry["msgid_plural"] is None:
            if entry["msgstr"][0] and compiled.get(key) != entry["msgstr"][0]:
                stale.append(entry["msgid"])
        else:
            for index, msgstr in enumerate(entry["msgstr"]):
                if msgstr and compiled.get((key, index)) != msgstr:
                    stale.append(entry["msgid"])
    assert not stale, f"{lang}: .mo is stale, run compilemessages: {stale[:5]}"


def test_kazakh_catalogue_is_kazakh():
    """The Kazakh catalogue is written in Kazakh, not copied from the Russian one."""
    kk = {e["msgid"]: e["msgstr"][0] for e in catalogue("kk")}
    ru = {e["msgid"]: e["msgstr"][0] for e in catalogue("ru")}
    with_kazakh_letters = [s for s in kk.values() if KAZAKH_LETTERS & set(s)]
    assert len(with_kazakh_letters) > 0.6 * len(kk)
    copied = [msgid for msgid, s in kk.items() if s == ru[msgid] and re.search(r"[а-яА-Я]{4,}", s)]
    assert len(copied) < 0.02 * len(kk), copied


# Translations at run time


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "ru",
            {
                "custody": "Хранение",
                "approve": "Согласовать",
                "reject": "Отклонить",
                "inbox": "Входящие",
                "pending": "На рассмотрении",
            },
        ),
        (
            "kk",
            {
                "custody": "Сақтау",
                "approve": "Келісу",
                "reject": "Қабылдамау",
                "inbox": "Келіп түскендер",
                "pending": "Қаралуда",
            },
        ),
    ],
)
def test_key_strings_are_translated(lang, expected):
    with translation.override(lang):
        assert str(Category.CUSTODY_PENDING.label).startswith(expected["custody"])
        assert str(Verdict.APPROVE.label) == expected["approve"]
        assert str(Verdict.REJECT.label) == expected["reject"]
        assert translation.gettext("Inbox") == expected["inbox"]
        assert str(RequestStatus.PENDING.label) == expected["pending"]
        assert translation.gettext("State Digital Asset Fund") != "State Digital Asset Fund"
    with translation.override("en"):
        assert str(Category.CUSTODY_PENDING.label) == "Custody: pending (case open, not state property)"
        assert str(Verdict.APPROVE.label) == "Approve"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ru", ["Отозван 1 клиент.", "Отозвано 3 клиента.", "Отозвано 5 клиентов.", "Отозван 21 клиент."]),
        ("kk", ["1 клиенттің күші жойылды.", "3 клиенттің күші жойылды."]),
    ],
)
def test_plural_forms(lang, expected):
    with translation.override(lang):
        got = [
            translation.ngettext("%(n)d client revoked.", "%(n)d clients revoked.", n) % {"n": n}
            for n in (1, 3, 5, 21)[: len(expected)]
        ]
    assert got == expected


def test_formatted_message_in_kazakh():
    with translation.override("kk"):
        message = translation.gettext("Request %(ref)s made; it awaits approval.") % {"ref": "REQ-000007"}
    assert message.startswith("REQ-000007 өтінімі")


# The pages


@pytest.mark.django_db
def test_login_page_in_kazakh_from_accept_language():
    response = Client().get(reverse("login"), HTTP_ACCEPT_LANGUAGE="kk")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<html lang="kk">' in body
    assert "Кіру" in body
    assert "Құпиясөз" in body
    assert "Мемлекеттік цифрлық активтер қоры" in body
    assert "Password" not in body


@pytest.mark.django_db
def test_login_page_in_russian_from_accept_language():
    body = Client().get(reverse("login"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Войти" in body
    assert "Пароль" in body


@pytest.mark.django_db
def test_login_page_in_english_by_default():
    body = Client().get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Sign in" in body
    assert "Password" in body


@pytest.mark.django_db
def test_language_switch_through_setlang():
    client = Client()
    login_url = reverse("login")
    response = client.post(reverse("set_language"), {"language": "kk", "next": login_url})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "kk"
    # The chosen language wins over the browser's.
    body = client.get(login_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Кіру" in body and "Құпиясөз" in body
    client.post(reverse("set_language"), {"language": "ru", "next": login_url})
    body = client.get(login_url, HTTP_ACCEPT_LANGUAGE="kk").content.decode()
    assert "Пароль" in body and "Құпиясөз" not in body
