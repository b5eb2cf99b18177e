"""Opt-out first and the supporter's language, through the write path on both backends.

Each table is texts -> what they did (opted out, signed, joined, help, language set), the
reply's language and the language stored in ``supporters.language`` (what alerts read).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from sqlalchemy import Row, func, select, update

from campaign.appeals import registry as appeals
from campaign.inbound import replies
from campaign.inbound.keywords import Intent
from campaign.inbound.message import InboundSms
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage.models import Appeal, OutboxMessage, Signature, Supporter

_ids = itertools.count()
AT = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)  # a fixed moment: nothing depends on the clock

NL, DE, FR, ES, BR, IT = (
    "+31612345678",
    "+4915112345678",
    "+33612345678",
    "+34612345678",
    "+5511912345678",
    "+393123456789",
)
KE, MA, RU, CN, TR, PL = (
    "+254712345678",
    "+212612345678",
    "+79161234567",
    "+8613812345678",
    "+905321234567",
    "+48512345678",
)


def sms(rt: Runtime, sender: str, text: str) -> InboundSms:
    return InboundSms(
        provider="twilio",
        message_id=f"SMw{next(_ids):08d}",
        sender=rt.vault.sender(sender),
        short_code="4777",
        text=text,
        received_at=AT,
    )


def supporter(rt: Runtime, number: str) -> Row[int, bool, bool, str | None]:
    """The stored id, opt-out, subscription and language of a number's supporter."""
    with rt.engine.connect() as connection:
        return connection.execute(
            select(Supporter.id, Supporter.opted_out, Supporter.subscribed, Supporter.language).where(
                Supporter.phone_hash == rt.vault.sender(number).phone_hash
            )
        ).one()


def signatures(rt: Runtime) -> int:
    with rt.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Signature)) or 0)


@pytest.fixture
def free(runtime: Runtime, hassan: object) -> None:
    """The issue's appeal: keyword FREE, featured on 4777 (a bare JA signs it)."""
    summary = appeals.add_appeal(
        runtime.engine,
        slug="free",
        title="Free them",
        campaign="free",
        person="them",
        keywords=["FREE"],
        feature_on="4777",
    )
    runtime.live.publish_appeal(summary.public())


# -- opt-out first ------------------------------------------------------------------------------
# sender, text, language of the confirmation
OPT_OUTS = [
    (NL, "not FREE, stop texting me", "nl"),  # the case: FREE is a keyword, STOP wins
    (NL, "JA FREE stop", "nl"),
    (NL, "STOP", "nl"),
    (DE, "Stopp", "de"),
    (FR, "oui ARRÊT", "fr"),
    (ES, "BAJA", "es"),
    (ES, "alto", "es"),
    (NL, "ALTO", "es"),  # the word's language for its confirmation
    (BR, "PARAR", "pt"),  # PARAR is es and pt: the supporter's language, from their number
    (ES, "parar", "es"),
    (IT, "Sì cancella", "it"),
    (KE, "ACHA", "sw"),
    (KE, "ndio FREE acha", "sw"),
    (MA, "توقف", "ar"),
    (MA, "نعم FREE توقف", "ar"),
    (RU, "СТОП", "ru"),
    (RU, "да, стоп", "ru"),
    (CN, "停止", "zh"),
    (CN, "是的请停止发送", "zh"),
    (TR, "evet RET", "tr"),
    (PL, "TAK wypisz", "pl"),
    (NL, "ＳＴＯＰ", "nl"),
]


@pytest.mark.usefixtures("free")
@pytest.mark.parametrize(("sender", "text", "language"), OPT_OUTS)
def test_an_opt_out_word_opts_out_and_never_counts(
    runtime: Runtime, sender: str, text: str, language: str
) -> None:
    result = runtime.recorder.record([sms(runtime, sender, text)])
    outcome = result.outcomes[0]
    assert (outcome.intent, outcome.counted) == (Intent.STOP, False)
    assert outcome.reply == replies.STOPPED[language]
    assert signatures(runtime) == 0
    assert not result.changes.signed and "free" not in result.changes.tallies
    stored = supporter(runtime, sender)
    assert (stored.opted_out, stored.subscribed) == (True, False)


@pytest.mark.usefixtures("free")
def test_opt_outs_in_a_batch_count_nothing_while_the_yes_beside_them_counts(runtime: Runtime) -> None:
    batch = [
        sms(runtime, NL, "not FREE, stop texting me"),
        sms(runtime, KE, "ndio acha"),
        sms(runtime, FR, "oui"),
    ]
    outcomes = runtime.recorder.record(batch).outcomes
    assert [(o.intent, o.counted) for o in outcomes] == [
        (Intent.STOP, False),
        (Intent.STOP, False),
        (Intent.SIGN, True),
    ]
    assert signatures(runtime) == 1


