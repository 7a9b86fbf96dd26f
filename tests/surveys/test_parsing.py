"""Understanding SMS replies to "0-10, would you recommend us?" (pure, no database)."""

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surveys import parsing
from surveys.parsing import MAX_CHARS, Reply, ReplyKind, parse_reply

S, U = ReplyKind.SCORE, ReplyKind.UNKNOWN
OUT, IN, HELP = ReplyKind.OPT_OUT, ReplyKind.OPT_IN, ReplyKind.HELP

# (text, kind, score, comment); comment None means "not checked".
REPLIES: list[tuple[str, ReplyKind, int | None, str | None]] = [
    # --- plain scores, English side ---
    ("9", S, 9, ""),
    ("10", S, 10, ""),
    ("0", S, 0, ""),
    (" 7 ", S, 7, ""),
    ("8.", S, 8, ""),
    ("9!!!", S, 9, ""),
    ("10!!!!!", S, 10, ""),
    ("5?", S, 5, ""),
    ("07", S, 7, ""),
    ("Nine", S, 9, ""),
    ("TEN", S, 10, ""),
    ("eight", S, 8, ""),
    ("zero", S, 0, ""),
    ("one", S, 1, ""),
    ("One, awful", S, 1, "awful"),
    ("Zero. Never again", S, 0, "Never again"),
    ("8/10", S, 8, ""),
    ("8 / 10", S, 8, ""),
    ("10/10 would recommend", S, 10, "would recommend"),
    ("8 out of 10", S, 8, ""),
    ("solid 8 out of 10", S, 8, ""),
    ("seven out of ten", S, 7, ""),
    ("Ten out of ten!", S, 10, ""),
    ("Score: 4", S, 4, ""),
    ("score 6", S, 6, ""),
    ("rating: 8/10", S, 8, ""),
    ("I'd say 7", S, 7, ""),
    ("i’d say 7, tech was polite", S, 7, "tech was polite"),
    ("I would give it a 9", S, 9, ""),
    ("I'd give you guys a 10!", S, 10, ""),
    ("Definitely a 10", S, 10, "Definitely"),
    ("7 points", S, 7, ""),
    ("6pts", S, 6, ""),
    ("10 great service", S, 10, "great service"),
    ("3 - waited an hour", S, 3, "waited an hour"),
    ("2 Waited forty minutes on hold", S, 2, "Waited forty minutes on hold"),
    ("9, fixed it first time", S, 9, "fixed it first time"),
    ("Great service - 9 - thanks", S, 9, "Great service - thanks"),
    ("Very helpful engineer. 10", S, 10, "Very helpful engineer"),
    ("please don't stop the service, 9", S, 9, "please don't stop the service"),
    ("I need help, 4", S, 4, "I need help"),
    ("5 because it took 3 days", S, 5, "because it took 3 days"),
    ("1. Called twice and nobody came", S, 1, "Called twice and nobody came"),
    ("4 waited 45 mins", S, 4, "waited 45 mins"),
    ("8 but the app is confusing", S, 8, None),
    ("10 !! arrived at 9:30 sharp", S, 10, "arrived at 9:30 sharp"),
    ("No.1 service, 10", S, 10, "No.1 service"),
    ("Six. The 2nd visit fixed it", S, 6, None),
    ("3 you never fixed my 5G issue", S, 3, None),
    ("5 meh", S, 5, "meh"),
    ("7 , ok i guess", S, 7, "ok i guess"),
    ("10\nThe technician was great", S, 10, "The technician was great"),
    ("nine (9)", S, 9, ""),
    ("9 9", S, 9, ""),
    ("👍10", S, 10, "👍"),
    ("10👍👍", S, 10, "👍👍"),
    ("9️⃣", S, 9, ""),
    ("“7”", S, 7, ""),
    ("(6)", S, 6, ""),
    ("'8'", S, 8, ""),
    ("Great service. Nine", S, 9, "Great service"),
    ("Great service, nine, thanks", S, 9, "Great service, thanks"),
    ("I'll give 8", S, 8, ""),
    ("Ten minutes late, 6", S, 6, "Ten minutes late"),
    ("Nine. Two technicians came", S, 9, "Two technicians came"),
    ("eight\nslow but fine", S, 8, "slow but fine"),
    ("sorry, I meant 8", S, 8, "sorry"),
    # --- full-width ---
    ("９", S, 9, ""),
    ("１０分", S, 10, ""),
    ("８／１０", S, 8, ""),
    ("７　服務不錯", S, 7, "服務不錯"),
    ("Ｓｃｏｒｅ：５", S, 5, ""),
    # --- Chinese ---
    ("九分", S, 9, ""),
    ("九 分", S, 9, ""),
    ("九分，服务很好", S, 9, "服务很好"),
    ("8 分，就是排队太久了", S, 8, "就是排队太久了"),
    ("10分", S, 10, ""),
    ("8分吧", S, 8, ""),
    ("给9分", S, 9, ""),
    ("打8分吧", S, 8, ""),
    ("打10分", S, 10, ""),
    ("我给十分", S, 10, ""),
    ("我给九", S, 9, ""),
    ("评7分", S, 7, ""),
    ("就六分吧", S, 6, ""),
    ("就给八分吧", S, 8, ""),
    ("给个五分", S, 5, ""),
    ("给您打9分", S, 9, ""),
    ("给你们打十分", S, 10, ""),
    ("打个8分吧，师傅人挺好", S, 8, "师傅人挺好"),
    ("服务很好，给9分", S, 9, "服务很好"),
    ("师傅很耐心，解决了问题，10分", S, 10, "师傅很耐心，解决了问题"),
    ("服务很好（给9分）下次还找你们", S, 9, "服务很好下次还找你们"),
    ("我觉得8分", S, 8, ""),
    ("评分：7", S, 7, ""),
    ("打分:6", S, 6, ""),
    ("满分", S, 10, ""),
    ("给满分！师傅很专业", S, 10, "师傅很专业"),
    ("不错，满分！", S, 10, "不错"),
    ("满分10分，我给8分", S, 8, ""),
    ("8分（满分10分）", S, 8, ""),
    ("不能给满分，8分吧", S, 8, "不能给满分"),
    ("两分", S, 2, ""),
    ("零分", S, 0, ""),
    ("〇", S, 0, ""),
    ("七", S, 7, ""),
    ("十", S, 10, ""),
    ("十分", S, 10, ""),
    ("十分！", S, 10, ""),
    ("给十分吧", S, 10, ""),
    ("十分，非常满意", S, 10, "非常满意"),
    ("九分吧，还可以", S, 9, "还可以"),
    ("三分。态度差", S, 3, "态度差"),
    ("4分 等了两个小时才有人接", S, 4, "等了两个小时才有人接"),
    ("等了两个小时，3分", S, 3, "等了两个小时"),
    ("等了5分钟，8分", S, 8, "等了5分钟"),
    ("8分，三天才修好", S, 8, "三天才修好"),
    ("5分，一直打不通电话", S, 5, "一直打不通电话"),
    ("6分，上门的师傅迟到了半小时", S, 6, "上门的师傅迟到了半小时"),
    ("2分 太差了 再也不用了", S, 2, "太差了 再也不用了"),
    ("三分 上门太慢 电话也没人接", S, 3, "上门太慢 电话也没人接"),
    ("一般吧，6分", S, 6, "一般吧"),
    ("第一次用，感觉不错，8分", S, 8, "第一次用，感觉不错"),
    ("工号8的师傅很好，10分", S, 10, "工号8的师傅很好"),
    ("5星好评，10分", S, 10, "5星好评"),
    ("8分 满意", S, 8, "满意"),
    ("还行 7", S, 7, "还行"),
    ("嗯 8", S, 8, "嗯"),
    ("8！", S, 8, ""),
    ("【8】", S, 8, ""),
    ("「九」", S, 9, ""),
    ("9分～～", S, 9, ""),
    ("10分！！！", S, 10, ""),
    ("👍👍 10分", S, 10, "👍👍"),
    ("10分💯", S, 10, "💯"),
    ("9分 9分", S, 9, ""),
    ("九分九分", S, 9, ""),
    ("七分吧，网速有时候慢", S, 7, "网速有时候慢"),
    ("挺好的，九分", S, 9, "挺好的"),
    ("给八分,师傅来得很快", S, 8, "师傅来得很快"),
    ("1分！！！投诉了三次都没解决", S, 1, "投诉了三次都没解决"),
    ("零分，再也不会推荐", S, 0, "再也不会推荐"),
    ("嗯，十分吧", S, 10, "嗯"),
    ("还可以吧 就7分", S, 7, "还可以吧"),
    ("8分，希望下次早点到", S, 8, "希望下次早点到"),
    ("等了十分钟，九分", S, 9, "等了十分钟"),
    ("十点来的，九分", S, 9, "十点来的"),
    ("七点半到的，8分", S, 8, "七点半到的"),
    ("十分满意，10分", S, 10, "十分满意"),
    ("一，太差了", S, 1, "太差了"),
    ("不对，应该是2分", S, 2, "不对，应该是"),
    # --- traditional characters ---
    ("服務很好，給9分", S, 9, "服務很好"),
    ("滿分！", S, 10, ""),
    ("給個滿分", S, 10, ""),
    ("兩分，太慢了", S, 2, "太慢了"),
    ("評8分", S, 8, ""),
    ("還是給7分吧", S, 7, ""),
    ("九分。師傅很專業", S, 9, "師傅很專業"),
    ("打個六分", S, 6, ""),
    # --- keywords ---
    ("STOP", OUT, None, ""),
    ("stop", OUT, None, ""),
    ("Stop.", OUT, None, ""),
    ("STOP!!!", OUT, None, ""),
    ("stopall", OUT, None, ""),
    ("Unsubscribe", OUT, None, ""),
    ("cancel", OUT, None, ""),
    ("END", OUT, None, ""),
    ("quit", OUT, None, ""),
    ("revoke", OUT, None, ""),
    ("OPTOUT", OUT, None, ""),
    ("opt out", OUT, None, ""),
    ("Opt-Out", OUT, None, ""),
    ("退订", OUT, None, ""),
    ("退訂", OUT, None, ""),
    ("退订!", OUT, None, ""),
    (" 退订 ", OUT, None, ""),
    ("TD", OUT, None, ""),
    ("td。", OUT, None, ""),
    ("T", OUT, None, ""),
    ("取消", OUT, None, ""),
    ("START", IN, None, ""),
    ("unstop", IN, None, ""),
    ("订阅", IN, None, ""),
    ("HELP", HELP, None, ""),
    ("help?", HELP, None, ""),
    ("Info", HELP, None, ""),
    ("帮助", HELP, None, ""),
    ("幫助", HELP, None, ""),
    # --- not a score ---
    ("11", U, None, "11"),
    ("100", U, None, "100"),
    ("10086", U, None, "10086"),
    ("有事打10086吗", U, None, None),
    ("9分，有问题打10086", U, None, None),
    ("13800138000", U, None, None),
    ("138 0013 8000", U, None, None),
    ("-3", U, None, "-3"),
    ("7.5", U, None, "7.5"),
    ("9.5分", U, None, None),
    ("8.5/10", U, None, None),
    ("七点五", U, None, "七点五"),
    ("7 or 8", U, None, "7 or 8"),
    ("between 7 and 8", U, None, None),
    ("9 or ten", U, None, None),
    ("7-8", U, None, None),
    ("0-10", U, None, None),
    ("7到8", U, None, None),
    ("七到八分", U, None, None),
    ("9 或 10", U, None, None),
    ("七分 八分", U, None, None),
    ("七八分", U, None, None),
    ("7/8", U, None, None),
    ("5/5", U, None, None),
    ("good", U, None, "good"),
    ("  还行  ", U, None, "还行"),
    ("一般般", U, None, "一般般"),
    ("谢谢", U, None, None),
    ("ok thanks", U, None, None),
    ("十一", U, None, "十一"),
    ("一百", U, None, None),
    ("100分", U, None, None),
    ("一百分", U, None, None),
    ("二十分", U, None, None),
    ("十二分", U, None, None),
    ("100%满意", U, None, None),
    ("百分百满意", U, None, None),
    ("十分满意", U, None, "十分满意"),
    ("十分感谢", U, None, None),
    ("five stars", U, None, None),
    ("5星", U, None, None),
    ("⭐⭐⭐⭐⭐", U, None, None),
    ("👍", U, None, "👍"),
    ("no one answered", U, None, None),
    ("Thanks for sorting out my two phones", U, None, None),
    ("give one star", U, None, None),
    ("三分之一", U, None, None),
    ("一分钱都不值", U, None, None),
    ("等了两个小时", U, None, None),
    ("一直没人来修", U, None, None),
    ("call me back at 3", U, None, None),
    ("STOP calling me", OUT, None, None),
    ("退订怎么操作", OUT, None, None),
    ("?", U, None, "?"),
    ("", U, None, ""),
    ("   ", U, None, ""),
]


