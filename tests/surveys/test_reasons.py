"""Reasons: the pure matcher, storing a response's categories, re-categorisation runs, admin."""

import importlib
import threading
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.urls import reverse

from surveys import reasons, tasks
from surveys.models import (
    Category,
    Invitation,
    InvitationStatus,
    ReasonCategory,
    RecategorisationRun,
    Response,
    ResponseReason,
    RunStatus,
)
from surveys.reasons import Match, TaxonomyEntry, categorise
from tests.factories import CustomerFactory, InteractionFactory

SEED = importlib.import_module("surveys.migrations.0003_seed_reason_taxonomy")
TAXONOMY = [
    TaxonomyEntry(e["code"], {lang: tuple(words) for lang, words in e["keywords"].items()})
    for e in SEED.TAXONOMY
]


def codes(text: str) -> list[str]:
    return [match.code for match in categorise(text, TAXONOMY)]


def seed_taxonomy() -> None:
    """The migration's categories; a transactional test elsewhere may have flushed them."""
    SEED.seed_taxonomy(apps, None)


def respond(comment: str = "", *, score: int = 3, language: str = "zh-hans") -> Response:
    """A stored answer made of raw rows: customer, interaction, invitation, response."""
    customer = CustomerFactory(language=language)
    interaction = InteractionFactory(customer=customer, business_type="billing")
    invitation = Invitation.objects.create(
        interaction=interaction, customer=customer, status=InvitationStatus.RESPONDED
    )
    return Response.objects.create(
        invitation=invitation, customer=customer, interaction=interaction, score=score,
        category=Category.for_score(score), comment=comment,
    )  # fmt: skip


def stored_codes(response: Response) -> list[str]:
    return [category.code for category in response.reasons.order_by("sort_order")]


@pytest.fixture
def taxonomy(db: Any) -> None:
    seed_taxonomy()


# ---------------------------------------------------------------- the pure matcher


def test_chinese_keywords_match_inside_a_sentence_without_word_boundaries() -> None:
    assert codes("信号太差了而且扣费不明") == ["network", "billing"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("app crashed", ["product"]),
        ("The APP keeps crashing", ["product"]),
        ("I am happy", []),
        ("apple pie", []),
        ("It was all explained to me", []),
        ("My plan is too expensive", ["billing"]),
        ("Signal lost twice", ["network"]),
        ("no signals at home", ["network"]),
        ("Bills, billed, billing", ["billing"]),
        ("a billion thanks", []),
        ("dropped   calls every day", ["network"]),
        ("the staff were rude", ["attitude"]),
    ],
)
def test_latin_keywords_match_whole_words_with_a_regular_ending(
    text: str, expected: list[str]
) -> None:
    assert codes(text) == expected


def test_traditional_characters_are_matched() -> None:
    assert codes("訊號很差") == ["network"]
    assert codes("帳單有問題，態度也不好") == ["billing", "attitude"]


def test_full_width_latin_and_latin_next_to_chinese_are_matched() -> None:
    assert codes("ＡＰＰ闪退") == ["product"]
    assert codes("5G信号不稳定") == ["network"]


def test_keywords_of_every_language_are_tried_in_one_comment() -> None:
    assert codes("排队太久, and the app froze") == ["waiting", "product"]


def test_the_keyword_reported_is_the_first_found_in_the_text() -> None:
    assert categorise("手机没信号", TAXONOMY) == [Match("network", "没信号")]
    assert categorise("app crashed", TAXONOMY) == [Match("product", "app")]


def test_empty_text_has_no_categories() -> None:
    assert codes("") == []
    assert codes("  \n ") == []


def test_other_is_given_only_to_a_comment_with_words_that_matches_nothing() -> None:
    assert reasons.reasons_for("I am happy", TAXONOMY) == [Match("other", "")]
    assert reasons.reasons_for("。。。", TAXONOMY) == []
    assert reasons.reasons_for("", TAXONOMY) == []


def test_a_custom_tibetan_keyword_is_found_as_a_substring() -> None:
    taxonomy = [TaxonomyEntry("network", {"bo": ("དྲ་བ",)})]
    assert categorise("ངའི་དྲ་བ་ཡག་པོ་མི་འདུག", taxonomy) == [Match("network", "དྲ་བ")]


def test_every_seeded_category_but_other_has_eight_keywords_in_chinese_and_english() -> None:
    for entry in SEED.TAXONOMY:
        if entry["code"] != "other":
            assert len(entry["keywords"]["zh-hans"]) >= 8, entry["code"]
            assert len(entry["keywords"]["en"]) >= 8, entry["code"]


# ---------------------------------------------------------------- storing reasons


def test_categorising_a_response_stores_its_categories_and_keywords(taxonomy: None) -> None:
    response = respond("信号太差了而且扣费不明")
    found = reasons.response_categorise(response=response)
    assert [c.code for c in found] == ["network", "billing"]
    assert stored_codes(response) == ["network", "billing"]
    link = ResponseReason.objects.get(response=response, category__code="billing")
    assert link.keyword == "扣费"


