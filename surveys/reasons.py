"""Reasons: which categories of the taxonomy a comment speaks of, and keeping them current.

Matching rules (`categorise`, pure):

- Text and keywords are normalised with NFKC (full-width ＡＰＰ, ５Ｇ become APP, 5G) and
  casefolded. Every language's keywords are tried, whatever the customer's language:
  people mix Chinese and English in one SMS.
- A keyword with any character outside the Latin script (Chinese, Tibetan, ...) is found
  as a substring: those scripts do not separate words with spaces.
- A Latin keyword is found as whole words: no Latin letter or digit may touch it on
  either side, so "app" is not in "happy" or "apple" and "plan" is not in "explained",
  while "APP闪退" and "4G信号" still match. Words of a phrase may be separated by any
  whitespace. One regular ending is allowed on the last word: -s, -es, -ed or -ing
  ("bill" finds bills, billed, billing). Irregular forms ("charged" for "charge",
  "queued" for "queue") are listed as keywords of their own.
- A category matches at most once; the keyword reported is the one found first in the
  text (on a tie the longer, then the one written as in the text). Categories come back
  in taxonomy order.
"""

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from django.db import transaction
from django.utils import timezone

from surveys.models import (
    OTHER,
    ReasonCategory,
    RecategorisationRun,
    Response,
    ResponseReason,
    RunStatus,
)
from surveys.queue import task_queue

BATCH_SIZE = 500
_LATIN = "0-9a-z\u00c0-\u024f"  # after casefolding: digits and Latin letters, accented too
_ENDINGS = "(?:s|es|ed|ing)?"


@dataclass(frozen=True)
class TaxonomyEntry:
    code: str
    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # language -> words

    @classmethod
    def of(cls, category: ReasonCategory) -> "TaxonomyEntry":
        stored = category.keywords if isinstance(category.keywords, dict) else {}
        return cls(
            code=category.code,
            keywords={
                lang: tuple(str(w) for w in words)
                for lang, words in stored.items()
                if isinstance(words, list)
            },
        )


@dataclass(frozen=True)
class Match:
    code: str
    keyword: str


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def is_latin(keyword: str) -> bool:
    """True when every character is Latin script, a digit, punctuation or a space."""
    return all(ord(c) < 0x250 or c.isspace() for c in keyword)


@lru_cache(maxsize=4096)
def _word_pattern(keyword: str) -> re.Pattern[str]:
    words = r"\s+".join(re.escape(word) for word in keyword.split())
    return re.compile(rf"(?<![{_LATIN}]){words}{_ENDINGS}(?![{_LATIN}])")


def find(keyword: str, text: str) -> int:
    """Where a normalised keyword first occurs in normalised text, or -1."""
    if not keyword.strip():
        return -1
    if not is_latin(keyword):
        return text.find(keyword)
    found = _word_pattern(keyword).search(text)
    return found.start() if found else -1


def categorise(text: str, taxonomy: Sequence[TaxonomyEntry]) -> list[Match]:
    """The categories whose keywords occur in the text, in taxonomy order."""
    folded = normalise(text)
    if not folded.strip():
        return []
    matches = []
    for entry in taxonomy:
        found = [
            (position, -len(word), word not in text, word)  # first, longest, as written
            for words in entry.keywords.values()
            for word in words
            if (position := find(normalise(word), folded)) >= 0
        ]
        if found:
            matches.append(Match(entry.code, min(found)[-1]))
    return matches


def reasons_for(text: str, taxonomy: Sequence[TaxonomyEntry]) -> list[Match]:
    """The matches, or "other" for a comment with words that matches nothing."""
    matches = categorise(text, taxonomy)
    if not matches and any(c.isalnum() for c in text):
        return [Match(OTHER, "")]
    return matches


# ---------------------------------------------------------------- services


def _taxonomy(*, lock: bool) -> tuple[list[TaxonomyEntry], dict[str, ReasonCategory]]:
    # A run's batch locks the category rows: one that read the old taxonomy commits
    # before an edit does, so the run queued by that edit always has the last word.
    # A single new response does not lock, so replies never queue behind each other.
    rows = ReasonCategory.objects.order_by("pk")
    categories = [c for c in (rows.select_for_update() if lock else rows) if c.is_active]
    categories.sort(key=lambda c: (c.sort_order, c.code))
    return [TaxonomyEntry.of(c) for c in categories], {c.code: c for c in categories}