@pytest.mark.parametrize(("text", "kind", "score", "comment"), REPLIES)
def test_realistic_replies(
    text: str, kind: ReplyKind, score: int | None, comment: str | None
) -> None:
    reply = parse_reply(text)
    assert (reply.kind, reply.score) == (kind, score)
    if comment is not None:
        assert reply.comment == comment


def test_the_table_is_broad() -> None:
    chinese = [row for row in REPLIES if any("\u4e00" <= ch <= "\u9fff" for ch in row[0])]
    assert len(REPLIES) >= 150
    assert len(chinese) >= len(REPLIES) * 0.4
    assert sum(row[3] is not None and row[1] == S for row in REPLIES) >= 30
    assert sum(row[1] == U for row in REPLIES) >= 25


@pytest.mark.parametrize("junk", [None, 9, b"9", ["9"], 9.0])
def test_anything_but_text_is_unknown(junk: object) -> None:
    assert parse_reply(junk) == Reply(ReplyKind.UNKNOWN)  # type: ignore[arg-type]


def test_unknown_keeps_the_trimmed_text_as_comment() -> None:
    assert parse_reply("  师傅人很好，谢谢！ \n") == Reply(U, comment="师傅人很好，谢谢！")


@pytest.mark.parametrize(
    "text",
    [
        "9" + " " * (MAX_CHARS - 1),
        "1 " * (MAX_CHARS // 2),
        "九" * MAX_CHARS,
        "a" + " " * (MAX_CHARS - 2) + "b",
        ("8/" * MAX_CHARS)[:MAX_CHARS],
        "score " * (MAX_CHARS // 6),
        "9" * 100_000,
        "给" * 10_000 + "9分",
    ],
)
def test_long_or_hostile_input_is_fast(text: str) -> None:
    began = time.perf_counter()
    reply = parse_reply(text)
    assert time.perf_counter() - began < 0.5
    assert reply.score is None or 0 <= reply.score <= 10


def _well_formed(reply: Reply) -> None:
    assert isinstance(reply, Reply)
    assert isinstance(reply.comment, str)
    assert reply.score is None or (type(reply.score) is int and 0 <= reply.score <= 10)
    assert (reply.kind == ReplyKind.SCORE) == (reply.score is not None)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises_on_any_text(text: str) -> None:
    _well_formed(parse_reply(text))
    # The rules themselves, without parse_reply's safety net, must not raise either.
    _well_formed(parsing._understand(text))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400).map(lambda raw: raw.decode("utf-8", errors="replace")))
