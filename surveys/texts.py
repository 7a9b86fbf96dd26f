"""The words we send: per language, chosen by the customer's preference."""

from surveys.models import Customer, Language, Survey

# Used when a survey has no text of its own in any usable language.
DEFAULT_QUESTIONS = {
    Language.ZH_HANS: "您好！您对本次服务满意吗？您有多大可能向亲友推荐我们？"
    "请回复0到10的数字（10分为非常可能）。回复TD退订",
    Language.EN: "How likely are you to recommend us to a friend, from 0 to 10? "
    "Reply with a number (10 = very likely). Reply STOP to opt out",
    Language.BO: "ང་ཚོའི་ཞབས་ཞུ་ལ་ཁྱེད་ཀྱིས་ 0 ནས་ 10 བར་གྱི་སྐར་མ་གང་སྤྲོད་དམ། "
    "Reply 0-10. Reply STOP to opt out",
}


def survey_text(*, survey: Survey, customer: Customer) -> tuple[str, str]:
    """(text, language): the customer's language, else the survey's default, else English."""
    texts = {t.language: t.question for t in survey.texts.all()}
    for language in (customer.language, survey.default_language):
        if language in texts:
            return texts[language], language
    for language in (customer.language, survey.default_language, Language.EN):
        if language in DEFAULT_QUESTIONS:
            return DEFAULT_QUESTIONS[language], language
    return DEFAULT_QUESTIONS[Language.EN], Language.EN
