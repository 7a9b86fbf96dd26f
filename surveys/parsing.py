"""Reply text -> meaning, for SMS answers to "0-10, would you recommend us?".

Pure (no database, no Django) and total: any input gives a ``Reply``, never an exception.

The rules, in order:

1. Guard. Anything but a ``str``, or a text longer than ``MAX_CHARS``, is UNKNOWN.
2. Fold widths. Each character is NFKC-normalised on its own when that gives one character
   (full-width digits and punctuation become ASCII), so positions in the folded text are
   positions in the original and the comment can be cut from what the customer wrote.
3. Keywords. The whole message, ignoring spaces, punctuation, emoji and case ("Stop!",
   "opt-out", "TD。"), is looked up in OPT_OUT_WORDS, OPT_IN_WORDS and HELP_WORDS, before
   any number.
4. Opt-out intent (``optout`` rules below). A request to stop wins over everything after
   it, a score included ("8 TD"): a strong opt-out word with words around it ("TD 谢谢",
   "STOP NOW", "退订，谢谢你们") or a plain request to stop sending or to be left alone
   ("stop sending", "以后别发了", "不想再收到这种短信"). A negated one is not ("please don't
   stop, 9" is a 9; "别退订" is no opt-out), nor a service sense ("退订了套餐还在扣费").
   Weaker words (cancel, end, quit, 取消 …) in a sentence opt out only when nothing else in
   the message can be read (no score).
5. Number mentions. Every ASCII number, run of Chinese numerals, English number word and
   满分 is classified as one of:
   - ignored: clearly not the score (a quantity such as 5分钟 / two hours / 5星, a time,
     an ordinal or code such as 第一 / No.1 / 5G, a Chinese numeral inside a word such as
     一般 / 一直, 十分 used as "very", the pronoun "one");
   - doubtful: an English number word inside a sentence ("my two phones"); no answer alone,
     but it contradicts a different score ("9 or ten");
   - a score 0-10, together with the words that make it one (给…分吧, I'd say …, …/10);
   - full marks (满分): 10, unless another score is given ("满分10分，我给8分");
   - impossible: out of range (11, 十一, 10086, phone numbers), negative, decimal (7.5,
     七点五), a fraction other than x/10 (7/8) or a malformed numeral (七八分);
   - denied: a score the message itself says it is not ("不可能给10分", "not a 10",
     "绝不会给10分", "给不了满分"). It is no score, and does not count against another
     ("不是10分，是8分" is an 8).
   Tibetan digits (༠-༩) read like ASCII digits; a Tibetan number word (གཅིག … བཅུ) is a
   score only when it is the whole message, since གཅིག is also "a, one" in prose.
6. Decision. Any impossible number makes the reply UNKNOWN; so do two different scores
   ("7 or 8", "7到8"). The same score repeated counts once. No score at all is UNKNOWN.
   A score said as a correction (抱歉/不好意思/打错了/更正/改成/应该是, "sorry, I meant 8",
   "oops 8", "make that 8", or one beside a denied score) is marked ``correction``; the
   reply pipeline uses it to re-score an earlier answer.
7. Comment. The message with every score expression removed, trimmed of whitespace and
   separator punctuation. For UNKNOWN it is the whole trimmed message.

When in doubt the answer is UNKNOWN: a wrong score is worse than asking again.
"""

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from surveys.stoprequests import asks_to_stop, mentions_stopping

# A real reply is under 1 KB; anything much longer is not an answer and is not analysed.
MAX_CHARS = 2000
# Keywords are short; longer texts skip the keyword lookup altogether.
_KEYWORD_MAX = 40
# How far back a lead-in phrase ("I would give it a", "我就给你们打个") may start.
_PREFIX_WINDOW = 30


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
    correction: bool = False  # the score is said as a correction of an earlier one


OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "TD", "T"}
    | {"退订", "退訂", "取消"}
)
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "订阅", "訂閱"})
HELP_WORDS = frozenset({"HELP", "INFO", "帮助", "幫助"})


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    value: int | None  # None: a number that rules out any score
    full_marks: bool = False
    weak: bool = False  # a number word inside a sentence: no answer by itself
    denied: bool = False  # "not a 10", "不可能给10分": the message says it is not the score


_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3,
    "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