def test_a_comment_matching_nothing_is_stored_as_other(taxonomy: None) -> None:
    response = respond("I am happy")
    reasons.response_categorise(response=response)
    assert stored_codes(response) == ["other"]


def test_a_response_without_comment_gets_no_reasons(taxonomy: None) -> None:
    response = respond("")
    assert reasons.response_categorise(response=response) == []
    assert not ResponseReason.objects.exists()


def test_categorising_again_replaces_old_reasons_and_keeps_unchanged_ones(
    taxonomy: None,
) -> None:
    response = respond("信号太差")
    reasons.response_categorise(response=response)
    kept = ResponseReason.objects.get(response=response)
    reasons.response_categorise(response=response)
    assert list(ResponseReason.objects.filter(response=response)) == [kept]  # idempotent
    Response.objects.filter(pk=response.pk).update(comment="信号太差, 态度也差")
    response.refresh_from_db()
    reasons.response_categorise(response=response)
    assert stored_codes(response) == ["network", "attitude"]
    assert ResponseReason.objects.get(response=response, category__code="network").pk == kept.pk


def test_an_inactive_category_is_not_given(taxonomy: None) -> None:
    ReasonCategory.objects.filter(code="billing").update(is_active=False)
    response = respond("扣费不明")
    reasons.response_categorise(response=response)
    assert stored_codes(response) == ["other"]


