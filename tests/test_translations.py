"""The Chinese translation is complete for the dashboard, and the committed .mo matches the .po.

A fresh install has only Python (no gettext tools), so Django reads the compiled
locale/zh_Hans/LC_MESSAGES/django.mo from the repository. These tests read the .po with
a small parser and the .mo with the standard library: they fail when a dashboard string
is missing, untranslated or fuzzy, when a translation drops a placeholder, or when the
.mo was not recompiled after the .po changed (`manage.py compilemessages -l zh_Hans`).
File times are not compared: a git checkout does not keep them.
"""

import ast
import gettext
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"
PO, MO = MESSAGES / "django.po", MESSAGES / "django.mo"
DASHBOARD_PY = sorted((ROOT / "nps" / "dashboard").glob("*.py"))
DASHBOARD_TEMPLATES = sorted((ROOT / "nps" / "templates" / "dashboard").glob("*.html"))
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy"}
PLACEHOLDER = re.compile(r"%\(\w+\)[-+ #0-9.]*[sdif]|%%|\{\w*\}")


@dataclass
class Entry:
    msgid: str
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    context: str | None = None

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr)


def po_entries(text: str) -> list[Entry]:
    """The entries of a .po file (obsolete `#~` entries left out), header first."""
    entries: list[Entry] = []
    current: Entry | None = None
    key = ""
    values: dict[str, str] = {}

    def close() -> None:
        nonlocal current, values
        if current is not None and "msgid" in values:
            current.msgid = values["msgid"]
            current.msgid_plural = values.get("msgid_plural")
            current.context = values.get("msgctxt")
            names = sorted(k for k in values if k.startswith("msgstr"))
            current.msgstr = [values[k] for k in names]
            entries.append(current)
        current, values = None, {}

    for line in [*text.splitlines(), ""]:
        if not line.strip():
            close()
            continue
        current = current or Entry(msgid="")
        if line.startswith("#,"):
            current.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif match := re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (\".*\")$", line):
            key = match.group(1)
            values[key] = ast.literal_eval(match.group(2))
        elif line.startswith('"'):
            values[key] += ast.literal_eval(line)
        else:
            raise AssertionError(f"cannot read .po line: {line!r}")
    return entries


def python_msgids(path: Path) -> Iterator[str]:
    """The strings marked for translation in a Python file: _("..."), gettext_lazy("...")."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        first = node.args[0]
        if name in GETTEXT_NAMES and isinstance(first, ast.Constant):
            yield first.value


def template_msgids(path: Path) -> Iterator[str]:
    """The msgids of a template's translate and blocktranslate tags, as makemessages sees them."""
    code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
    for match in re.finditer(r"\bn?gettext\(u?('(?:[^'\\]|\\.)*')", code):
        yield ast.literal_eval(match.group(1))


@pytest.fixture(scope="module")
def catalog() -> dict[str, Entry]:
    entries = po_entries(PO.read_text(encoding="utf-8"))
    return {e.msgid: e for e in entries if e.context is None}


def dashboard_msgids() -> list[str]:
    found = {m for path in DASHBOARD_PY for m in python_msgids(path)}
    found |= {m for path in DASHBOARD_TEMPLATES for m in template_msgids(path)}
    return sorted(found)


def test_the_dashboard_has_strings_to_translate() -> None:
    found = dashboard_msgids()

    assert len(found) > 60
    assert "Net Promoter Score" in found  # templates are read
    assert "Last 30 days" in found  # Python modules are read
    assert "Needs at least %(minimum)s answers; %(n)s so far" in found  # blocktranslate


@pytest.mark.parametrize("msgid", dashboard_msgids())
def test_every_dashboard_string_is_translated_and_not_fuzzy(
    catalog: dict[str, Entry], msgid: str
) -> None:
    entry = catalog.get(msgid)

    assert entry is not None, f"{msgid!r} is not in {PO.relative_to(ROOT)}: run makemessages"
    assert entry.translated, f"{msgid!r} has no translation"
    assert "fuzzy" not in entry.flags, f"{msgid!r} is marked fuzzy"


def test_no_entry_of_the_po_is_untranslated_or_fuzzy(catalog: dict[str, Entry]) -> None:
    header = catalog[""]
    assert "fuzzy" not in header.flags
    assert "Plural-Forms: nplurals=1; plural=0;" in header.msgstr[0]
    assert [m for m, e in catalog.items() if m and not e.translated] == []
    assert [m for m, e in catalog.items() if "fuzzy" in e.flags] == []


def test_translations_keep_every_placeholder(catalog: dict[str, Entry]) -> None:
    wrong = {}
    for msgid, entry in catalog.items():
        if not msgid or not entry.flags & {"python-format", "python-brace-format"}:
            continue
        expected = sorted(PLACEHOLDER.findall(msgid))
        for msgstr in entry.msgstr:
            if sorted(PLACEHOLDER.findall(msgstr)) != expected:
                wrong[msgid] = msgstr
    assert wrong == {}


def test_the_compiled_mo_holds_exactly_the_po(catalog: dict[str, Entry]) -> None:
    with MO.open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)._catalog  # type: ignore[attr-defined]

    expected: dict[object, str] = {}
    for msgid, entry in catalog.items():
        if not entry.translated or "fuzzy" in entry.flags:
            continue  # msgfmt leaves these out
        if not msgid:  # the header: msgfmt leaves out the date of the extraction
            lines = entry.msgstr[0].splitlines(keepends=True)
            expected[msgid] = "".join(x for x in lines if not x.startswith("POT-Creation-Date:"))
        elif entry.msgid_plural is None:
            expected[msgid] = entry.msgstr[0]
        else:
            expected.update({(msgid, i): text for i, text in enumerate(entry.msgstr)})
    for entry in po_entries(PO.read_text(encoding="utf-8")):  # with a context: "ctx\x04id"
        if entry.context is not None and entry.translated and "fuzzy" not in entry.flags:
            expected[f"{entry.context}\x04{entry.msgid}"] = entry.msgstr[0]
    stale = {k for k in expected.keys() | compiled.keys() if expected.get(k) != compiled.get(k)}
    assert stale == set(), "django.mo is out of date: manage.py compilemessages -l zh_Hans"


def test_django_uses_the_committed_catalog(settings: object) -> None:
    from django.utils import translation

    with translation.override("zh-hans"):
        assert translation.gettext("Net Promoter Score") == "净推荐值 NPS"
        assert translation.gettext("Detractors") == "贬损者"
