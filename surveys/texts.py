"""The words we send: per language, chosen by the customer's preference.

A survey's own texts (SurveyText) win; these defaults fill any gap. Tibetan (bo) is
used where a survey provides it; otherwise the survey's default language. Every survey
question carries the opt-out instruction of its language.
"""

from dataclasses import dataclass

from surveys.models import Customer, Language, OutboundKind, Survey

ZH, EN = Language.ZH_HANS, Language.EN

DEFAULT_QUESTIONS = {
    ZH: "您好！您有多大可能向亲友推荐我们的服务？请回复0到10的数字（10分为非常可能）。",
    EN: "How likely are you to recommend us to a friend, from 0 to 10? "
    "Reply with a number (10 = very likely).",
}
OPT_OUT_INSTRUCTION = {ZH: "回复TD退订", EN: "Reply STOP to opt out"}
# Markers that show a text already tells how to opt out.
_OPT_OUT_MARKERS = ("TD", "STOP", "退订", "退訂")

DEFAULTS: dict[str, dict[str, str]] = {
    OutboundKind.FOLLOWUP_QUESTION: {
        ZH: "感谢您的评分！请问主要是什么原因让您给出这个分数？直接回复即可。",
        EN: "Thank you! What is the main reason for your score? Just reply to this message.",
    },
    OutboundKind.CLARIFICATION: {
        ZH: "抱歉，我们没能看懂您的回复。请回复0到10的数字，10分为非常愿意推荐。",
        EN: "Sorry, we did not understand. Please reply with a number from 0 to 10.",
    },
    OutboundKind.OPT_OUT_CONFIRMATION: {
        ZH: "您已成功退订满意度调查短信，回复START可重新订阅。",
        EN: "You have been unsubscribed and will receive no more surveys. Reply START to rejoin.",
    },
    OutboundKind.OPT_IN_CONFIRMATION: {
        ZH: "您已重新订阅满意度调查短信，回复TD可随时退订。",
        EN: "You are subscribed to our surveys again. Reply STOP to opt out at any time.",
    },
    OutboundKind.CARE: {
        ZH: "感谢您的反馈！我们会继续改进。关注官方公众号可随时查询话费和流量，办理业务更方便。",
        EN: "Thank you for your feedback! Tip: our app shows your balance and data at any time.",
    },
    OutboundKind.THANKS: {
        ZH: "感谢您的推荐！邀请亲友办理业务，双方均可获赠10GB流量，详询营业厅或客服热线。",
        EN: "Thank you! Invite a friend to join us and you both get 10 GB of data. "
        "Ask in any store or on the hotline.",
    },
    OutboundKind.HELP: {
        ZH: "这是服务满意度调查：请回复0到10的数字为我们打分。回复TD退订。",
        EN: "This is our service survey: reply with a number from 0 to 10. Reply STOP to opt out.",
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


def _languages(customer: Customer, survey: Survey | None) -> list[str]:
    order = [customer.language, survey.default_language if survey else ZH, EN]
    return list(dict.fromkeys(order))


def survey_text(*, survey: Survey, customer: Customer) -> tuple[str, str]:
    """(text, language) of the survey question, with the opt-out instruction."""
    own = {t.language: t.question for t in survey.texts.all() if t.question.strip()}
    for language in _languages(customer, survey):
        text = own.get(language) or DEFAULT_QUESTIONS.get(language)
        if text:
            return with_opt_out_instruction(text, language), language
    return with_opt_out_instruction(DEFAULT_QUESTIONS[EN], EN), EN


def conversation_text(*, kind: str, customer: Customer, survey: Survey | None) -> Text:
    """A conversation message in the customer's language: the survey's text, else ours."""
    field = {
        OutboundKind.FOLLOWUP_QUESTION: "followup_question",
        OutboundKind.CLARIFICATION: "clarification",
        OutboundKind.CARE: "care_message",
        OutboundKind.THANKS: "thanks_message",
    }.get(kind)
    own = {}
    if survey is not None and field:
        own = {t.language: getattr(t, field) for t in survey.texts.all() if getattr(t, field)}
    for language in _languages(customer, survey):
        text = own.get(language) or DEFAULTS[kind].get(language)
        if text:
            return Text(text, language)
    return Text(DEFAULTS[kind][EN], EN)
