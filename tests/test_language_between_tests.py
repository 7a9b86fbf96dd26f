"""A test that asks for Chinese leaves no Chinese behind for the next one (tests/conftest.py,
`language_default`): the test client's request activates the language LocaleMiddleware
chose in this thread, and nothing in Django undoes it."""

from django.test import Client
from django.utils import translation


def test_a_page_asked_for_in_chinese_answers_in_chinese(client: Client) -> None:
    page = client.get("/admin/login/", headers={"Accept-Language": "zh-hans"})
    assert page.status_code == 200
    assert page.headers["Content-Language"] == "zh-hans"
    assert translation.get_language() == "zh-hans"  # what the request left in the thread


def test_the_next_test_starts_in_english() -> None:
    assert translation.get_language() == "en"