def test_never_raises_on_decoded_bytes(text: str) -> None:
    _well_formed(parsing._understand(text))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from("0123456789 分给打满 one nine ten 十九两/.:-,，。 outof"),
        max_size=40,
    ).map("".join)
)
def test_never_raises_on_number_heavy_text(text: str) -> None:
    _well_formed(parsing._understand(text))


PADDING = st.text(alphabet=" \t\n.,!?。，！？、~…；;:：()（）【】\"'“”", max_size=8)
CHINESE = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]
ENGLISH = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


@st.composite
def written_scores(draw: st.DrawFn) -> tuple[int, str]:
    score = draw(st.integers(min_value=0, max_value=10))
    form = draw(st.sampled_from(["digits", "chinese", "english"]))
    if form == "digits":
        return score, str(score)
    if form == "chinese":
        return score, draw(st.sampled_from(["〇", "零"])) if score == 0 else CHINESE[score]
    word = ENGLISH[score]
    upper = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return score, "".join(ch.upper() if up else ch for ch, up in zip(word, upper, strict=True))


@settings(max_examples=300, deadline=None)
@given(written_scores(), PADDING, PADDING)
def test_a_score_survives_surrounding_punctuation(
    written: tuple[int, str], before: str, after: str
) -> None:
    score, number = written
    reply = parse_reply(before + number + after)
    assert (reply.kind, reply.score) == (ReplyKind.SCORE, score)
    assert reply.comment == ""


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10), PADDING, st.sampled_from(["", "分", " 分", "分吧"]))
def test_a_chinese_score_with_its_unit_survives_punctuation(
    score: int, padding: str, unit: str
) -> None:
    text = padding + CHINESE[score] + unit + padding
    assert parse_reply(text).score == score


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
HALF_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.tuples(PADDING, st.integers(0, 120), st.sampled_from(["", "分", "/10", " 服务好"])).map(
            lambda parts: f"{parts[0]}{parts[1]}{parts[2]}{parts[0]}"
        ),
    )
)
def test_full_width_digits_read_like_ascii(text: str) -> None:
    ascii_reply = parse_reply(text)
    wide_reply = parse_reply(text.translate(FULL_WIDTH))
    assert (wide_reply.kind, wide_reply.score) == (ascii_reply.kind, ascii_reply.score)
    assert wide_reply.comment.translate(HALF_WIDTH) == ascii_reply.comment.translate(HALF_WIDTH)


