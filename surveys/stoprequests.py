"""A request to stop, as people write it: pure text rules used by ``surveys.parsing``.

Opt-out is absolute, so the reply parser asks here first. Two strengths:

- strong: the keywords our own SMS teach (TD, 退订, STOP, UNSUBSCRIBE, OPT OUT) anywhere
  in the message, and plain requests to stop sending or to be left alone ("stop sending",
  "leave me alone", "以后别发了", "不想再收到这种短信"). These win over a score.
- weak: words that also mean something else in a complaint (cancel, quit, revoke,
  取消): only when the message gives nothing else we can read.

Not a request to stop: a negated one ("please don't stop", "别退订", "不要取消"), a
compound noun ("bus stop", "non-stop", "TD-LTE"), and 退订 in its service sense (cancelling
a plan: "退订了套餐还在扣费", "退订失败").
"""

import re

# A negation right before an English keyword, with at most one word between: "don't ever stop".
_EN_NEGATED = re.compile(
    r"(?<![a-z])(?:don['’]?t|do\s+not|never|not|can['’]?t|cannot|won['’]?t|didn['’]?t"
    r"|doesn['’]?t|shouldn['’]?t|no\s+need\s+to|without|wouldn['’]?t)"
    r"(?:\s+(?:ever|please|you|u|just|even|to))?[\s,]*$",
    re.IGNORECASE,
)
_CN_NEGATED = re.compile(
    r"(?:不要|不用|别|別|不|没|沒|勿|无需|無需|不必|不想|不是|无法|無法|没法|沒法|不能|甭)"
    r"(?:再|给我|給我|帮我|幫我)?$"
)
# The keyword taught by our SMS, anywhere: TD (not TD-LTE), STOP (not bus stop), 退订.
_STRONG_WORDS = re.compile(
    r"(?<![a-z])(?P<td>td)(?![a-z]|-[a-z])"
    r"|(?<![a-z])(?P<stop>stop)(?:\s*-?\s*all)?(?![a-z])"
    r"|(?<![a-z])(?P<en>unsubscribe|opt[\s-]*out)(?![a-z])"
    r"|(?P<cn>退[订訂])",
    re.IGNORECASE,
)
_STOP_NOUN = re.compile(
    r"(?:(?<![a-z])(?:the|a|bus|pit|full|non|one|last|next|first|truck|rest|that)[\s-]*$)",
    re.IGNORECASE,
)
_STOP_PREPOSITION = re.compile(r"\s+(?:by|at|over|in|on|for|being|was|is)(?![a-z])", re.IGNORECASE)
# 退订 of a service (a plan, a data pack) or about its failure: a complaint, not a request.
_SERVICE_AFTER = re.compile(
    r"(?:了|的|过|過)?(?:这个|這個|那个|那個|一个|一個)?"
    r"(?:套餐|业务|業務|流量|包|会员|會員|彩铃|彩鈴|增值|宽带|寬帶|视频|視頻|功能|服务|服務"
    r"|失败|失敗|不了|不成功|后还|後還|以后还|以後還|还扣|還扣|还在|還在)"
)
# Plain requests to stop, no keyword needed.
_REQUESTS = re.compile(
    # English
    r"(?<![a-z])(?:stop|quit|cease)\s+(?:sending|texting|messaging|contacting|spamming|bothering"
    r"|emailing|surveying|pestering|harassing)"
    r"|(?<![a-z])(?:please|pls|plz|kindly|just)\s+stop(?![a-z]|\s+(?:by|at|over|in)(?![a-z]))"
    r"|(?<![a-z])no\s+more\s+(?:texts?|messages?|surveys?|sms|spam)"
    r"|(?<![a-z])(?:leave|let)\s+me\s+(?:alone|be)(?![a-z])"
    r"|(?<![a-z])(?:remove|delete|take)\s+me\s+(?:from|off)(?![a-z])"
    r"|(?<![a-z])(?:don['’]?t|do\s+not|never)\s+(?:ever\s+)?"
    r"(?:send|text|message|msg|contact|sms|survey|bother|spam)\s*(?:me|us)?\s*"
    r"(?:any\s*more|again|anything|these|this|messages|texts|surveys|sms|$|[.!,])"
    r"|(?<![a-z])(?:don['’]?t|do\s+not)\s+want\s+(?:any\s*more|more|these|this|your|to\s+(?:receive"
    r"|get))\s*(?:texts?|messages?|surveys?|sms)?"
    # Chinese: 别发了, 不要再给我发短信, 停止发送, 不想再收到, 别打扰我, 取消订阅
    r"|(?:别|別|不要|不用|勿|请勿|請勿|不必|无需|無需|甭)(?:再|老是|总是|總是|一直|天天|每天)?"
    r"(?:给我|給我|向我|跟我)?(?:发|發|推送|推|寄)(?:送)?"
    r"(?:了|啦|短信|信息|消息|这|這|此|给我|給我|过来|過來|调查|調查|问卷|問卷|$|[，。！？!?,.~\s])"
    r"|停止(?:发|發|推送|短信|信息|调查|調查)|停[发發]"
    r"|(?:不想|不要|不再|不需要|不愿|不願)再?(?:收到|接到|接收|收(?![费費钱錢款取回]))"
    r"|(?:别|別|不要|勿|请勿|請勿)再?(?:打扰|打擾|骚扰|騷擾|烦|煩)|免打[扰擾]|勿[扰擾]"
    r"|拒收|拒绝接收|拒絕接收"
    r"|不需要(?:这[种类些]|這[種類些]|此类|此類)?(?:短信|信息|消息|调查|調查)"
    r"|取消(?:订阅|訂閱|短信|调查|調查|推送|发送|發送)"
    r"|退出(?:调查|調查|订阅|訂閱|短信)|我要退出",
    re.IGNORECASE,
)
# Words that mean "stop" only when nothing else is said; in a sentence they need the
# whole message to be otherwise unreadable, and not negated.
_WEAK_WORDS = re.compile(
    r"(?<![a-z])(?:cancel|quit|revoke|unsub)"
    r"(?=\s*(?:$|[.!?,~…]|(?:please|pls|thanks|thank|now|this|these|subscription|surveys?"
    r"|sms|messages|texts)(?![a-z])))"
    r"|取消(?=$|[\s，。！？!?,.~…吧啊呀了谢謝])",
    re.IGNORECASE,
)