_EN_NUMBERS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
_CN_NUMERALS = "零〇一二两兩三四五六七八九十"
# Particles that belong to the score expression: 8分吧, 就九啊.
_TAIL_PARTICLES = "吧啊呀啦哦喔呗唄嘛"
# ...and those that may also end a sentence after a bare numeral: 给九了.
_PARTICLES = _TAIL_PARTICLES + "呢了"
# Characters after which a bare Chinese numeral reads as a number, not as part of a word.
_CN_LEAD = frozenset("给給打评評选選就算是为為得个個到至或")
_SEPARATORS = (
    " \t\r\n\u3000\ufe0f\u20e3,.;:!?~-—–_|/\\()[]{}<>'\"*#"
    "，。；：！？～、…·（）【】［］「」『』〈〉《》“”‘’"
    "\u0f0b\u0f0c\u0f0d\u0f0e"  # Tibetan tsheg and shad: ་ ། ༎
)
_BREAKS = '\n,.;:!?-—–~…()[]（）【】“”"，。；：！？、～\u0f0d\u0f0e'
# Tibetan digits ༠-༩ are read as 0-9 (one character each: positions stay put).
_TIBETAN_DIGITS = str.maketrans({chr(0x0F20 + n): str(n) for n in range(10)})
# Tibetan number words, whole-message only: གཅིག is also "a, one" inside a sentence.
_TIBETAN_NUMBERS = {
    "ཀླད་ཀོར": 0, "ཀླད་སྐོར": 0, "གཅིག": 1, "གཉིས": 2, "གསུམ": 3, "བཞི": 4, "ལྔ": 5,
    "དྲུག": 6, "བདུན": 7, "བརྒྱད": 8, "དགུ": 9, "བཅུ": 10,
}  # fmt: skip
_TIBETAN_SCORE_WORD = "སྐར་ཚད"  # "marks, score": སྐར་ཚད་བརྒྱད
_BRACKETS = "()[]{}<>（）【】［］「」『』〈〉《》“”‘’'\""

