"""The one table of the words supporters text, per language, with where each language's words come from.

Kinds of word:

- ``stop``: opts out. Found ANYWHERE in a text, as a whole word (or, for a word of several
  words, as those words in a row); wins over everything else in the text.
- ``start``: opts back in; ``help``: how it works; ``join``: subscribes to the network.
  These, like the yes-words, are read from the text's first word.
- ``yes``: the yes-words whose language is known (what signs is ``CAMPAIGN_YES_WORDS``).
- ``language``: the words that open a language keyword (``TAAL NL``, ``LANGUE FR``).

Words are written as supporters would write them; matching folds case, accents, width and
look-alike letters of other scripts (``campaign.inbound.keywords.fold``), so ``ARRÊT`` also
matches ``arret`` and ``ＳＴＯＰ``.  Chinese has no spaces between words: a Chinese word
matches anywhere in the text (``请停止发送`` holds ``停止``).  A word listed under several
languages (``STOP``, ``JA``, ``SI``) names none of them; one listed under one language names it.

The table grows without code through ``CAMPAIGN_EXTRA_KEYWORDS`` (see docs/settings.md).
docs/messaging.md lists these words; a test keeps the two equal.
"""

from __future__ import annotations

KINDS = ("stop", "start", "help", "join", "yes", "language")

# language -> kind -> words.  Keep docs/messaging.md ("Words per language") in step.
WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "stop": (
            "STOP",
            "STOPALL",
            "STOP ALL",
            "UNSUBSCRIBE",
            "CANCEL",
            "END",
            "QUIT",
            "OPTOUT",
            "OPT OUT",
            "REVOKE",
        ),
        "start": ("START", "UNSTOP", "RESUME"),
        "help": ("HELP", "INFO"),
        "join": ("JOIN",),
        "yes": ("YES",),
        "language": ("LANG", "LANGUAGE"),
    },
    "nl": {
        "stop": ("STOP", "AFMELDEN", "UITSCHRIJVEN", "OPZEGGEN"),
        "start": ("START", "AANMELDEN"),
        "help": ("HULP", "HELP", "INFO"),
        "join": ("LID",),
        "yes": ("JA",),
        "language": ("TAAL",),
    },
    "de": {
        "stop": ("STOP", "STOPP", "ABMELDEN", "ABBESTELLEN"),
        "start": ("START", "ANMELDEN"),
        "help": ("HILFE", "INFO"),
        "join": ("MITMACHEN",),
        "yes": ("JA",),
        "language": ("SPRACHE",),
    },
    "fr": {
        "stop": ("STOP", "ARRÊT", "DÉSABONNER", "DÉSINSCRIRE"),
        "start": ("START", "REPRENDRE"),
        "help": ("AIDE", "INFO"),
        "join": ("REJOINDRE",),
        "yes": ("OUI",),
        "language": ("LANGUE",),
    },
    "es": {
        "stop": ("STOP", "BAJA", "ALTO", "PARAR", "CANCELAR"),
        "start": ("START", "ALTA"),
        "help": ("AYUDA", "INFO"),
        "join": ("UNIRME",),
        "yes": ("SÍ", "SI"),
        "language": ("IDIOMA",),
    },
    "pt": {
        "stop": ("STOP", "PARAR", "SAIR", "CANCELAR", "DESCADASTRAR"),
        "start": ("START", "VOLTAR"),
        "help": ("AJUDA", "INFO"),
        "join": ("ADERIR",),
        "yes": ("SIM",),
        "language": ("IDIOMA", "LÍNGUA"),
    },
    "it": {
        "stop": ("STOP", "CANCELLA", "DISISCRIVI", "DISISCRIVIMI"),
        "start": ("START", "RIPRENDI"),
        "help": ("AIUTO", "INFO"),
        "join": ("ADERISCI",),
        "yes": ("SÌ", "SI"),
        "language": ("LINGUA",),
    },
    "sw": {
        "stop": ("STOP", "ACHA", "SITISHA"),
        "start": ("START", "ANZA"),
        "help": ("MSAADA",),
        "join": ("JIUNGE",),
        "yes": ("NDIO", "NDIYO"),
        "language": ("LUGHA",),
    },
    "ar": {
        "stop": ("STOP", "توقف", "إيقاف", "إلغاء الاشتراك"),
        "start": ("START", "ابدأ"),
        "help": ("مساعدة",),
        "join": ("انضم",),
        "yes": ("نعم", "NAAM"),
        "language": ("لغة", "اللغة"),
    },
    "ru": {
        "stop": ("STOP", "СТОП", "ОТПИСАТЬСЯ", "ОТПИСКА"),
        "start": ("START", "СТАРТ"),
        "help": ("ПОМОЩЬ",),
        "join": ("ВСТУПИТЬ",),
        "yes": ("ДА",),
        "language": ("ЯЗЫК",),
    },
    "zh": {
        "stop": ("STOP", "TD", "停止", "退订", "退訂", "取消订阅", "取消訂閱"),
        "start": ("START", "开始", "開始"),
        "help": ("帮助", "幫助"),
        "join": ("加入",),
        "yes": ("是", "是的", "支持"),
        "language": ("语言", "語言"),
    },
    "tr": {
        "stop": ("STOP", "RET", "İPTAL", "DURDUR"),
        "start": ("START", "BAŞLA"),
        "help": ("YARDIM",),
        "join": ("KATIL",),
        "yes": ("EVET",),
        "language": ("DİL",),
    },
    "pl": {
        "stop": ("STOP", "REZYGNUJĘ", "REZYGNACJA", "WYPISZ"),
        "start": ("START", "WZNÓW"),
        "help": ("POMOC",),
        "join": ("DOŁĄCZ",),
        "yes": ("TAK",),
        "language": ("JĘZYK",),
    },
}