def asks_to_stop(folded: str) -> bool:
    """The message asks us to stop sending, whatever else it says (strong signals only)."""
    for match in _STRONG_WORDS.finditer(folded):
        if _negated(folded, match.start()):
            continue
        if match.group("stop") and _stop_is_a_noun(folded, match):
            continue
        if match.group("cn") and _SERVICE_AFTER.match(folded, match.end()):
            continue
        return True
    return any(not _negated(folded, m.start()) for m in _REQUESTS.finditer(folded))


def mentions_stopping(folded: str) -> bool:
    """A weaker opt-out word (cancel, 取消 …), not negated: enough when nothing else is read."""
    return any(not _negated(folded, m.start()) for m in _WEAK_WORDS.finditer(folded))


def _negated(folded: str, start: int) -> bool:
    before = folded[max(0, start - 24) : start]
    return bool(_EN_NEGATED.search(before) or _CN_NEGATED.search(before.rstrip()))


def _stop_is_a_noun(folded: str, match: re.Match[str]) -> bool:
    if match.group("stop") == "STOP" or match.start() == len(folded) - len(folded.lstrip()):
        return False  # shouted, or the first word: the keyword
    before = folded[max(0, match.start() - 12) : match.start()]
    return bool(_STOP_NOUN.search(before) or _STOP_PREPOSITION.match(folded, match.end()))