# ---------------------------------------------------------------- re-categorisation runs


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Run ids handed to the broker (the outside world) instead of sending them."""
    sent: list[int] = []
    monkeypatch.setattr(tasks.recategorise_responses, "delay", sent.append)
    return sent


def test_recategorisation_start_queues_exactly_one_task_after_commit(
    taxonomy: None, queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    respond("信号太差")
    respond("")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = reasons.recategorisation_start(reason="test")
        assert queued == []  # nothing before the commit
    assert len(callbacks) == 1
    assert queued == [run.pk]
    assert (run.total, run.done, run.status) == (1, 0, RunStatus.QUEUED)


def test_a_taxonomy_change_recategorises_every_stored_response(taxonomy: None) -> None:
    answers = [respond(f"wifi 不好用 {n}") for n in range(5)] + [respond("信号差"), respond("")]
    for response in answers:
        reasons.response_categorise(response=response)
    assert stored_codes(answers[0]) == ["other"]
    network = ReasonCategory.objects.get(code="network")
    network.keywords["en"].append("wifi")
    network.save()
    run = reasons.recategorisation_start()
    assert reasons.recategorisation_run(run_id=run.pk, batch_size=2) == RunStatus.FINISHED
    run.refresh_from_db()
    assert (run.done, run.total, run.status) == (6, 6, RunStatus.FINISHED)
    assert run.started_at is not None
    assert run.finished_at is not None
    assert all(stored_codes(r) == ["network"] for r in answers[:6])
    assert stored_codes(answers[6]) == []


def test_a_finished_run_does_nothing_when_run_again(taxonomy: None) -> None:
    respond("信号差")
    run = reasons.recategorisation_start()
    reasons.recategorisation_run(run_id=run.pk)
    ResponseReason.objects.all().delete()
    assert reasons.recategorisation_run(run_id=run.pk) == RunStatus.FINISHED
    run.refresh_from_db()
    assert run.done == run.total == 1
    assert not ResponseReason.objects.exists()


def test_a_second_copy_of_a_run_continues_from_the_stored_cursor(taxonomy: None) -> None:
    answers = [respond("信号差") for _ in range(4)]
    run = reasons.recategorisation_start()
    # What a first copy leaves behind after one batch of two, before it was lost.
    RecategorisationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, done=2, last_response_id=answers[1].pk
    )
    reasons.recategorisation_run(run_id=run.pk, batch_size=2)
    run.refresh_from_db()
    assert run.done == run.total == 4
    assert [stored_codes(r) for r in answers] == [[], [], ["network"], ["network"]]


@pytest.mark.django_db(transaction=True)
def test_two_copies_of_one_run_at_once_process_each_response_once(
    queued: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_taxonomy()
    answers = [respond("信号差") for _ in range(12)]
    run = reasons.recategorisation_start()
    start, errors, processed = threading.Barrier(2), [], []
    apply = reasons._reasons_apply

    def counted(responses: list[Response], *args: Any) -> Any:
        processed.extend(r.pk for r in responses)
        return apply(responses, *args)

    monkeypatch.setattr(reasons, "_reasons_apply", counted)

    def worker() -> None:
        try:
            start.wait()
            reasons.recategorisation_run(run_id=run.pk, batch_size=3)
        except Exception as exc:  # surfaced below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    run.refresh_from_db()
    assert (run.done, run.total, run.status) == (12, 12, RunStatus.FINISHED)
    assert sorted(processed) == [r.pk for r in answers]
    assert ResponseReason.objects.count() == 12


def test_responses_arriving_during_a_run_are_not_counted_in_it(taxonomy: None) -> None:
    respond("信号差")
    run = reasons.recategorisation_start()
    respond("扣费不明")  # categorised on arrival, with the taxonomy of the moment
    reasons.recategorisation_run(run_id=run.pk)
    run.refresh_from_db()
    assert run.done == run.total == 1


def test_a_run_gives_way_to_a_newer_run_already_started(taxonomy: None) -> None:
    respond("信号差")
    older, newer = reasons.recategorisation_start(), reasons.recategorisation_start()
    reasons.recategorisation_run(run_id=newer.pk)
    assert reasons.recategorisation_run(run_id=older.pk) == RunStatus.SUPERSEDED
    older.refresh_from_db()
    assert older.done == 0
    assert older.finished_at is not None


def test_a_failing_run_is_marked_failed_with_the_error(
    taxonomy: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    respond("信号差")
    run = reasons.recategorisation_start()

    def broken(*args: Any) -> None:
        raise RuntimeError("taxonomy unreadable")

    monkeypatch.setattr(reasons, "_reasons_apply", broken)
    with pytest.raises(RuntimeError):
        reasons.recategorisation_run(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "taxonomy unreadable" in run.error


# ---------------------------------------------------------------- admin


def admin_url(model: type, view: str, *args: Any) -> str:
    return reverse(f"admin:surveys_{model.__name__.lower()}_{view}", args=args)


def category_form(**overrides: str) -> dict[str, str]:
    data = {"code": "roaming", "name_en": "Roaming", "name_zh": "漫游", "is_active": "on"}
    data |= {"sort_order": "70", "keywords_zh": "漫游\n国际漫游，漫游费", "keywords_en": ""}
    data |= {"keywords_bo": ""}
    return data | overrides


def messages(page: Any) -> list[str]:
    return [str(m) for m in page.context["messages"]]


def test_keywords_typed_per_language_are_stored_and_start_a_run(
    admin_client: Client, taxonomy: None
) -> None:
    respond("漫游费太贵")
    form = category_form(keywords_en="roaming, roaming charges\n\nroaming")
    page = admin_client.post(admin_url(ReasonCategory, "add"), form, follow=True)
    category = ReasonCategory.objects.get(code="roaming")
    assert category.keywords == {
        "zh-hans": ["漫游", "国际漫游", "漫游费"],
        "en": ["roaming", "roaming charges"],
        "bo": [],
    }
    run = RecategorisationRun.objects.get()
    assert run.total == 1
    runs = admin_url(RecategorisationRun, "changelist")
    assert messages(page)[0] == (
        f'Re-categorising 1 response; progress under <a href="{runs}">Re-categorisation runs</a>.'
    )


def test_renaming_a_category_does_not_start_a_run(admin_client: Client, taxonomy: None) -> None:
    category = ReasonCategory.objects.get(code="billing")
    change = admin_url(ReasonCategory, "change", category.pk)
    form = admin_client.get(change).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("on" if v is True else v) for k, v in data.items() if v not in (False, None)}
    data["keywords_zh"] = data["keywords_zh"].replace("\n", "\r\n")  # as browsers send it
    admin_client.post(change, data | {"name_en": "Fees"})
    assert ReasonCategory.objects.get(code="billing").name_en == "Fees"
    assert not RecategorisationRun.objects.exists()
    admin_client.post(change, data | {"is_active": ""})
    assert RecategorisationRun.objects.count() == 1


def test_deleting_a_category_starts_a_run(admin_client: Client, taxonomy: None) -> None:
    category = ReasonCategory.objects.get(code="process")
    admin_client.post(admin_url(ReasonCategory, "delete", category.pk), {"post": "yes"})
    assert not ReasonCategory.objects.filter(code="process").exists()
    assert RecategorisationRun.objects.count() == 1


def test_recategorise_action_starts_a_run(admin_client: Client, taxonomy: None) -> None:
    some = ReasonCategory.objects.first()
    action = {"action": "recategorise_all", "_selected_action": [some.pk]}
    page = admin_client.post(admin_url(ReasonCategory, "changelist"), action, follow=True)
    assert RecategorisationRun.objects.count() == 1
    assert messages(page)[0].startswith("Re-categorising 0 responses")


def test_category_list_counts_keywords_per_language(admin_client: Client, taxonomy: None) -> None:
    page = admin_client.get(admin_url(ReasonCategory, "changelist"))
    assert page.status_code == 200
    network = ReasonCategory.objects.get(code="network")
    assert f'<td class="field-keywords_zh_count">{len(network.keywords["zh-hans"])}</td>' in (
        page.content.decode()
    )


def test_run_list_shows_progress(admin_client: Client, db: Any) -> None:
    run = RecategorisationRun.objects.create(total=3000, done=1500, status=RunStatus.RUNNING)
    page = admin_client.get(admin_url(RecategorisationRun, "changelist"))
    assert "1,500 / 3,000 (50%)" in page.content.decode()
    assert admin_client.get(admin_url(RecategorisationRun, "change", run.pk)).status_code == 200
    assert admin_client.get(admin_url(RecategorisationRun, "add")).status_code == 403