def _reasons_apply(
    responses: Iterable[Response],
    taxonomy: Sequence[TaxonomyEntry],
    categories: Mapping[str, ReasonCategory],
) -> dict[int, list[ReasonCategory]]:
    """Make the stored reasons equal the matches, leaving unchanged rows alone."""
    wanted: dict[tuple[int, int], str] = {}
    result: dict[int, list[ReasonCategory]] = {}
    for response in responses:
        result[response.pk] = []
        for match in reasons_for(response.comment, taxonomy):
            if (category := categories.get(match.code)) is not None:
                wanted[response.pk, category.pk] = match.keyword
                result[response.pk].append(category)
    existing = {
        (link.response_id, link.category_id): link
        for link in ResponseReason.objects.filter(response_id__in=list(result))
    }
    stale = [link.pk for key, link in existing.items() if key not in wanted]
    if stale:
        ResponseReason.objects.filter(pk__in=stale).delete()
    for key, keyword in wanted.items():
        if key in existing and existing[key].keyword != keyword:
            ResponseReason.objects.filter(pk=existing[key].pk).update(keyword=keyword)
    new = [
        ResponseReason(response_id=r, category_id=c, keyword=keyword)
        for (r, c), keyword in wanted.items()
        if (r, c) not in existing
    ]
    ResponseReason.objects.bulk_create(new, ignore_conflicts=True)  # a concurrent writer won
    return result


def response_categorise(*, response: Response) -> list[ReasonCategory]:
    """Store the categories the comment matches now, replacing earlier ones; idempotent."""
    with transaction.atomic():
        taxonomy, categories = _taxonomy(lock=False)
        return _reasons_apply([response], taxonomy, categories)[response.pk]


def response_reasons_add(*, response: Response, categories: Sequence[ReasonCategory]) -> None:
    """Store categories the customer chose as the response's reasons, beside the matched
    ones (their keyword: the name). A later re-categorisation recomputes reasons from the
    comment alone: the survey page writes the chosen names into it for that reason.
    "Other" given for unmatched words goes when a reason was chosen (unless it was)."""
    if not categories:
        return
    if OTHER not in {category.code for category in categories}:
        ResponseReason.objects.filter(response=response, category__code=OTHER).delete()
    ResponseReason.objects.bulk_create(
        [
            ResponseReason(response=response, category=category, keyword=category.name_zh[:100])
            for category in categories
        ],
        ignore_conflicts=True,  # already matched from the comment (or a concurrent writer)
    )


def responses_categorise(*, responses: Sequence[Response]) -> None:
    """response_categorise for many new responses at once: one read of the taxonomy."""
    commented = [response for response in responses if response.comment]
    if commented:
        with transaction.atomic():
            taxonomy, categories = _taxonomy(lock=False)
            _reasons_apply(commented, taxonomy, categories)


def recategorisation_start(*, reason: str = "") -> RecategorisationRun:
    """Record a run over every stored comment and queue it once the row is committed."""
    commented = Response.objects.exclude(comment="")
    last = Response.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    run = RecategorisationRun.objects.create(
        reason=reason[:200], total=commented.filter(pk__lte=last).count(), up_to_response_id=last
    )
    # robust: a dead broker must not fail the taxonomy edit; the admin action restarts.
    task_queue("surveys.tasks.recategorise_responses", run.pk)
    return run


def recategorisation_run(*, run_id: int, batch_size: int = BATCH_SIZE) -> str:
    """Re-categorise the run's responses in batches; run again or at once, each counts once."""
    try:
        while (status := _batch_run(run_id, batch_size)) == RunStatus.RUNNING:
            pass
    except Exception as exc:
        RecategorisationRun.objects.filter(pk=run_id).update(
            status=RunStatus.FAILED, error=repr(exc)[:2000], finished_at=timezone.now()
        )
        raise
    return status


def _batch_run(run_id: int, batch_size: int) -> str:
    """One batch in one transaction, under the run's row lock (the cursor moves with it)."""
    with transaction.atomic():
        run = RecategorisationRun.objects.select_for_update().get(pk=run_id)
        if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            return run.status
        now = timezone.now()
        if _superseded(run):
            run.status, run.finished_at = RunStatus.SUPERSEDED, now
            run.save(update_fields=["status", "finished_at"])
            return run.status
        run.started_at = run.started_at or now
        batch = list(
            Response.objects.exclude(comment="")
            .filter(pk__gt=run.last_response_id, pk__lte=run.up_to_response_id)
            .order_by("pk")[:batch_size]
        )
        if batch:
            taxonomy, categories = _taxonomy(lock=True)
            _reasons_apply(batch, taxonomy, categories)
            run.last_response_id, run.done = batch[-1].pk, run.done + len(batch)
        run.status = RunStatus.RUNNING if len(batch) == batch_size else RunStatus.FINISHED
        run.finished_at = now if run.status == RunStatus.FINISHED else None
        run.save(update_fields=["status", "started_at", "last_response_id", "done", "finished_at"])
        return run.status


def _superseded(run: RecategorisationRun) -> bool:
    """A newer run a worker has already picked up covers everything this one would do."""
    newer = RecategorisationRun.objects.filter(pk__gt=run.pk)
    return newer.filter(status__in=[RunStatus.RUNNING, RunStatus.FINISHED]).exists()
