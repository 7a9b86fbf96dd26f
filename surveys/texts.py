"""The words we send: per language, chosen by the customer's preference.

A survey's own texts (SurveyText) win; these defaults fill any gap, in Chinese, English
and Tibetan. A customer who reads Tibetan and Chinese (language ``bo-zh``) gets both in
one SMS, Tibetan first, each part complete on its own (with its own opt-out instruction):
one message, one delivery receipt, and the once-per-survey rules hold as for anyone.
Every survey question carries the opt-out instruction of its language.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from surveys.models import Customer, Language, OutboundKind, Survey

ZH, EN, BO = Language.ZH_HANS, Language.EN, Language.BO
# Between the parts of a bilingual message.
PART_SEPARATOR = "\n"

DEFAULT_QUESTIONS: dict[str, str] = {
    ZH: "您好！您有多大可能向亲友推荐我们的服务？请回复0到10的数字（10分为非常可能）。",
    EN: "How likely are you to recommend us to a friend, from 0 to 10? "
    "Reply with a number (10 = very likely).",
    # "Would you recommend our service to a friend? Reply a number 0-10 (10 = surely)."
    BO: "ང་ཚོའི་ཞབས་ཞུ་གྲོགས་པོར་འོས་སྦྱོར་བྱེད་སྲིད་དམ། ༠ ནས་༡༠ བར་གྱི་ཨང་གྲངས་ལན་དུ་འདེབས་རོགས། (༡༠=ངེས་པར་དུ།)",
}
OPT_OUT_INSTRUCTION: dict[str, str] = {
    ZH: "回复TD退订",
    EN: "Reply STOP to opt out",
    BO: "མཚམས་འཇོག་ན་TD ལན་འདེབས།",  # "To stop, reply TD."
}
# A survey delivered by link (Survey.delivery): the SMS carries {link} instead of asking
# for a number; the page (surveys/links.py) asks the question.
DEFAULT_LINK_SMS: dict[str, str] = {
    ZH: "您好！您有多大可能向亲友推荐我们的服务？请点击链接打分：{link}",
    EN: "How likely are you to recommend us to a friend? Tap to answer: {link}",
    # "Would you recommend our service to a friend? Press the link and answer: {link}"
    BO: "ང་ཚོའི་ཞབས་ཞུ་གྲོགས་པོར་འོས་སྦྱོར་བྱེད་སྲིད་དམ། འབྲེལ་མཐུད་མནན་ནས་ལན་འདེབས་རོགས། {link}",
}
# Markers that show a text already tells how to opt out.
_OPT_OUT_MARKERS = ("TD", "STOP", "退订", "退訂")

DEFAULTS: dict[str, dict[str, str]] = {
    OutboundKind.FOLLOWUP_QUESTION: {
        ZH: "感谢您的评分！请问主要是什么原因让您给出这个分数？直接回复即可。",
        EN: "Thank you! What is the main reason for your score? Just reply to this message.",
        # "Thank you for your score. What is the main reason? Please reply."
        BO: "སྐར་ཚད་སྤྲད་པར་ཐུགས་རྗེ་ཆེ། རྒྱུ་མཚན་གཙོ་བོ་གང་ཡིན་ནམ། ལན་འདེབས་རོགས།",
    },
    OutboundKind.CLARIFICATION: {
        ZH: "抱歉，我们没能看懂您的回复。请回复0到10的数字，10分为非常愿意推荐。",
        EN: "Sorry, we did not understand. Please reply with a number from 0 to 10.",
        # "Sorry, we did not understand the reply. Please reply a number from 0 to 10."
        BO: "དགོངས་དག ལན་གོ་མ་སོང་། ༠ ནས་༡༠ བར་གྱི་ཨང་གྲངས་ཤིག་ལན་དུ་འདེབས་རོགས།",
    },
    OutboundKind.OPT_OUT_CONFIRMATION: {
        ZH: "您已成功退订满意度调查短信，回复START可重新订阅。",
        EN: "You have been unsubscribed and will receive no more surveys. Reply START to rejoin.",
        # "The satisfaction survey SMS have stopped. To receive them again, reply START."
        BO: "ཚིམ་ཚད་ཞིབ་བཤེར་གྱི་འཕྲིན་ཐུང་མཚམས་བཞག་ཟིན། ཡང་བསྐྱར་ལེན་ན་START ལན་འདེབས་རོགས།",
    },
    OutboundKind.OPT_IN_CONFIRMATION: {
        ZH: "您已重新订阅满意度调查短信，回复TD可随时退订。",
        EN: "You are subscribed to our surveys again. Reply STOP to opt out at any time.",
        # "You will receive the satisfaction survey SMS again. To stop, reply TD."
        BO: "ཚིམ་ཚད་ཞིབ་བཤེར་གྱི་འཕྲིན་ཐུང་ཡང་བསྐྱར་ལེན་ཐུབ། མཚམས་འཇོག་ན་TD ལན་འདེབས་རོགས།",
    },
    OutboundKind.CARE: {
        ZH: "感谢您的反馈！我们会继续改进。关注官方公众号可随时查询话费和流量，办理业务更方便。",
        EN: "Thank you for your feedback! Tip: our app shows your balance and data at any time.",
        # "Thank you for your opinion. We will keep improving our service."
        BO: "ཁྱེད་ཀྱི་བསམ་འཆར་ལ་ཐུགས་རྗེ་ཆེ། ང་ཚོས་མུ་མཐུད་ནས་ཞབས་ཞུ་ལེགས་བཅོས་བྱེད་ངེས།",
    },
    OutboundKind.THANKS: {
        ZH: "感谢您的推荐！邀请亲友办理业务，双方均可获赠10GB流量，详询营业厅或客服热线。",
        EN: "Thank you! Invite a friend to join us and you both get 10 GB of data. "
        "Ask in any store or on the hotline.",
        # "Thank you for recommending us. Invite a friend and you both get 10 GB of data.
        # Ask in a store or by phone."
        BO: "འོས་སྦྱོར་བྱས་པར་ཐུགས་རྗེ་ཆེ། གྲོགས་པོ་གདན་འདྲེན་བྱས་ན་གཉིས་ཀར་གྲངས་གཞི་10GB ཐོབ། "
        "ཚོང་ཁང་ངམ་ཁ་པར་ལ་འདྲི་རོགས།",
    },
    # {hours}: whole hours until the case's first-contact due time (callback_hours).
    OutboundKind.CALLBACK_PROMISE: {
        ZH: "感谢您告诉我们原因。我们会在{hours}小时内联系您。",
        EN: "Thank you for telling us why. We will call you within {hours}.",
        # "Thank you for telling us the reason. We will call you within {hours} hours."
        BO: "རྒྱུ་མཚན་གསུངས་པར་ཐུགས་རྗེ་ཆེ། ང་ཚོས་ཆུ་ཚོད་{hours}ནང་དུ་ཁྱེད་ལ་ཁ་པར་གཏོང་ངེས།",
    },
    OutboundKind.HELP: {
        ZH: "这是服务满意度调查：请回复0到10的数字为我们打分。回复TD退订。",
        EN: "This is our service survey: reply with a number from 0 to 10. Reply STOP to opt out.",
        # "This is our service survey. Reply a number from 0 to 10. To stop, reply TD."
        BO: "འདི་ནི་ཞབས་ཞུའི་ཚིམ་ཚད་ཞིབ་བཤེར་ཡིན། ༠ ནས་༡༠ བར་གྱི་ཨང་གྲངས་ལན་དུ་འདེབས་རོགས། "
        "མཚམས་འཇོག་ན་TD ལན་འདེབས།",
    },
}


@dataclass(frozen=True)
class Text:
    text: str
    language: str


def with_opt_out_instruction(text: str, language: str) -> str:
    if any(marker in text.upper() for marker in _OPT_OUT_MARKERS):
        return text
    return f"{text.rstrip()} {OPT_OUT_INSTRUCTION.get(language, OPT_OUT_INSTRUCTION[EN])}"


def _texts(
    customer: Customer, survey: Survey | None, own: dict[str, str], defaults: dict[str, str]
) -> list[Text]:
    """One text per language the customer reads; the first falls back as it always has."""
    first, *others = customer.languages
    texts = [_first_text(first, survey, own, defaults)]
    for language in others:  # a second language is added only where a text exists for it
        text = own.get(language) or defaults.get(language)
        if text and language not in {t.language for t in texts}:
            texts.append(Text(text, language))
    return texts


def _first_text(
    language: str, survey: Survey | None, own: dict[str, str], defaults: dict[str, str]
) -> Text:
    for candidate in dict.fromkeys([language, survey.default_language if survey else ZH, EN]):
        text = own.get(candidate) or defaults.get(candidate)
        if text:
            return Text(text, candidate)
    return Text(defaults[EN], EN)


def survey_text(*, survey: Survey, customer: Customer) -> tuple[str, str]:
    """(text, language) of the survey question, with the opt-out instruction of each part."""
    own = {t.language: t.question for t in survey.texts.all() if t.question.strip()}
    texts = _texts(customer, survey, own, DEFAULT_QUESTIONS)
    parts = [with_opt_out_instruction(t.text, t.language) for t in texts]
    return PART_SEPARATOR.join(parts), texts[0].language


def survey_link_text(*, survey: Survey, customer: Customer, url: str) -> tuple[str, str]:
    """(text, language) of a link survey's SMS: each part carries the link and the opt-out
    instruction of its language (a part without {link} gets the link at its end)."""
    own = {t.language: t.link_message for t in survey.texts.all() if t.link_message.strip()}
    texts = _texts(customer, survey, own, DEFAULT_LINK_SMS)
    # Whether a part already names the opt-out is read without the link: a token may hold
    # "TD" by chance, and the instruction must not be left out because of it.
    parts = [
        with_opt_out_instruction(_with_link(t.text, LINK_STAND_IN), t.language).replace(
            LINK_STAND_IN, url
        )
        for t in texts
    ]
    return PART_SEPARATOR.join(parts), texts[0].language


LINK_STAND_IN = "\x00link\x00"  # holds no opt-out marker, never in a survey's text


def _with_link(text: str, url: str) -> str:
    # replace, not format: a survey's own text may hold other braces
    return text.replace("{link}", url) if "{link}" in text else f"{text.rstrip()} {url}"


def link_sms_example(text: str) -> str:
    """The text as sent with a link of typical length (the admin's length badge)."""
    base = (settings.NPS_PUBLIC_BASE_URL or "https://example.cn").rstrip("/")
    return _with_link(text, f"{base}/s/{'x' * 22}")


def _hours(hours: int, language: str) -> str:
    if language == EN:
        return "1 hour" if hours == 1 else f"{hours} hours"
    return str(hours)  # the unit is in the sentence: 小时, ཆུ་ཚོད་


def callback_hours(customer: Customer) -> int | None:
    """Whole hours until the customer's open case is due for its first call; None without one.

    The rule lives with the cases (settings.NPS_CALLBACK_HOURS names it: surveys does not
    import followups)."""
    hours: int | None = import_string(settings.NPS_CALLBACK_HOURS)(customer_id=customer.pk)
    return hours


def conversation_text(*, kind: str, customer: Customer, survey: Survey | None) -> Text:
    """A conversation message in the customer's language(s): the survey's text, else ours."""
    fields: dict[str, str] = {
        OutboundKind.FOLLOWUP_QUESTION: "followup_question",
        OutboundKind.CLARIFICATION: "clarification",
        OutboundKind.CARE: "care_message",
        OutboundKind.THANKS: "thanks_message",
        OutboundKind.CALLBACK_PROMISE: "callback_promise",
    }
    field = fields.get(kind)
    own = {}
    if survey is not None and field:
        own = {t.language: getattr(t, field) for t in survey.texts.all() if getattr(t, field)}
    texts = _texts(customer, survey, own, DEFAULTS[kind])
    if kind == OutboundKind.CALLBACK_PROMISE:
        hours = callback_hours(customer) or 1
        # replace, not format: a survey's own text may hold other braces
        texts = [
            Text(t.text.replace("{hours}", _hours(hours, t.language)), t.language) for t in texts
        ]
    return Text(PART_SEPARATOR.join(t.text for t in texts), texts[0].language)
