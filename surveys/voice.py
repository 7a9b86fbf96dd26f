"""The voice of the customer: is a comment praise, a problem or a suggestion (赞扬之声 /
问题之声 / 建议之声)? The one home of that rule.

`voice_of(comment, category)` is pure:

- an empty comment (or one without letters or digits) has no voice: blank;
- a comment that proposes something is a suggestion, whatever the score: a cue in
  Chinese (建议, 希望, 能不能, 最好, 应该, 要是/如果 ... 就好), Tibetan (བསམ་འཆར "opinion,
  proposal", གྲོས་འཆར "proposal", རེ་བ "hope", ...ན་ཡག་པོ "it would be good if", ཐུབ་ན
  "if one could") or English (suggest, should, "would be nice", "it would help", "please
  add", wish). Negated or past cues ("不应该", "shouldn't", "should have") are complaints,
  not proposals, and do not count;
- otherwise the score decides: a promoter's words are praise, a detractor's and a
  passive's are problems (a passive says what stops them from recommending).

Text is normalised as the reasons are (surveys.reasons.normalise: NFKC, casefolded);
Chinese and Tibetan cues are substrings, English ones whole words.
"""

import re
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Case, CharField, Value, When

from surveys.models import Category, Response, Voice
from surveys.reasons import normalise

BATCH_SIZE = 1000

_CHINESE = re.compile(
    r"(?<!不)(?:建议|希望|能不能|能否|可不可以|最好|应该|可以考虑|期待|要是.{0,20}就好|如果.{0,20}就好)"
)
# A tsheg (་) or a shad (།) or the start before ན: the syllable ན itself ("if"), not a
# syllable ending in ན.
_TIBETAN = re.compile(r"བསམ་འཆར|གྲོས་འཆར|རེ་བ|(?:^|[་།\s])ན་ཡག་པོ|ཐུབ་ན[་།\s]|ཐུབ་ན$|བྱས་ན་ཡག")
_ENGLISH = re.compile(
    r"(?<![a-z])(?:suggest(?:s|ed|ion|ions)?|should(?!\s*(?:n't|not|have|’ve|'ve))"
    r"|would\s+be\s+(?:nice|great|good|better|helpful)|it\s+would\s+help"
    r"|please\s+add|wish|why\s+not|how\s+about|could\s+you\s+(?:add|make|open|offer))(?![a-z])"
)


def is_suggestion(text: str) -> bool:
    folded = normalise(text)
    return bool(_CHINESE.search(folded) or _TIBETAN.search(folded) or _ENGLISH.search(folded))


def voice_of(comment: str, category: str) -> str:
    """The comment's voice (a Voice value), or "" for no words."""
    if not any(c.isalnum() for c in comment):
        return ""
    if is_suggestion(comment):
        return Voice.SUGGESTION
    return Voice.PRAISE if category == Category.PROMOTER else Voice.PROBLEM


# ---------------------------------------------------------------- services


def response_voice_set(*, response: Response) -> str:
    """Store the voice the comment and score give now (one UPDATE when it changed)."""
    voice = voice_of(response.comment, response.category)
    if response.voice != voice:
        Response.objects.filter(pk=response.pk).update(voice=voice)
        response.voice = voice
    return voice


def responses_voice_set(*, responses: Iterable[Response]) -> int:
    """response_voice_set for many responses in one UPDATE (a CASE over their ids)."""
    changed: dict[int, str] = {}
    for response in responses:
        voice = voice_of(response.comment, response.category)
        if response.voice != voice:
            changed[response.pk] = response.voice = voice
    if not changed:
        return 0
    return Response.objects.filter(pk__in=list(changed)).update(
        voice=Case(
            *(When(pk=pk, then=Value(voice)) for pk, voice in changed.items()),
            output_field=CharField(),
        )
    )


def voices_backfill(*, batch_size: int = BATCH_SIZE, only_blank: bool = True) -> int:
    """Classify stored responses in batches by id (one transaction each); returns rows changed.

    Safe to run again or at the same time as new answers: every batch writes what the
    comment and score say now."""
    done, last = 0, 0
    rows = Response.objects.exclude(comment="")
    if only_blank:
        rows = rows.filter(voice="")
    while True:
        batch = list(
            rows.filter(pk__gt=last)
            .order_by("pk")
            .only("pk", "comment", "category", "voice")[:batch_size]
        )
        if not batch:
            return done
        with transaction.atomic():
            done += responses_voice_set(responses=batch)
        last = batch[-1].pk