_TOKEN = re.compile(
    r"(?P<full>[满滿]分(?:\s*[是为為]?\s*(?:10|十)(?![0-9])\s*分?)?)"
    r"|(?P<digits>[0-9]+)"
    rf"|(?P<cn>[{_CN_NUMERALS}]+)"
    r"|(?<![a-z])(?P<en>zero|one|two|three|four|five|six|seven|eight|nine|ten)(?![a-z])",
    re.IGNORECASE,
)
_SUFFIX = re.compile(
    r"(?:\ufe0f?\u20e3)?"  # keycap emoji: 9️⃣
    r"(?P<unit>\s*(?:分(?![钟鐘之钱錢])|points?(?![a-z])|pts?(?![a-z])))?"
    r"(?P<scale>\s*(?:/|out\s+of|outta|of)\s*(?:10|ten|十)(?![0-9a-z]))?"
    r"(?:\s*分(?![钟鐘之钱錢]))?"
    rf"(?:\s*[{_TAIL_PARTICLES}])?",
    re.IGNORECASE,
)
_FRACTION = re.compile(r"\s*/\s*[0-9]")
_DECIMAL = re.compile(rf"[.,点點][0-9{_CN_NUMERALS}]")
_TIME = re.compile(r"[:：][0-9]")
_QUANTITY = re.compile(
    r"\s*(?:分钟|分鐘|分之|小时|小時|个|個|天|次|元|块|塊|毛|号|號|点|點|年|月|日|周|週|星"
    r"|岁|歲|人|位|楼|樓|层|層|遍|回|趟|台|部|件|条|條|单|單|%"
    r"|(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|yrs?|times?|x|stars?"
    r"|am|pm|st|nd|rd|th|people|persons?|calls?|visits?|guys?|technicians?|engineers?"
    r"|yuan|rmb|dollars?|bucks?|of\s+(?:us|them))(?![a-z])"
    r"|སྐར་མ|ཆུ་ཚོད|ཉིན|ཞག|སྒོར|ཐེངས|ཟླ|ལོ)",  # Tibetan: minutes, hours, days, yuan ...
    re.IGNORECASE,
)
# A number after these is an amount or a time, not a score: 等了8, waited 8, ཆུ་ཚོད་༢.
_QUANTITY_BEFORE = re.compile(
    r"(?:等了|等了快|排了|排队|排隊|花了|用了|过了|過了|交了|扣了|收了|充了"
    r"|(?<![a-z])(?:waited(?:\s+for)?|spent|took|paid|costs?|charged(?:\s+me)?|after)"
    r"|(?:སྐར་མ|ཆུ་ཚོད|ཉིན|ཞག|སྒོར|ཐེངས|ཟླ་བ|ལོ)[\u0f0b\s]*)\s*$",
    re.IGNORECASE,
)
_CODE_BEFORE = re.compile(
    r"(?:#|№|@|(?<![a-z])(?:no\.|at)|第|工号|工號|编号|編號|单号|單號|尾号|尾號)\s*$", re.IGNORECASE
)
_EN_PREFIX = re.compile(
    r"(?:(?<![a-z])(?:i|we)(?:['’]d|['’]ll|\s+would|\s+will|\s+can)?\s+)?"
    r"(?:(?<![a-z])(?:would\s+)?(?:say|give|gave|giving|rate|rated|grade)"
    r"(?:\s+(?:it|you|u|you\s+guys|y['’]all|them|this|us))?(?:\s+(?:an?|about|like))?"
    r"(?:\s+solid)?"
    r"|(?<![a-z])(?:my\s+|the\s+)?(?:score|rating|answer)(?:\s+is)?"
    # a correction's own lead-in: "I meant eight", "make that eight", "should be eight"
    r"|(?<![a-z])(?:i\s+)?(?:meant|mean)|(?<![a-z])make\s+(?:that|it)"
    r"|(?<![a-z])should\s+(?:be|have\s+been)|(?<![a-z])change\s+(?:it|that)?\s*to"
    r"|(?<![a-z])an?(?:\s+solid)?|(?<![a-z])solid)"
    r"\s*[:：=]?\s*$",
    re.IGNORECASE,
)
_CN_PREFIX = re.compile(
    r"(?:[我俺](?:觉得|覺得)?|那)?"
    r"(?:(?:就|还是|還是|也就|只能|只|能|可以)?[给給打评評选選算]"
    r"(?:你们|你們|您|你|它|他们|他們)?[打评評]?了?(?:一?[个個])?"
    r"|就|还是|還是|(?:评分|評分|打分|分数|分數|得分)[是为為]?|(?<=[我俺])(?:觉得|覺得))"
    r"\s*[:：]?\s*$"
)
_NOT_FULL = re.compile(
    r"(?:不|没|沒|不能|不会|不會|不到|离|離|没有|沒有)[给給打到得]?(?:你们|你們|您)?\s*$"
)
# A score the same message denies: "不可能给10分", "给不了10分", "not a 10", "never a 10".
_CN_DENIED = re.compile(
    r"(?:(?:不|没|沒|绝不|絕不|决不|決不|从不|從不|别|別|无法|無法|没法|沒法)"
    r"(?:可能|会|會|能|想|愿意|願意|应该|應該|太|再|值得)?"
    r"(?:给|給|打|评|評|是|值|到|够|夠|达到|達到|配|算|有)?"
    r"|[给給打评評达達够夠配称稱算][不][了到上起])"
    r"(?:你们|你們|您|你|它|他们|他們)?[打评評]?(?:一?[个個])?\s*$"
)
_EN_DENIED = re.compile(
    r"(?<![a-z])(?:not|never|no\s+way|hardly|isn['’]?t|aren['’]?t|wasn['’]?t|ain['’]?t"
    r"|wouldn['’]?t|won['’]?t|can['’]?t|cannot|couldn['’]?t|don['’]?t|didn['’]?t|doesn['’]?t"
    r"|less\s+than|far\s+from)"
    r"(?:\s+(?:even|quite|really|exactly|ever))?"
    r"(?:\s+(?:it['’]?s|is|it\s+is|that['’]?s))?"
    r"(?:\s+(?:be|give|gave|rate|say|deserve|deserves|worth|get|gets|call))?"
    r"(?:\s+(?:it|you|u|you\s+guys|them|this|us))?(?:\s+(?:an?|the))?\s*[:：]?\s*$",
    re.IGNORECASE,
)
_ANY_NEGATION = re.compile(
    r"[不没沒别別无無]|(?<![a-z])(?:not|never|no|hardly|less|far)(?![a-z])|n['’]?t(?![a-z])",
    re.IGNORECASE,
)
_DENIED_AFTER = re.compile(
    r"[\s?？!！,，]{0,4}(?:是?不可能|没可能|沒可能|no\s+way(?![a-z]))", re.IGNORECASE
)
# Said as a correction of an earlier answer. Searched in the whole message once it has
# exactly one score, so a number that is no score ("抱歉，等了8分钟") never gets here.
_CORRECTION = re.compile(
    r"抱歉|不好意思|对不起|對不起|打错|打錯|按错|按錯|点错|點錯|输错|輸錯|写错|寫錯|说错|說錯"
    r"|选错|選錯|弄错|弄錯|搞错|搞錯|错了|錯了|更正|改成|改为|改為|改一下|改下|改正|修改"
    r"|应该是|應該是|应该给|應該給|应该打|應該打|应为|應為|不对|不對|我是说|我是說|我是想"
    r"|重新打|重新评|重新評|重打|重评|重評|想打|想给|想給|其实|其實|实际上|實際上"
    r"|(?<![a-z])(?:sorry|sry|soz|oops|whoops|oopsie|my\s+bad|mistake|typo|mis-?typed"
    r"|mis-?clicked|fat\s+finger(?:ed)?|wrong\s+(?:number|score|button|key|one)|pressed|meant"
    r"|i\s+mean|actually|instead|correction|correct(?:ed|ing)?|make\s+(?:that|it)"
    r"|should\s+(?:be|have\s+been|read|say)|change\s+(?:it|that|my\s+\w+)?\s*to"
    r"|update\s+(?:it|that|my\s+\w+)?\s*to)(?![a-z])",
    re.IGNORECASE,
)


