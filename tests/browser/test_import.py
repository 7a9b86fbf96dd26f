"""A store's spreadsheet imported through the admin in a real browser, in both languages.

A member of staff uploads a GBK CSV (as Chinese spreadsheets export it), checks the
detected columns against the preview, runs a dry run, imports, downloads the refused
rows, and imports the same file again (which adds nothing). A real Celery worker runs the
imports. The first one is queued before the worker starts, so the progress page is seen
going from "queued" to done by its own polling, without a reload.
"""

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection

from surveys.models import ImportStatus, Interaction, InteractionImport, Survey
from tests.integration.conftest import Process, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw"
ROWS = 300
WHEN = (datetime.now(UTC) + timedelta(hours=8) - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
# What each language calls the steps (the English is the source text).
WORDS = {
    "en": {"queued": "Queued", "done": "Done", "dry": "Dry run: nothing is stored."},
    "zh-hans": {"queued": "排队中", "done": "已完成", "dry": "试运行：不保存任何数据。"},
}


def store_export(path: Path, prefix: str) -> Path:
    """ROWS good rows with the store's own column names, then one with a bad phone."""
    lines = ["工单号,手机号,客户姓名,触点,渠道,网点编码,工号,发生时间"]
    lines += [
        f"{prefix}-{n},138{n:08d},客户{n},store_partner,门店,XN-01,E{n % 7},{WHEN}"
        for n in range(ROWS)
    ]
    lines.append(f"{prefix}-bad,不是号码,李四,hotline,,,E1,{WHEN}")
    path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    return path


@pytest.fixture
def importer(db: Any) -> User:
    user = User.objects.create_user("importer", password=PASSWORD, is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="surveys", codename="add_interaction")
    )
    return user


@pytest.fixture
def start_worker(live_server: Any, tmp_path: Path) -> Iterator[Any]:
    """Starts a real Celery worker on this run's queues and test database when called."""
    import os

    from nps.celery import app as celery_app

    started: list[Process] = []

    def start() -> Process:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "NPS_TEST_DATABASE_NAME": str(connection.settings_dict["NAME"]),
            "NPS_IMPORT_CHUNK": "50",  # a few chunks, so progress moves in steps
        }
        args = [sys.executable, "-m", "celery", "-A", "nps", "worker", "-P", "solo", "-l", "info"]
        args += ["--without-gossip", "--without-mingle", "-n", f"import-{tmp_path.name}@%h"]
        process = Process("worker", args, env, tmp_path)
        started.append(process)
        wait_until(lambda: "ready" in process.output(), timeout=60)
        return process

    celery_app.control.purge()  # nothing earlier tests of the run left in the queues
    try:
        yield start
    finally:
        for process in started:
            process.stop()


def test_import_a_store_spreadsheet_in_both_languages(
    importer: User,
    start_worker: Any,
    live_server: Any,
    chromium: Any,  # after the fixtures that write to the database: it runs an event loop
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    Survey.objects.create(name="Store visit", delay_minutes=30, is_active=True)
    page = chromium.new_page(viewport={"width": 1366, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # The browser asks for /favicon.ico by itself on the admin's pages, which name no icon.
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "importer")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    worker = None

    def field(name: str) -> str:
        return str(page.locator(f'#import-progress [data-field="{name}"]').inner_text().strip())

    def progress_done(words: dict[str, str]) -> None:
        page.wait_for_function(
            "t => document.querySelector('[data-field=status_label]').textContent.trim() === t",
            arg=words["done"],
            timeout=60_000,
        )

    for language, words in WORDS.items():
        page.context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        source = store_export(tmp_path / f"门店-{language}.csv", language)

        # Upload: the preview reads the GBK file, the store's column names are recognised.
        page.goto(f"{live_server.url}/admin/surveys/interactionimport/add/")
        page.set_input_files("input[type=file]", str(source))
        page.click("input[type=submit]")
        page.wait_for_url("**/mapping/")
        assert page.locator("table tbody").get_by_text("客户1", exact=True).count() == 1
        chosen = page.locator("table thead select").evaluate_all("s => s.map(e => e.value)")
        assert chosen == [
            "external_id", "customer.phone", "customer.name", "touchpoint", "channel",
            "unit_code", "staff_id", "occurred_at",
        ]  # fmt: skip

        # A dry run counts and stores nothing.
        page.click("input[name=dry_run]")
        page.wait_for_url("**/progress/")
        assert words["dry"] in page.locator("#import-progress").inner_text()
        if worker is None:
            # Queued before any worker runs: the page must follow the import by itself.
            assert field("status_label") == words["queued"]
            assert page.locator("a[href$='/errors.csv']").is_hidden()  # none refused yet
            page.evaluate("window.stillTheSamePage = true")
            worker = start_worker()
            progress_done(words)
            assert page.evaluate("window.stillTheSamePage") is True  # not reloaded
            assert page.locator("a[href$='/errors.csv']").is_visible()  # one refused now
        else:
            progress_done(words)
        assert (field("rows_done"), field("rows_added"), field("rows_failed")) == (
            str(ROWS + 1),
            str(ROWS),
            "1",
        )
        assert not Interaction.objects.filter(external_id__startswith=f"{language}-").exists()

        # Back to the columns, then the import itself.
        page.click("#import-progress a[href$='/mapping/']")
        page.wait_for_url("**/mapping/")
        page.click("input[name=start]")
        page.wait_for_url("**/progress/")
        progress_done(words)
        assert (field("rows_added"), field("rows_skipped"), field("rows_failed")) == (
            str(ROWS),
            "0",
            "1",
        )
        assert Interaction.objects.filter(external_id__startswith=f"{language}-").count() == ROWS

        # The refused row, by number and field, as a CSV download.
        with page.expect_download() as download:
            page.click("a[href$='/errors.csv']")
        refused = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
        assert refused[0] == "row,field,message"
        assert len(refused) == 2
        assert refused[1].startswith(f"{ROWS + 2},customer.phone,")

        # The same file again adds nothing.
        page.goto(f"{live_server.url}/admin/surveys/interactionimport/add/")
        page.set_input_files("input[type=file]", str(source))
        page.click("input[type=submit]")
        page.wait_for_url("**/mapping/")
        page.click("input[name=start]")
        page.wait_for_url("**/progress/")
        progress_done(words)
        assert (field("rows_added"), field("rows_skipped")) == ("0", str(ROWS))

    assert InteractionImport.objects.exclude(status=ImportStatus.DONE).count() == 0
    assert Interaction.objects.count() == 2 * ROWS
    assert errors == []