# --- corrections: a score said as a correction of an earlier one (issue: 抱歉，是8分) ---
CORRECTIONS: list[tuple[str, int]] = [
    ("抱歉，是8分", 8),
    ("不好意思，我想打8分", 8),
    ("打错了，8分", 8),
    ("打错了，应该是9", 9),
    ("更正：7分", 7),
    ("改成8分", 8),
    ("改为6分", 6),
    ("应该是2分", 2),
    ("不对，应该是2分", 2),
    ("對不起，按错了，是十分", 10),
    ("刚才手滑打错了，给9分吧", 9),
    ("不好意思，是九分", 9),
    ("说错了，8分", 8),
    ("其实我想给7分", 7),
    ("不是3分，是8分", 8),
    ("抱歉 10", 10),
    ("重新打分：8", 8),
    ("應該是8分", 8),
    ("sorry, I meant 8", 8),
    ("oops 8", 8),
    ("make that 8", 8),
    ("Sorry, typo. 9", 9),
    ("I meant eight", 8),
    ("my bad, should be 7", 7),
    ("Oops, wrong button, it's a 9", 9),
    ("actually 10", 10),
    ("not 4, 8", 8),
    ("Correction: 6/10", 6),
    ("change it to 9", 9),
    ("whoops, meant 10", 10),
]
# Numbers that are not scores, even beside a correction word: never a new score.
LOOK_ALIKES = [
    "等了8分钟",
    "8点才开门",
    "花了80元",
    "抱歉，等了8分钟",
    "不好意思，8点才开门",
    "打错了电话，10086",
    "应该8号到账",
    "更正一下，是8月的账单",
    "改成8点以后打给我",
    "抱歉，第8个窗口",
    "应该是5G信号问题",
    "排队等了8",
    "抱歉，前面有8个人",
    "sorry, waited 8 minutes",
    "oops, the store opens at 8",
    "sorry, paid 80 yuan",
    "make that 8pm",
    "should be 5G by now",
    "sorry, 8 of us waited",
    "sorry, took 8",
]