def parse_reply(text: str) -> Reply:
    """Understand one SMS reply: keyword, else a single score 0-10 with its comment."""
    if not isinstance(text, str):
        return Reply(ReplyKind.UNKNOWN)
    try:
        return _understand(text)
    except Exception:  # a reply must never break the inbound pipeline; unknown is safe
        return Reply(ReplyKind.UNKNOWN, comment=text.strip())


def _understand(text: str) -> Reply:
    if len(text) > MAX_CHARS:
        return Reply(ReplyKind.UNKNOWN, comment=text.strip())
    folded = _fold(text)
    keyword = _keyword(folded)
    if keyword is not None:
        return Reply(keyword)
    if asks_to_stop(folded):  # opt-out is absolute: it wins over a score in the same message
        return Reply(ReplyKind.OPT_OUT, comment=text.strip())
    tibetan = _tibetan_number(folded)
    if tibetan is not None:
        return Reply(ReplyKind.SCORE, tibetan)
    mentions = _mentions(folded)
    score, spans = _decide(mentions)
    if score is None:
        kind = ReplyKind.OPT_OUT if mentions_stopping(folded) else ReplyKind.UNKNOWN
        return Reply(kind, comment=text.strip())
    correction = any(m.denied for m in mentions) or bool(_CORRECTION.search(folded))
    return Reply(ReplyKind.SCORE, score, _comment(text, spans), correction)


def _fold(text: str) -> str:
    text = text.translate(_TIBETAN_DIGITS)
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return text
    return "".join(_fold_char(ch) for ch in text)


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    # Only one-to-one mappings: expanding ones (…, ⑩) would shift every later position.
    folded = unicodedata.normalize("NFKC", ch)
    return folded if len(folded) == 1 else ch


def _keyword(folded: str) -> ReplyKind | None:
    if len(folded) > _KEYWORD_MAX:
        return None
    word = "".join(ch for ch in folded if ch.isalnum()).upper()
    for kind, words in (
        (ReplyKind.OPT_OUT, OPT_OUT_WORDS),
        (ReplyKind.OPT_IN, OPT_IN_WORDS),
        (ReplyKind.HELP, HELP_WORDS),
    ):
        if word in words:
            return kind
    return None


def _tibetan_number(folded: str) -> int | None:
    """A Tibetan number word that is the whole message: བརྒྱད, བརྒྱད།, སྐར་ཚད་བརྒྱད."""
    if len(folded) > _KEYWORD_MAX or not any("\u0f00" <= ch <= "\u0fff" for ch in folded):
        return None
    word = folded.strip(_SEPARATORS)
    if word.startswith(_TIBETAN_SCORE_WORD):
        word = word[len(_TIBETAN_SCORE_WORD) :].strip(_SEPARATORS)
    return _TIBETAN_NUMBERS.get(word)