# -- the supporter's language -------------------------------------------------------------------
# sender, texts in order, intent of the last, language stored after, the reply to the last
LANGUAGE_CASES = [
    (NL, ["JA"], Intent.SIGN, "nl", "Dank je! Jij bent de eerste"),  # JA is nl and de: the number's
    (DE, ["JA"], Intent.SIGN, "de", "Danke! Du bist die erste Person"),
    (NL, ["OUI"], Intent.SIGN, "fr", "Merci ! Vous soutenez"),
    (NL, ["OUI", "JA"], Intent.SIGN, "fr", "Vous soutenez déjà"),  # JA names no language: kept
    (NL, ["OUI", "YES"], Intent.SIGN, "en", "You already stand with"),
    (KE, ["hassan"], Intent.SIGN, "sw", "Asante! Wewe ni wa kwanza"),
    (MA, ["JA"], Intent.SIGN, "ar", "شكرا! أنت أول"),
    (RU, ["да"], Intent.SIGN, "ru", "Спасибо! Вы первым"),
    (NL, ["是的"], Intent.SIGN, "zh", "谢谢！你是第一个"),
    (NL, ["Sí"], Intent.SIGN, "es", "¡Gracias! Eres la primera"),
    (NL, ["Sì"], Intent.SIGN, "it", "Grazie! Sei la prima"),
    (NL, ["si"], Intent.SIGN, "nl", "Dank je!"),  # es or it: the number's language
    (NL, ["evet"], Intent.SIGN, "tr", "Teşekkürler!"),
    (NL, ["tak"], Intent.SIGN, "pl", "Dziękujemy!"),
    (NL, ["sim"], Intent.SIGN, "pt", "Obrigado!"),
    (NL, ["LID"], Intent.JOIN, "nl", "Welkom bij het Urgent Action SMS-netwerk"),
    (FR, ["JOIN"], Intent.JOIN, "en", "Welcome to the Urgent Action SMS network"),
    (KE, ["jiunge"], Intent.JOIN, "sw", "Karibu kwenye mtandao"),
    (NL, ["help"], Intent.HELP, "nl", "Urgent Action SMS: antwoord JA"),  # HELP is nl and en
    (NL, ["OUI", "help"], Intent.HELP, "fr", "SMS Action urgente"),
    (NL, ["aide"], Intent.HELP, "nl", "SMS Action urgente"),  # a help word answers in its language only
    (NL, ["LANGUE FR"], Intent.LANGUAGE, "fr", replies.LANGUAGE_SET["fr"]),
    (NL, ["OUI", "TAAL NL"], Intent.LANGUAGE, "nl", replies.LANGUAGE_SET["nl"]),
    (KE, ["LANG EN"], Intent.LANGUAGE, "en", replies.LANGUAGE_SET["en"]),
    (NL, ["FR"], Intent.LANGUAGE, "fr", replies.LANGUAGE_SET["fr"]),
    (NL, ["Sprache Deutsch"], Intent.LANGUAGE, "de", replies.LANGUAGE_SET["de"]),
    (NL, ["idioma español"], Intent.LANGUAGE, "es", replies.LANGUAGE_SET["es"]),
    (NL, ["ЯЗЫК RU"], Intent.LANGUAGE, "ru", replies.LANGUAGE_SET["ru"]),
    (NL, ["语言中文"], Intent.LANGUAGE, "zh", replies.LANGUAGE_SET["zh"]),
    (NL, ["LANGUE FR", "JA"], Intent.SIGN, "fr", "Merci ! Vous soutenez"),
    (NL, ["LANG XY"], Intent.LANGUAGE, "nl", "Sorry, de taal 'XY' kennen we niet"),
    (FR, ["langue klingon"], Intent.LANGUAGE, "fr", "nous ne connaissons pas la langue 'KLINGON'"),
    (NL, ["lang"], Intent.LANGUAGE, "nl", "Sorry, de taal '' kennen we niet"),
    (NL, ["what?"], Intent.UNKNOWN, "nl", "Sorry, dat begrepen we niet"),
    (KE, ["what?"], Intent.UNKNOWN, "sw", "Samahani, hatukuelewa"),
    (NL, ["OUI", "STOP"], Intent.STOP, "fr", replies.STOPPED["fr"]),
    (NL, ["OUI", "СТОП"], Intent.STOP, "fr", replies.STOPPED["ru"]),  # stored stays: only the reply
    (NL, ["STOP", "START"], Intent.START, "nl", replies.STARTED["nl"]),
    (RU, ["СТОП", "СТАРТ"], Intent.START, "ru", replies.STARTED["ru"]),
]


