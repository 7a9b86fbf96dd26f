"""A request to stop, as people write it (pure, through the reply parser)."""

import pytest

from surveys.parsing import ReplyKind, parse_reply

S, U, OUT = ReplyKind.SCORE, ReplyKind.UNKNOWN, ReplyKind.OPT_OUT

# (text, kind, score): the customer's intent to stop wins, in both languages.
STOP_REQUESTS: list[tuple[str, ReplyKind, int | None]] = [
    # a keyword with words around it
    ("TD 谢谢", OUT, None),
    ("退订，谢谢你们", OUT, None),
    ("退订谢谢", OUT, None),
    ("td谢谢", OUT, None),
    ("STOP NOW", OUT, None),
    ("STOP calling me", OUT, None),
    ("Stop it", OUT, None),
    ("unsubscribe me please", OUT, None),
    ("I want to opt out", OUT, None),
    ("怎么退订", OUT, None),
    ("服务差，TD", OUT, None),  # a comment with the keyword: opt-out is absolute
    # a score and a request to stop: the request wins
    ("8 TD", OUT, None),
    ("10分 退订", OUT, None),
    ("9 but STOP", OUT, None),
    ("3, stop", OUT, None),
    # a plain request to stop sending, or to be left alone
    ("stop sending", OUT, None),
    ("Please stop", OUT, None),
    ("stop texting me", OUT, None),
    ("Leave me alone", OUT, None),
    ("remove me from your list", OUT, None),
    ("don't text me again", OUT, None),
    ("no more surveys please", OUT, None),
    ("I don't want these messages", OUT, None),
    ("以后别发了", OUT, None),
    ("不想再收到这种短信", OUT, None),
    ("请不要再发短信给我", OUT, None),
    ("别再给我发了", OUT, None),
    ("停止发送", OUT, None),
    ("不要打扰我", OUT, None),
    ("取消订阅", OUT, None),
    ("拒收", OUT, None),
    ("别发短信了，烦", OUT, None),
    ("不需要这种短信", OUT, None),
    # a weaker word when nothing else can be read
    ("cancel thanks", OUT, None),
    ("取消吧", OUT, None),
    # not a request to stop
    ("don't stop", U, None),
    ("不要停", U, None),
    ("别退订我", U, None),
    ("不要取消", U, None),
    ("please don't stop the service, 9", S, 9),
    ("退订了套餐还在扣费，2分", S, 2),  # 退订 of a plan: a complaint
    ("退订失败 3", S, 3),
    ("TD-LTE信号差 3", S, 3),
    ("bus stop was far, 3", S, 3),
    ("please stop by again, 9", S, 9),
    ("non-stop calls from sales, 2", S, 2),
    ("3, had to cancel my plan", S, 3),
    ("my internet stopped working, 2", S, 2),
    ("cancel my contract", U, None),
    ("不要收费那么贵 5", S, 5),
    ("别发火，8分", S, 8),
    ("don't send me a technician again, 4", S, 4),
]


@pytest.mark.parametrize(("text", "kind", "score"), STOP_REQUESTS)
def test_a_request_to_stop_is_an_opt_out_as_people_write_it(
    text: str, kind: ReplyKind, score: int | None
) -> None:
    reply = parse_reply(text)
    assert (reply.kind, reply.score) == (kind, score)


def test_the_stop_table_is_broad_and_in_both_languages() -> None:
    def chinese(text: str) -> bool:
        return any("\u4e00" <= ch <= "\u9fff" for ch in text)

    assert len(STOP_REQUESTS) >= 30
    opt_outs = [text for text, kind, _ in STOP_REQUESTS if kind == OUT]
    assert sum(map(chinese, opt_outs)) >= 10
    assert sum(not chinese(text) for text in opt_outs) >= 10
    assert sum(kind != OUT for _, kind, _ in STOP_REQUESTS) >= 10