@pytest.mark.parametrize(("text", "score"), CORRECTIONS)
def test_a_correction_as_people_write_it_is_a_score_marked_as_correction(
    text: str, score: int
) -> None:
    reply = parse_reply(text)
    assert (reply.kind, reply.score, reply.correction) == (S, score, True)


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_a_number_that_is_no_score_is_never_read_as_a_correction(text: str) -> None:
    reply = parse_reply(text)
    assert (reply.kind, reply.score, reply.correction) == (U, None, False)


@pytest.mark.parametrize(
    "text",
    ["9 服务很好", "8, the staff was helpful", "10", "给8分", "还行吧，7分", "great service, 9"],
)
def test_a_score_with_a_reason_is_not_a_correction(text: str) -> None:
    assert parse_reply(text).correction is False


def test_the_correction_tables_cover_both_languages() -> None:
    def chinese(text: str) -> bool:
        return any("\u4e00" <= ch <= "\u9fff" for ch in text)

    assert len(CORRECTIONS) >= 20
    assert len(LOOK_ALIKES) >= 10
    for table in ([t for t, _ in CORRECTIONS], LOOK_ALIKES):
        assert sum(map(chinese, table)) >= 5
        assert sum(not chinese(text) for text in table) >= 5


# --- a score the same message denies is not that score ---
DENIALS: list[tuple[str, ReplyKind, int | None]] = [
    ("不可能给10分", U, None),
    ("not a 10", U, None),
    ("绝不会给10分", U, None),
    ("给不了满分", U, None),
    ("我不会给你们10分", U, None),
    ("I would never give you a 10", U, None),
    ("definitely not 10", U, None),
    ("达不到9分", U, None),
    ("不是10分，是8分", S, 8),
    ("10? no way. 6", S, 6),
    ("10分不可能，最多7分", S, 7),
    # a negation that denies no score
    ("not bad, 8", S, 8),
    ("服务不错 9", S, 9),
    ("nothing to complain about, 9", S, 9),
    ("不太满意，6分", S, 6),
    ("没什么问题，10分", S, 10),
]