# Where each language's words come from.  Words a regulator or carrier names are marked so;
# the others are the everyday word for stop / unsubscribe / help in that language, chosen so
# that none is a common word of another language here (see docs/messaging.md).
SOURCES: dict[str, str] = {
    "en": "Twilio Advanced Opt-Out defaults (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, OPTOUT, "
    "REVOKE; START, UNSTOP; HELP, INFO); CTIA Messaging Principles and Best Practices; "
    "FCC 2024 TCPA consent-revocation order (REVOKE, OPT OUT)",
    "nl": "SMS Gedragscode (STOP); everyday Dutch for unsubscribe (AFMELDEN, UITSCHRIJVEN, OPZEGGEN)",
    "de": "STOP and STOPP as German premium-SMS codes of conduct use them; everyday German "
    "(ABMELDEN, ABBESTELLEN, HILFE)",
    "fr": "CTIA / AWS End User Messaging required keywords for Canadian French (ARRET); STOP as the "
    "French SMS code of conduct (AF2M) uses it; everyday French (DÉSABONNER, DÉSINSCRIRE, AIDE)",
    "es": "the issue's list (BAJA, ALTO, PARAR); everyday Spanish (CANCELAR, AYUDA; ALTA undoes BAJA)",
    "pt": "the issue's list (PARAR); SAIR as Brazilian opt-out texts use it; everyday Portuguese "
    "(CANCELAR, DESCADASTRAR, AJUDA)",
    "it": "STOP as Italian SMS services use it; everyday Italian (CANCELLA, DISISCRIVI, AIUTO)",
    "sw": "the issue's list (ACHA); everyday Swahili (SITISHA, MSAADA)",
    "ar": "the issue's list (توقف); everyday Arabic (إيقاف, إلغاء الاشتراك, مساعدة)",
    "ru": "the issue's list (СТОП); everyday Russian (ОТПИСАТЬСЯ, ОТПИСКА, ПОМОЩЬ)",
    "zh": "the issue's list (停止); TD and 退订 as Chinese operators' texts use them ('回复TD退订'; "
    "TD is also on AWS's required list), in simplified and traditional characters",
    "tr": "RET as Türkiye's İleti Yönetim Sistemi (İYS) opt-out texts use it; everyday Turkish "
    "(İPTAL, DURDUR, YARDIM)",
    "pl": "STOP as Polish SMS services use it; everyday Polish (REZYGNUJĘ, REZYGNACJA, WYPISZ, POMOC)",
}
