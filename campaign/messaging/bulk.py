"""A bulk text (an alert, an outcome message) in its languages, measured, and queued.

The lead gives the appeal's own text and, optionally, translations (ISO 639-1 code -> text).
Each supporter gets the version in their ``supporters.language`` when the lead gave one,
else the appeal's own text.  Every version is measured as the network bills it
(``campaign.messaging.segments``) and may use at most ``max_segments`` segments
(``CAMPAIGN_ALERT_MAX_SEGMENTS``).  The preview counts recipients and segments per version;
queuing is still one ``INSERT ... SELECT`` in which a ``CASE`` on the supporter's language
picks the body, its language and its segments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pycountry
from sqlalchemy import Connection, Select

from campaign.errors import BadRequest
from campaign.messaging import outbox
from campaign.messaging.segments import Measure, forcing_text, measure


@dataclass(frozen=True)
class Version:
    """One language's text and who gets it."""

    language: str | None  # None: the appeal's own text, for everyone without a translation
    body: str
    measure: Measure
    recipients: int

    @property
    def segments(self) -> int:
        """Segments for all its recipients."""
        return self.measure.segments * self.recipients

    @property
    def label(self) -> str:
        return self.language or "appeal's own text"


@dataclass(frozen=True)
class BulkText:
    body: str  # the appeal's own text
    language: str  # the language the appeal's own text is written in
    translations: dict[str, str]  # ISO 639-1 code -> the lead's translation
    versions: tuple[Version, ...]  # the appeal's own text first, then by language
    by_language: dict[str | None, int]  # recipients by their language (None: not known)

    @property
    def recipients(self) -> int:
        return sum(v.recipients for v in self.versions)

    @property
    def segments(self) -> int:
        return sum(v.segments for v in self.versions)


def language_code(code: str) -> str:
    """An ISO 639-1 code, checked: ``FR`` -> ``fr``; an unknown one is a clear error."""
    cleaned = code.strip().lower()
    if len(cleaned) != 2 or not cleaned.isalpha() or pycountry.languages.get(alpha_2=cleaned) is None:
        raise BadRequest(f"unknown language code {code.strip()!r}: use a two-letter ISO 639-1 code, e.g. fr")
    return cleaned


def check_body(body: str, max_segments: int, what: str = "the text", empty_hint: str = "") -> str:
    """The text with its white space made single, refused when empty or over the segment budget."""
    text = " ".join(body.split())
    if not text:
        raise BadRequest(f"{what} is empty{empty_hint}")
    found = measure(text)
    if found.segments > max_segments:
        why = f"; {found.encoding} because of {forcing_text(found.forcing)}" if found.forcing else ""
        raise BadRequest(
            f"{what} needs {found.segments} SMS segments ({found.encoding}, {found.characters} "
            f"characters{why}); at most {max_segments} allowed "
            f"({found.single_limit} characters in {found.encoding}; CAMPAIGN_ALERT_MAX_SEGMENTS)"
        )
    return text


_TRANSLATION = re.compile(r"^\s*([^\s:=]+)\s*[:=]\s*(.*?)\s*$", re.DOTALL)


def parse_translations(items: Sequence[str], how: str = 'LANG="text"') -> dict[str, str]:
    """``fr=Libérez Hassan`` or ``fr: Libérez Hassan`` items as language -> text, codes checked."""
    found: dict[str, str] = {}
    for item in items:
        if not item.strip():
            continue
        matched = _TRANSLATION.match(item)
        if matched is None:
            raise BadRequest(f"translation {item.strip()[:40]!r}: write it as {how}, e.g. fr=Libérez Hassan")
        language = language_code(matched.group(1))
        if language in found:
            raise BadRequest(f"two translations for {language!r}; give each language once")
        found[language] = matched.group(2)
    return found


def check_translations(translations: Mapping[str, str] | None, max_segments: int) -> dict[str, str]:
    checked: dict[str, str] = {}
    for code, body in (translations or {}).items():
        language = language_code(code)
        if language in checked:
            raise BadRequest(f"two translations for {language!r}; give each language once")
        checked[language] = check_body(body, max_segments, f"the {language!r} translation")
    return dict(sorted(checked.items()))


def plan(
    body: str, language: str, translations: Mapping[str, str], by_language: Mapping[str | None, int]
) -> BulkText:
    """The versions and their recipients, given the recipients counted by their language."""
    own = sum(n for code, n in by_language.items() if code not in translations)
    versions = [Version(None, body, measure(body), own)]
    versions += [
        Version(code, text, measure(text), by_language.get(code, 0)) for code, text in translations.items()
    ]
    return BulkText(body, language, dict(translations), tuple(versions), dict(by_language))


def queue(
    connection: Connection,
    recipients: Select[int, str | None],
    text: BulkText,
    *,
    kind: str,
    appeal_id: int,
    batch: str,
    dedupe_prefix: str,
) -> int:
    """Queue each recipient's version: ``recipients`` selects supporter id and language."""
    return outbox.queue_batch(
        connection,
        recipients,
        kind=kind,
        appeal_id=appeal_id,
        batch=batch,
        dedupe_prefix=dedupe_prefix,
        body=text.body,
        language=text.language,
        segments=measure(text.body).segments,
        translations={code: (body, measure(body).segments) for code, body in text.translations.items()},
    )


def audit_detail(text: BulkText) -> dict[str, object]:
    """What the audit log keeps of the text: the versions and their segments, no numbers."""
    return {
        "text": text.body,
        "segments": measure(text.body).segments,
        "translations": {code: body for code, body in text.translations.items()},
    }
