"""Reply text -> meaning. Pure: no database, never raises."""

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class ReplyKind(StrEnum):
    SCORE = "score"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Reply:
    kind: ReplyKind
    score: int | None = None
    comment: str = ""


OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "TD", "T"}
    | {"退订", "退訂", "取消"}
)
OPT_IN_WORDS = frozenset({"START", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO", "帮助"})

_TRAILING = re.compile(r"[\s\W_]+$")
_LEADING_SCORE = re.compile(
    r"^\s*(\d{1,3})(?![\d.,/\-])\s*(?:分)?[\s,，.。!！:：;；\-—]*(.*)$", re.S
)


def _keyword(text: str) -> str:
    return _TRAILING.sub("", text.strip()).upper()


def parse_reply(text: str) -> Reply:
    """Understand an SMS reply: keyword first, then a leading score 0-10 with a comment."""
    try:
        normal = unicodedata.normalize("NFKC", text or "")
    except (TypeError, ValueError):
        return Reply(ReplyKind.UNKNOWN)
    word = _keyword(normal)
    if word in OPT_OUT_WORDS:
        return Reply(ReplyKind.OPT_OUT)
    if word in OPT_IN_WORDS:
        return Reply(ReplyKind.OPT_IN)
    if word in HELP_WORDS:
        return Reply(ReplyKind.HELP)
    match = _LEADING_SCORE.match(normal)
    if match and int(match.group(1)) <= 10:
        return Reply(ReplyKind.SCORE, int(match.group(1)), match.group(2).strip())
    return Reply(ReplyKind.UNKNOWN, comment=normal.strip())