@pytest.mark.usefixtures("hassan")
@pytest.mark.parametrize(("sender", "texts", "intent", "stored", "reply"), LANGUAGE_CASES)
def test_the_supporters_language(
    runtime: Runtime, sender: str, texts: list[str], intent: Intent, stored: str, reply: str
) -> None:
    for text in texts:
        outcome = runtime.recorder.record([sms(runtime, sender, text)]).outcomes[0]
    assert outcome.intent is intent
    assert outcome.reply is not None and reply in outcome.reply, outcome.reply
    assert supporter(runtime, sender).language == stored


@pytest.mark.usefixtures("hassan")
def test_texts_of_one_sender_in_one_batch_apply_in_order(runtime: Runtime) -> None:
    outcomes = runtime.recorder.record(
        [sms(runtime, NL, "OUI"), sms(runtime, NL, "TAAL NL"), sms(runtime, NL, "help")]
    ).outcomes
    assert [o.intent for o in outcomes] == [Intent.SIGN, Intent.LANGUAGE, Intent.HELP]
    assert outcomes[0].reply is not None and outcomes[0].reply.startswith("Merci")
    assert outcomes[2].reply is not None and outcomes[2].reply.startswith("Urgent Action SMS: antwoord")
    assert supporter(runtime, NL).language == "nl"


def test_a_reply_without_our_version_in_the_language_is_the_appeals_own(runtime: Runtime) -> None:
    summary = appeals.add_appeal(
        runtime.engine,
        slug="fr-appeal",
        title="Libérez-le",
        campaign="fr",
        person="Karim",
        keywords=["KARIM"],
        feature_on="4777",
    )
    with runtime.engine.begin() as connection:
        connection.execute(update(Appeal).where(Appeal.slug == summary.slug).values(language="fr"))
    # An Indian number: Hindi, which has no version of our texts.
    outcome = runtime.recorder.record([sms(runtime, "+919812345678", "karim")]).outcomes[0]
    assert supporter(runtime, "+919812345678").language == "hi"
    assert outcome.reply is not None and outcome.reply.startswith("Merci ! Vous soutenez")


@pytest.mark.parametrize("settings_delay", [60.0])
def test_a_queued_thank_you_carries_the_supporters_language(
    settings: Settings, settings_delay: float, hassan: object
) -> None:
    rt = Runtime.open(settings.model_copy(update={"thank_you_delay": settings_delay}), migrate=False)
    try:
        rt.recorder.record([sms(rt, KE, "hassan"), sms(rt, NL, "OUI"), sms(rt, RU, "LANG FR")])
        rt.recorder.record([sms(rt, RU, "HASSAN")])
        with rt.engine.connect() as connection:
            queued = dict(
                connection.execute(select(OutboxMessage.supporter_id, OutboxMessage.language)).all()
            )
        languages = {supporter(rt, n).id: lang for n, lang in ((KE, "sw"), (NL, "fr"), (RU, "fr"))}
        assert queued == languages
    finally:
        rt.close()


def test_extra_words_come_from_the_settings(settings: Settings, hassan: object) -> None:
    extra = {"stop": {"nl": ["KAPPEN"]}, "yes": {"hi": ["HAAN"]}}
    rt = Runtime.open(settings.model_copy(update={"extra_keywords": extra}), migrate=False)
    try:
        outcomes = rt.recorder.record([sms(rt, NL, "haan"), sms(rt, DE, "JA, nu kappen")]).outcomes
        assert [(o.intent, o.counted) for o in outcomes] == [(Intent.SIGN, True), (Intent.STOP, False)]
        assert supporter(rt, NL).language == "hi"
        assert supporter(rt, DE).opted_out
    finally:
        rt.close()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"stopp": {"nl": ["KAPPEN"]}}', "unknown kind 'stopp'"),
        ('{"stop": {"xx": ["KAPPEN"]}}', "'xx' is not an ISO 639-1 language code"),
        ('{"stop": {"nl": [" "]}}', "an empty word for stop in nl"),
        ('{"stop": ["KAPPEN"]}', "CAMPAIGN_EXTRA_KEYWORDS"),
    ],
)
def test_bad_extra_words_are_a_clear_configuration_error(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    from campaign.errors import ConfigurationError

    monkeypatch.setenv("CAMPAIGN_EXTRA_KEYWORDS", value)
    with pytest.raises(ConfigurationError, match=message):
        Settings.load(_env_file=None)


def test_extra_words_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMPAIGN_EXTRA_KEYWORDS", '{"stop": {"NL": [" kappen "]}}')
    assert Settings.load(_env_file=None).extra_keywords == {"stop": {"nl": ["kappen"]}}