def _mentions(folded: str) -> list[_Mention]:
    found: list[_Mention] = []
    consumed = 0
    negating = bool(_ANY_NEGATION.search(folded))  # one scan, not a denial check per number
    for match in _TOKEN.finditer(folded):
        if match.start() < consumed:
            continue  # the denominator of "8/10", the 10 of "满分10分"
        if match.group("full"):
            mention = _full_marks(folded, match)
        elif match.group("digits"):
            mention = _digits(folded, match)
        elif match.group("cn"):
            mention = _chinese(folded, match)
        else:
            mention = _english(folded, match)
        consumed = mention.end if mention else match.end()
        if mention and mention.value is not None and negating and _denied(folded, match, mention):
            mention = _Mention(mention.start, mention.end, mention.value, denied=True)
        if mention:
            found.append(mention)
    return found


def _denied(folded: str, match: re.Match[str], mention: _Mention) -> bool:
    """The message says this is not its score: a negation before it, or 不可能 after it."""
    before = folded[max(0, match.start() - _PREFIX_WINDOW) : match.start()]
    end = mention.end
    return bool(
        _CN_DENIED.search(before)
        or _EN_DENIED.search(before)
        or _DENIED_AFTER.match(folded[end : end + _PREFIX_WINDOW])
    )


def _digits(folded: str, match: re.Match[str]) -> _Mention | None:
    start, end = match.span()
    before = folded[max(0, start - _PREFIX_WINDOW) : start]
    prev = folded[start - 1 : start]
    if _CODE_BEFORE.search(before) or _is_ascii_letter(prev) or _is_time(folded, start, end):
        return None  # No.1, #3, at 3, 5G, A4, 9:30
    if _QUANTITY_BEFORE.search(before):
        return None  # 等了8, waited 8, paid 80
    if _is_negative(folded, start) or _DECIMAL.match(folded, end):
        return _impossible(start, end)
    suffix = _SUFFIX.match(folded, end)
    named = suffix is not None and (suffix.group("unit") or suffix.group("scale"))
    if not named:
        if _FRACTION.match(folded, end):
            return _impossible(start, end)
        if _QUANTITY.match(folded, end) or _is_ascii_letter(folded[end : end + 1]):
            return None
    digits = match.group()
    value = int(digits) if len(digits) <= 2 else None  # never int() a huge digit string
    return _score(folded, start, end, value)


def _chinese(folded: str, match: re.Match[str]) -> _Mention | None:
    start, end = match.span()
    run = match.group()
    prev = folded[start - 1 : start]
    if prev == "第":
        return None
    prefixed = bool(_CN_PREFIX.search(folded[max(0, start - _PREFIX_WINDOW) : start]))
    starts_free = not prev or not _is_cjk(prev) or prev in _CN_LEAD or prefixed
    if starts_free and _DECIMAL.match(folded, end):
        return _impossible(start, end)
    suffix = _SUFFIX.match(folded, end)
    has_unit = suffix is not None and bool(suffix.group("unit") or suffix.group("scale"))
    if run == "十" and suffix and suffix.group("unit") and not prefixed and prev not in _CN_LEAD:
        after_unit = folded[suffix.end("unit") : suffix.end("unit") + 1]
        if after_unit and _is_cjk(after_unit) and after_unit not in _TAIL_PARTICLES:
            return None  # 十分满意: "very satisfied", not ten points
    if not has_unit and not (starts_free and _ends_free(folded, end)):
        return None  # a numeral inside a word: 一般, 一直, 三天, 两个小时
    return _score(folded, start, end, _cn_value(run))


def _english(folded: str, match: re.Match[str]) -> _Mention | None:
    start, end = match.span()
    word = match.group().lower()
    suffix = _SUFFIX.match(folded, end)
    named = suffix is not None and bool(suffix.group("unit") or suffix.group("scale"))
    if not named and _QUANTITY.match(folded, end):
        return None  # two hours, five stars
    mention = _score(folded, start, end, _EN_NUMBERS[word])
    if named or mention.start != start or _stands_apart(folded, start, end):
        return mention
    # Number words are common in prose ("my two phones"): inside a sentence one is no answer
    # on its own, but still casts doubt on a different score ("9 or ten"). "one" is mostly a
    # pronoun ("no one came") and is left out altogether.
    return None if word == "one" else _Mention(start, end, mention.value, weak=True)


def _full_marks(folded: str, match: re.Match[str]) -> _Mention | None:
    start, end = match.span()
    before = folded[max(0, start - _PREFIX_WINDOW) : start]
    if _NOT_FULL.search(before) or _CN_DENIED.search(before):
        return None  # 不能给满分, 离满分还差一点, 给不了满分
    mention = _score(folded, start, end, 10)
    return _Mention(mention.start, mention.end, 10, full_marks=True)


