"""The survey page's words, in the customer's languages (surveys/links.py shows them).

Like the SMS texts (surveys/texts.py) these follow the customer, not the staff's interface
language: Chinese, English and Tibetan are written here, each Tibetan line with its
meaning in English. A Tibetan page shows every line in Tibetan with the Chinese under it,
as a bilingual SMS does. Reason chips carry the taxonomy's names (Chinese or English);
the seeded categories have a Tibetan name here, others show their Chinese name.
"""

from dataclasses import dataclass

from surveys.models import Language, ReasonCategory, Scale

ZH, EN, BO = Language.ZH_HANS, Language.EN, Language.BO
PAGE_LANGUAGES: tuple[str, ...] = (ZH, BO, EN)
# What the language switch shows, each in its own script.
LANGUAGE_NAMES: dict[str, str] = {ZH: "中文", BO: "བོད་ཡིག", EN: "English"}
# A Tibetan page repeats each line in Chinese.
PAGE_PARTS: dict[str, tuple[str, ...]] = {ZH: (ZH,), EN: (EN,), BO: (BO, ZH)}

WORDS: dict[str, dict[str, str]] = {
    "title": {
        ZH: "服务满意度调查",
        EN: "Customer survey",
        BO: "ཞབས་ཞུའི་ཚིམ་ཚད་ཞིབ་བཤེར།",  # "Service satisfaction survey"
    },
    "question_nps": {
        ZH: "您有多大可能向亲友推荐我们的服务？",
        EN: "How likely are you to recommend us to a friend or relative?",
        BO: "ང་ཚོའི་ཞབས་ཞུ་གྲོགས་པོར་འོས་སྦྱོར་བྱེད་སྲིད་དམ།",  # "Would you recommend our service to a friend?"
    },
    "question_satisfaction": {
        ZH: "您对我们的服务满意吗？请打分（1到10分）。",
        EN: "How satisfied are you with our service, from 1 to 10?",
        BO: "ང་ཚོའི་ཞབས་ཞུར་ཚིམ་ཚད་ག་ཚོད་ཡོད། ༡ ནས་༡༠ བར།",  # "How satisfied with our service? 1 to 10."
    },
    "low": {
        ZH: "完全不可能",
        EN: "not at all likely",
        BO: "གཏན་ནས་མི་སྲིད།",  # "not at all possible"
    },
    "high": {
        ZH: "非常可能",
        EN: "extremely likely",
        BO: "ངེས་པར་དུ།",  # "surely"
    },
    "low_satisfaction": {
        ZH: "非常不满意",
        EN: "very dissatisfied",
        BO: "ཧ་ཅང་མི་ཚིམ།",  # "very unsatisfied"
    },
    "high_satisfaction": {
        ZH: "非常满意",
        EN: "very satisfied",
        BO: "ཧ་ཅང་ཚིམ།",  # "very satisfied"
    },
    "reasons": {
        ZH: "主要和什么有关？（可多选，选填）",
        EN: "What is it mostly about? (optional, choose any)",
        BO: "རྒྱུ་མཚན་གཙོ་བོ་གང་ཡིན་ནམ།",  # "What is the main reason?"
    },
    "comment": {
        ZH: "还有什么想告诉我们的吗？（选填）",
        EN: "Anything else you would like to tell us? (optional)",
        BO: "ཁྱེད་ཀྱི་བསམ་འཆར།",  # "Your opinion"
    },
    "submit": {
        ZH: "提交",
        EN: "Send",
        BO: "ཕུལ།",  # "Submit"
    },
    "choose_score": {
        ZH: "请选择一个分数。",
        EN: "Please choose a number.",
        BO: "ཨང་གྲངས་ཤིག་འདེམས་རོགས།",  # "Please choose a number."
    },
    "thanks": {
        ZH: "感谢您的反馈！",
        EN: "Thank you for your answer!",
        BO: "ཐུགས་རྗེ་ཆེ།",  # "Thank you."
    },
    "thanks_detail": {
        ZH: "您的评价已收到，我们会认真改进。",
        EN: "We have received it and will use it to do better.",
        BO: "ཁྱེད་ཀྱི་ལན་འབྱོར་སོང་།",  # "Your answer has arrived."
    },
    "answered": {
        ZH: "您已完成本次调查，感谢参与！",
        EN: "You have already answered this survey. Thank you!",
        BO: "ཞིབ་བཤེར་འདིར་ལན་བཏབ་ཟིན། ཐུགས་རྗེ་ཆེ།",  # "Already answered. Thank you."
    },
    "closed": {
        ZH: "本次调查已结束。",
        EN: "This survey is closed.",
        BO: "ཞིབ་བཤེར་འདི་མཇུག་རྫོགས་སོང་།",  # "This survey has ended."
    },
    "not_found": {
        ZH: "链接无效或已过期。",
        EN: "This link is not valid or has expired.",
        BO: "འབྲེལ་མཐུད་འདི་ནུས་མེད་དམ་དུས་ཚོད་ཡོལ་སོང་།",  # "Link invalid or expired."
    },
    "too_many": {
        ZH: "请求过于频繁，请一分钟后再试。",
        EN: "Too many requests. Please try again in a minute.",
        BO: "ཅུང་ཙམ་སྒུག་ནས་ཡང་བསྐྱར་ཚོད་ལྟ་བྱེད་རོགས།",  # "Wait a little and try again."
    },
}

# The seeded taxonomy's categories in Tibetan (surveys/migrations/0003).
REASON_NAMES_BO = {
    "network": "དྲ་རྒྱ་དང་བརྡ་རྟགས།",  # "Network and signal"
    "billing": "གླ་ཆ་དང་རྩིས་ཐོ།",  # "Charges and bill"
    "attitude": "ཞབས་ཞུའི་ཀུན་སྤྱོད།",  # "Service conduct"
    "waiting": "སྒུག་པའི་དུས་ཚོད།",  # "Waiting time"
    "process": "ལས་རིམ་རྙོག་འཛིང་།",  # "Complicated procedure"
    "product": "ཐོན་རྫས་དང་APP",  # "Product and app"
    "other": "གཞན།",  # "Other"
}


@dataclass(frozen=True)
class Part:
    """One line of a word as shown: its text and its language (the HTML lang attribute)."""

    text: str
    lang: str


def page_language(requested: str, customer_languages: tuple[str, ...]) -> str:
    """The page's language: the switch's choice, else the customer's first language."""
    if requested in PAGE_LANGUAGES:
        return requested
    first = customer_languages[0] if customer_languages else ZH
    return first if first in PAGE_LANGUAGES else ZH


def words(language: str, scale: str = Scale.NPS) -> dict[str, list[Part]]:
    """Every word of the page in the page's language(s), keyed as WORDS is, with the
    scale's own question and end labels under "question", "low" and "high"."""
    keys = {key: key for key in WORDS}
    if scale == Scale.SATISFACTION:
        keys |= {"question": "question_satisfaction", "low": "low_satisfaction",
                 "high": "high_satisfaction"}  # fmt: skip
    else:
        keys["question"] = "question_nps"
    return {
        name: [Part(WORDS[key][lang], lang) for lang in PAGE_PARTS[language]]
        for name, key in keys.items()
    }


def reason_parts(category: ReasonCategory, language: str) -> list[Part]:
    """A reason chip's label in the page's language(s)."""
    parts = []
    for lang in PAGE_PARTS[language]:
        if lang == BO:
            if name := REASON_NAMES_BO.get(category.code):
                parts.append(Part(name, BO))
        else:
            parts.append(Part(category.label(lang), lang))
    return parts