@pytest.mark.parametrize(("text", "kind", "score"), DENIALS)
def test_a_score_the_message_denies_is_not_that_score(
    text: str, kind: ReplyKind, score: int | None
) -> None:
    reply = parse_reply(text)
    assert (reply.kind, reply.score) == (kind, score)


# --- Tibetan ---
TIBETAN: list[tuple[str, ReplyKind, int | None, str | None]] = [
    ("༨", S, 8, ""),
    ("༡༠", S, 10, ""),
    ("༠", S, 0, ""),
    ("༥།", S, 5, ""),
    ("༩ ཡག་པོ་འདུག", S, 9, "ཡག་པོ་འདུག"),
    ("ཞབས་ཞུ་ཡག་པོ་འདུག ༩", S, 9, "ཞབས་ཞུ་ཡག་པོ་འདུག"),
    ("༡༠/༡༠", S, 10, ""),
    ("བརྒྱད", S, 8, ""),
    ("བཅུ།", S, 10, ""),
    ("གསུམ་", S, 3, ""),
    ("སྐར་ཚད་དགུ", S, 9, ""),
    ("༡༡", U, None, None),
    ("༧ ཡང་ན་༨", U, None, None),  # 7 or 8
    ("བཅུ་གཅིག", U, None, None),  # eleven
    ("མི་གཅིག་ཡོང་མ་སོང་", U, None, None),  # "nobody came": གཅིག is "a, one" in prose
    ("ཆུ་ཚོད་༢ སྒུག་དགོས་བྱུང་།", U, None, None),  # waited 2 hours
]


@pytest.mark.parametrize(("text", "kind", "score", "comment"), TIBETAN)
def test_tibetan_digits_and_number_words_read_as_scores(
    text: str, kind: ReplyKind, score: int | None, comment: str | None
) -> None:
    reply = parse_reply(text)
    assert (reply.kind, reply.score) == (kind, score)
    if comment is not None:
        assert reply.comment == comment


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10), PADDING)
def test_every_score_in_tibetan_digits_reads_like_ascii(score: int, padding: str) -> None:
    tibetan = "".join(chr(0x0F20 + int(d)) for d in str(score))
    assert parse_reply(padding + tibetan + padding).score == score