def _score(folded: str, start: int, end: int, value: int | None) -> _Mention:
    """The score expression around a number: lead-in words before, unit and scale after."""
    if value is None or not 0 <= value <= 10:
        return _impossible(start, end)
    window_start = max(0, start - _PREFIX_WINDOW)
    window = folded[window_start:start]
    # Cheap checks first: most windows of a long run of numbers have no words at all.
    lead = (not window.isascii() and _CN_PREFIX.search(window)) or (
        _has_ascii_letter(window) and _EN_PREFIX.search(window)
    )
    suffix = _SUFFIX.match(folded, end)
    return _Mention(
        window_start + lead.start() if lead else start, suffix.end() if suffix else end, value
    )


def _impossible(start: int, end: int) -> _Mention:
    return _Mention(start, end, None)


def _decide(mentions: list[_Mention]) -> tuple[int | None, list[tuple[int, int]]]:
    if any(m.value is None for m in mentions):
        return None, []
    mentions = [m for m in mentions if not m.denied]  # "不是10分，是8分": the 8
    if not mentions:
        return None, []
    # 满分 next to an actual number is the scale ("满分10分，我给8分"), not the answer.
    scores = [m for m in mentions if not m.full_marks] or mentions
    values = {m.value for m in scores}
    if len(values) != 1 or all(m.weak for m in scores):
        return None, []
    return values.pop(), [(m.start, m.end) for m in mentions if not m.weak]


def _comment(text: str, spans: list[tuple[int, int]]) -> str:
    pieces: list[str] = []
    position = 0
    for start, end in spans:
        pieces.append(text[position:start])
        position = max(position, end)
    pieces.append(text[position:])
    parts: list[str] = []
    gap = ""  # separators since the last kept words
    for piece in pieces:
        core = piece.strip(_SEPARATORS)
        if not core:
            gap += piece
            continue
        if parts:
            parts.append(_joiner(gap, piece[: len(piece) - len(piece.lstrip(_SEPARATORS))]))
        parts.append(core)
        gap = piece[len(piece.rstrip(_SEPARATORS)) :]
    return "".join(parts)


def _joiner(before: str, after: str) -> str:
    """Keep the customer's own separator between the two halves: ", ", "，", " - "."""
    for separator in (before, after):
        kept = "".join(ch for ch in separator if ch not in _BRACKETS)
        if kept.strip():
            return kept if kept.strip().isascii() else kept.strip()
    return " " if any(ch.isspace() for ch in before + after) else ""


def _cn_value(run: str) -> int | None:
    if "十" not in run:
        return _CN_DIGITS[run] if len(run) == 1 else None
    tens, _, ones = run.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones or tens in ("零", "〇"):
        return None  # 七八十, 十十, 零十: not a way to write a score
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def _ends_free(folded: str, end: int) -> bool:
    """A bare numeral stands alone: nothing, punctuation, a particle or 到/或 another number."""
    following = folded[end : end + 1]
    if not following or not _is_cjk(following) or following in _PARTICLES:
        return True
    after = folded[end + 1 : end + 2]
    return following in "到至或" and bool(after) and after in _CN_NUMERALS + "0123456789"


def _stands_apart(folded: str, start: int, end: int) -> bool:
    """Each side is the edge of the message or a break: "Nine!", "One, awful", "ok. Ten"."""
    before = folded[:start].rstrip(" \t")
    after = folded[end:].lstrip(" \t")
    open_before = not before.strip(_SEPARATORS) or before[-1:] in _BREAKS
    open_after = not after.strip(_SEPARATORS) or after[:1] in _BREAKS
    return open_before and open_after


def _is_time(folded: str, start: int, end: int) -> bool:
    return bool(_TIME.match(folded, end)) or (
        folded[start - 1 : start] == ":" and folded[start - 2 : start - 1].isdigit()
    )


def _is_negative(folded: str, start: int) -> bool:
    if folded[start - 1 : start] not in ("-", "−", "﹣"):
        return False
    return start == 1 or not folded[start - 2].isalnum()


def _has_ascii_letter(text: str) -> bool:
    return any(ch.isascii() and ch.isalpha() for ch in text)


def _is_ascii_letter(ch: str) -> bool:
    return len(ch) == 1 and ch.isascii() and ch.isalpha()


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff"
