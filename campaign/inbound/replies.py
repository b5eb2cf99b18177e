"""The texts sent back to supporters, templated per appeal and language, within a segment budget.

Placeholders: ``{others}`` (people who signed besides this one), ``{count}`` (all signers),
``{person}`` and ``{title}`` of the appeal.  Numbers are grouped the way the language
groups them (12,344 in English, 12.344 in Dutch).

The budget, as the network counts segments (``campaign.messaging.segments``): a reply in a
language that GSM 03.38 writes (``GSM_LANGUAGES``) stays in GSM-7 and one segment (160
characters, ``€ [ ] { } ^ ~ | \\`` counting double; no "ê", "ú" or curly quotes, which would
make it UCS-2); a reply in another script (Arabic, Cyrillic, Chinese, Turkish's ş and ğ, ...)
may take two UCS-2 segments (134 characters), as 70 cannot hold the count and the opt-out
words.  ``tests/campaign/inbound/test_reply_budget.py`` fills every template in every
language with the largest counts and checks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from campaign.messaging.segments import fit as fit_segments
from campaign.messaging.segments import is_gsm, measure

SMS_LIMIT = 160
# Languages whose replies GSM 03.38's alphabet writes: one GSM-7 segment each.
GSM_LANGUAGES = frozenset({"en", "nl", "de", "fr", "es", "it", "sw", "da", "no", "sv"})
UCS2_REPLY_SEGMENTS = 2

FIRST = {
    "en": "Thank you! You are the first to stand with {person}. Reply STOP to opt out.",
    "nl": "Dank je! Jij bent de eerste die achter {person} staat. Antwoord STOP om af te melden.",
    "fr": "Merci ! Vous soutenez {person} en premier. Répondez STOP pour vous désabonner.",
}
ONE_OTHER = {
    "en": "Thank you! You and 1 other stand with {person}. Reply STOP to opt out.",
    "nl": "Dank je! Jij en 1 ander staan achter {person}. Antwoord STOP om af te melden.",
    "fr": "Merci ! Vous et 1 autre personne soutenez {person}. Répondez STOP pour vous désabonner.",
}
THANK_YOU = {
    "en": "Thank you! You and {others} others stand with {person}. Reply STOP to opt out.",
    "nl": "Dank je! Jij en {others} anderen staan achter {person}. Antwoord STOP om af te melden.",
    "fr": "Merci ! Vous et {others} autres soutenez {person}. Répondez STOP pour vous désabonner.",
    "es": "¡Gracias! Junto a otras {others} personas apoyas a {person}. Responde STOP para darte de baja.",
    "sw": "Asante! Wewe na wengine {others} mnamuunga mkono {person}. Jibu STOP kujiondoa.",
    "ar": "شكرا! أنت و{others} آخرون تقفون مع {person}. أرسل STOP لإلغاء الاشتراك.",
}
ALREADY_SIGNED = {
    "en": "You already stand with {person}, thank you! {count} people have signed so far.",
    "nl": "Je staat al achter {person}, dank je! Al {count} mensen hebben getekend.",
}
RECEIVED = {
    "en": "Thank you! Your support for {person} is received and will be counted.",
    "nl": "Dank je! Je steun voor {person} is ontvangen en wordt geteld.",
}
RECEIVED_PLAIN = {
    "en": "Thank you! Your message is received.",
    "nl": "Dank je! Je bericht is ontvangen.",
}
NO_APPEAL = {
    "en": "Thank you! There is no open appeal to sign right now. Reply JOIN to get our alerts.",
    "nl": "Dank je! Er is nu geen open oproep. Antwoord LID om onze oproepen te ontvangen.",
}
STOPPED = {
    "en": "You will get no more messages from us. Reply START to come back.",
    "nl": "Je ontvangt geen berichten meer van ons. Antwoord START om terug te komen.",
}
STARTED = {
    "en": "Welcome back! You will get our Urgent Action alerts again. Reply STOP to opt out.",
    "nl": "Welkom terug! Je ontvangt weer onze Urgent Action oproepen. Antwoord STOP om af te melden.",
}
JOINED = {
    "en": "Welcome to the Urgent Action SMS network! Reply JA to an alert to sign. STOP to opt out.",
    "nl": "Welkom bij het Urgent Action SMS-netwerk! Antwoord JA op een oproep om te tekenen. STOP om af te melden.",
}
HELP = {
    "en": "Urgent Action SMS: reply JA to sign the current appeal, JOIN for alerts, STOP to opt out.",
    "nl": "Urgent Action SMS: antwoord JA om de oproep te tekenen, LID voor oproepen, STOP om af te melden.",
}
UNKNOWN = {
    "en": "Sorry, we did not understand. Reply JA to sign, HELP for info, STOP to opt out.",
    "nl": "Sorry, dat begrepen we niet. Antwoord JA om te tekenen, INFO voor uitleg, STOP om af te melden.",
}


def group_digits(number: int, language: str) -> str:
    grouped = f"{number:,}"
    return grouped.replace(",", ".") if language in {"nl", "es", "sw"} else grouped


def budget(language: str | None) -> int:
    """Segments a reply in this language may take."""
    return 1 if language is None or language in GSM_LANGUAGES else UCS2_REPLY_SEGMENTS


def fit(text: str, language: str | None = None) -> str:
    """The text shortened, if it must be, to the language's segment budget."""
    return fit_segments(text, budget(language))


@dataclass(frozen=True, slots=True)
class AppealWords:
    """What a reply needs of an appeal."""

    person: str
    title: str
    language: str = "en"
    templates: dict[str, str] = field(default_factory=dict)


def _pick(table: dict[str, str], language: str) -> str:
    return table.get(language) or table["en"]


def thank_you(appeal: AppealWords, count: int, language: str | None) -> str:
    language = language or appeal.language
    template = appeal.templates.get(language) or appeal.templates.get("default")
    if not template:
        table = FIRST if count <= 1 else ONE_OTHER if count == 2 else THANK_YOU
        template = _pick(table, language)
    return _render(template, appeal, count, language)


def already_signed(appeal: AppealWords, count: int, language: str | None) -> str:
    language = language or appeal.language
    return _render(_pick(ALREADY_SIGNED, language), appeal, count, language)


def received(appeal: AppealWords, language: str | None) -> str:
    language = language or appeal.language
    return _render(_pick(RECEIVED, language), appeal, 0, language)


def plain(table: dict[str, str], language: str) -> str:
    return fit(_pick(table, language), language)


def _render(template: str, appeal: AppealWords, count: int, language: str) -> str:
    values = {
        "others": group_digits(max(count - 1, 0), language),
        "count": group_digits(count, language),
        "title": appeal.title,
    }
    # The person's name is shortened first when the text would not fit its budget.
    person = appeal.person or appeal.title
    most = budget(language)
    text = template.format(person=person, **values)
    if measure(text).segments > most and len(person) > 1:
        ellipsis = "..." if is_gsm(text) else "…"  # "…" is not in GSM 03.38
        low, high = 1, len(person) - 1  # the longest name that fits, by bisection
        while low < high:
            middle = (low + high + 1) // 2
            shorter = template.format(person=person[:middle].rstrip() + ellipsis, **values)
            if measure(shorter).segments <= most:
                low = middle
            else:
                high = middle - 1
        text = template.format(person=person[:low].rstrip() + ellipsis, **values)
    return fit(text, language)
