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

from collections.abc import Iterable
from dataclasses import dataclass, field

from campaign.messaging.segments import fit as fit_segments
from campaign.messaging.segments import is_gsm, measure

SMS_LIMIT = 160
# Languages whose replies GSM 03.38's alphabet writes: one GSM-7 segment each.
GSM_LANGUAGES = frozenset({"en", "nl", "de", "fr", "es", "it", "sw", "da", "no", "sv"})
UCS2_REPLY_SEGMENTS = 2

# Each table has every language of the word table (campaign.inbound.vocabulary) but where
# noted; a language without its version falls back to the appeal's, then to English.
FIRST = {
    "en": "Thank you! You are the first to stand with {person}. Reply STOP to opt out.",
    "nl": "Dank je! Jij bent de eerste die achter {person} staat. Antwoord STOP om af te melden.",
    "de": "Danke! Du bist die erste Person, die {person} unterstützt. Antworte STOP zum Abmelden.",
    "fr": "Merci ! Vous soutenez {person} en premier. Répondez STOP pour vous désabonner.",
    "es": "¡Gracias! Eres la primera persona en apoyar a {person}. Responde STOP para darte de baja.",
    "pt": "Obrigado! Você é a primeira pessoa a apoiar {person}. Responda STOP para sair.",
    "it": "Grazie! Sei la prima persona a sostenere {person}. Rispondi STOP per annullare.",
    "sw": "Asante! Wewe ni wa kwanza kumuunga mkono {person}. Jibu STOP kujiondoa.",
    "ar": "شكرا! أنت أول من يقف مع {person}. أرسل STOP لإلغاء الاشتراك.",
    "ru": "Спасибо! Вы первым поддержали {person}. Ответьте СТОП, чтобы отписаться.",
    "zh": "谢谢！你是第一个支持{person}的人。回复停止退订。",
    "tr": "Teşekkürler! {person} için ilk destek veren sizsiniz. Ayrılmak için RET yazın.",
    "pl": "Dziękujemy! Jesteś pierwszą osobą, która wspiera {person}. Odpowiedz STOP, by się wypisać.",
}
ONE_OTHER = {
    "en": "Thank you! You and 1 other stand with {person}. Reply STOP to opt out.",
    "nl": "Dank je! Jij en 1 ander staan achter {person}. Antwoord STOP om af te melden.",
    "de": "Danke! Du und 1 weitere Person unterstützen {person}. Antworte STOP zum Abmelden.",
    "fr": "Merci ! Vous et 1 autre personne soutenez {person}. Répondez STOP pour vous désabonner.",
    "es": "¡Gracias! Junto a otra persona apoyas a {person}. Responde STOP para darte de baja.",
    "pt": "Obrigado! Você e mais 1 pessoa apoiam {person}. Responda STOP para sair.",
    "it": "Grazie! Tu e 1 altra persona sostenete {person}. Rispondi STOP per annullare.",
    "sw": "Asante! Wewe na mwingine 1 mnamuunga mkono {person}. Jibu STOP kujiondoa.",
    "ar": "شكرا! أنت وشخص آخر تقفان مع {person}. أرسل STOP لإلغاء الاشتراك.",
    "ru": "Спасибо! Вы и ещё 1 человек поддержали {person}. Ответьте СТОП, чтобы отписаться.",
    "zh": "谢谢！你和另外1人支持{person}。回复停止退订。",
    "tr": "Teşekkürler! Siz ve 1 kişi daha {person} yanında. Ayrılmak için RET yazın.",
    "pl": "Dziękujemy! Ty i 1 inna osoba wspieracie {person}. Odpowiedz STOP, by się wypisać.",
}
THANK_YOU = {
    "en": "Thank you! You and {others} others stand with {person}. Reply STOP to opt out.",
    "nl": "Dank je! Jij en {others} anderen staan achter {person}. Antwoord STOP om af te melden.",
    "de": "Danke! Du und {others} weitere unterstützen {person}. Antworte STOP zum Abmelden.",
    "fr": "Merci ! Vous et {others} autres soutenez {person}. Répondez STOP pour vous désabonner.",
    "es": "¡Gracias! Junto a otras {others} personas apoyas a {person}. Responde STOP para darte de baja.",
    "pt": "Obrigado! Você e mais {others} pessoas apoiam {person}. Responda STOP para sair.",
    "it": "Grazie! Tu e altre {others} persone sostenete {person}. Rispondi STOP per annullare.",
    "sw": "Asante! Wewe na wengine {others} mnamuunga mkono {person}. Jibu STOP kujiondoa.",
    "ar": "شكرا! أنت و{others} آخرون تقفون مع {person}. أرسل STOP لإلغاء الاشتراك.",
    "ru": "Спасибо! Вы и ещё {others} поддержали {person}. Ответьте СТОП, чтобы отписаться.",
    "zh": "谢谢！你和另外{others}人支持{person}。回复停止退订。",
    "tr": "Teşekkürler! Siz ve {others} kişi daha {person} yanında. Ayrılmak için RET yazın.",
    "pl": "Dziękujemy! Ty i {others} innych wspieracie {person}. Odpowiedz STOP, by się wypisać.",
}
ALREADY_SIGNED = {
    "en": "You already stand with {person}, thank you! {count} people have signed so far.",
    "nl": "Je staat al achter {person}, dank je! Al {count} mensen hebben getekend.",
    "de": "Du unterstützt {person} schon, danke! Bisher haben {count} Menschen unterschrieben.",
    "fr": "Vous soutenez déjà {person}, merci ! {count} personnes ont signé jusqu'ici.",
    "es": "Ya apoyas a {person}, ¡gracias! Hasta ahora han firmado {count} personas.",
    "pt": "Você já apoia {person}, obrigado! Até agora {count} pessoas assinaram.",
    "it": "Sostieni già {person}, grazie! Finora hanno firmato {count} persone.",
    "sw": "Tayari unamuunga mkono {person}, asante! Watu {count} wamesaini hadi sasa.",
    "ar": "أنت تقف مع {person} بالفعل، شكرا! وقّع حتى الآن {count} شخص.",
    "ru": "Вы уже поддержали {person}, спасибо! Уже подписались: {count}.",
    "zh": "你已经支持{person}，谢谢！目前已有{count}人签名。",
    "tr": "Zaten {person} yanındasınız, teşekkürler! Şimdiye kadar {count} kişi imzaladı.",
    "pl": "Już wspierasz {person}, dziękujemy! Podpisało już {count} osób.",
}
CLOSED = {
    "en": "Thank you! The appeal for {person} is closed; watch for our next alert.",
    "nl": "Dank je! De oproep voor {person} is gesloten; let op onze volgende oproep.",
    "de": "Danke! Der Aufruf für {person} ist beendet; achte auf unseren nächsten Aufruf.",
    "fr": "Merci ! L'appel pour {person} est clos ; surveillez notre prochaine alerte.",
    "es": "¡Gracias! La campaña por {person} ha terminado; espera nuestra siguiente alerta.",
    "pt": "Obrigado! O apelo por {person} foi encerrado; aguarde nosso próximo alerta.",
    "it": "Grazie! L'appello per {person} è chiuso; attendi il nostro prossimo avviso.",
    "sw": "Asante! Wito kwa ajili ya {person} umefungwa; subiri tahadhari yetu ijayo.",
    "ar": "شكرا! النداء من أجل {person} مغلق؛ ترقب نداءنا القادم.",
    "ru": "Спасибо! Призыв в поддержку {person} закрыт; ждите нашего следующего призыва.",
    "zh": "谢谢！为{person}发起的呼吁已结束，请留意我们的下一次行动。",
    "tr": "Teşekkürler! {person} için çağrı kapandı; bir sonraki çağrımızı bekleyin.",
    "pl": "Dziękujemy! Apel w sprawie {person} jest zamknięty; czekaj na nasz kolejny apel.",
}
RECEIVED = {  # while the database is away: a reply without a count
    "en": "Thank you! Your support for {person} is received and will be counted.",
    "nl": "Dank je! Je steun voor {person} is ontvangen en wordt geteld.",
    "de": "Danke! Deine Unterstützung für {person} ist angekommen und wird gezählt.",
    "fr": "Merci ! Nous avons bien votre soutien à {person}, il sera compté.",
    "es": "¡Gracias! Hemos recibido tu apoyo a {person} y lo vamos a contar.",
}
RECEIVED_PLAIN = {
    "en": "Thank you! Your message is received.",
    "nl": "Dank je! Je bericht is ontvangen.",
    "de": "Danke! Deine Nachricht ist angekommen.",
    "fr": "Merci ! Nous avons bien votre message.",
    "es": "¡Gracias! Hemos recibido tu mensaje.",
}
NO_APPEAL = {
    "en": "Thank you! There is no open appeal to sign right now. Reply JOIN to get our alerts.",
    "nl": "Dank je! Er is nu geen open oproep. Antwoord LID om onze oproepen te ontvangen.",
    "de": "Danke! Gerade gibt es keinen offenen Aufruf. Antworte MITMACHEN für unsere Aufrufe.",
    "fr": "Merci ! Aucun appel n'est ouvert en ce moment. Répondez REJOINDRE pour nos alertes.",
    "es": "¡Gracias! Ahora no hay ninguna campaña abierta. Responde UNIRME para recibir alertas.",
    "pt": "Obrigado! Não há apelo aberto agora. Responda ADERIR para receber nossos alertas.",
    "it": "Grazie! Ora non c'è nessun appello aperto. Rispondi ADERISCI per i nostri avvisi.",
    "sw": "Asante! Hakuna wito wazi sasa. Jibu JIUNGE kupata tahadhari zetu.",
    "ar": "شكرا! لا يوجد نداء مفتوح الآن. أرسل انضم لتصلك نداءاتنا.",
    "ru": "Спасибо! Сейчас нет открытых призывов. Ответьте ВСТУПИТЬ, чтобы получать их.",
    "zh": "谢谢！目前没有进行中的呼吁。回复加入以接收我们的行动提醒。",
    "tr": "Teşekkürler! Şu an açık bir çağrı yok. Çağrılarımız için KATIL yazın.",
    "pl": "Dziękujemy! Teraz nie ma otwartego apelu. Odpowiedz DOŁĄCZ, by dostawać apele.",
}
STOPPED = {
    "en": "You will get no more messages from us. Reply START to come back.",
    "nl": "Je ontvangt geen berichten meer van ons. Antwoord START om terug te komen.",
    "de": "Du bekommst keine Nachrichten mehr von uns. Antworte START, um zurückzukommen.",
    "fr": "Vous ne recevrez plus de messages de notre part. Répondez START pour revenir.",
    "es": "Ya no te enviaremos mensajes. Responde START para volver.",
    "pt": "Você não receberá mais mensagens nossas. Responda START para voltar.",
    "it": "Non riceverai più messaggi da noi. Rispondi START per tornare.",
    "sw": "Hutapokea ujumbe zaidi kutoka kwetu. Jibu START kurudi.",
    "ar": "لن تصلك رسائل منا بعد الآن. أرسل START للعودة.",
    "ru": "Вы больше не будете получать от нас сообщений. Ответьте START, чтобы вернуться.",
    "zh": "你将不再收到我们的短信。回复START可重新订阅。",
    "tr": "Artık bizden mesaj almayacaksınız. Geri dönmek için START yazın.",
    "pl": "Nie dostaniesz od nas więcej wiadomości. Odpowiedz START, by wrócić.",
}
STARTED = {
    "en": "Welcome back! You will get our Urgent Action alerts again. Reply STOP to opt out.",
    "nl": "Welkom terug! Je ontvangt weer onze Urgent Action oproepen. Antwoord STOP om af te melden.",
    "de": "Willkommen zurück! Du bekommst wieder unsere Urgent Actions. Antworte STOP zum Abmelden.",
    "fr": "Bon retour ! Vous recevrez à nouveau nos Actions urgentes. Répondez STOP pour vous désabonner.",
    "es": "¡Bienvenido de nuevo! De nuevo te llegan nuestras Acciones Urgentes. STOP para darte de baja.",
    "pt": "Bem-vindo de volta! Você voltará a receber nossas Ações Urgentes. STOP para sair.",
    "it": "Bentornato! Riceverai di nuovo le nostre Azioni urgenti. Rispondi STOP per annullare.",
    "sw": "Karibu tena! Utapokea tena tahadhari zetu za Hatua ya Dharura. Jibu STOP kujiondoa.",
    "ar": "مرحبا بعودتك! ستصلك تحركاتنا العاجلة مجددا. أرسل STOP لإلغاء الاشتراك.",
    "ru": "С возвращением! Вы снова будете получать наши срочные акции. СТОП — отписаться.",
    "zh": "欢迎回来！你将再次收到我们的紧急行动提醒。回复停止退订。",
    "tr": "Tekrar hoş geldiniz! Acil Eylem çağrılarımızı yeniden alacaksınız. Ayrılmak için RET.",
    "pl": "Witaj ponownie! Znów dostaniesz nasze Pilne Akcje. Odpowiedz STOP, by się wypisać.",
}
JOINED = {
    "en": "Welcome to the Urgent Action SMS network! Reply JA to an alert to sign. STOP to opt out.",
    "nl": "Welkom bij het Urgent Action SMS-netwerk! Antwoord JA op een oproep om te tekenen. STOP om af te melden.",
    "de": "Willkommen im Urgent-Action-SMS-Netzwerk! Antworte JA auf einen Aufruf, um zu unterschreiben. STOP zum Abmelden.",
    "fr": "Bienvenue dans le réseau SMS Action urgente ! Répondez OUI à une alerte pour signer. STOP pour vous désabonner.",
    "es": "¡Bienvenido a la red SMS de Acciones Urgentes! Responde SI a una alerta para firmar. STOP para darte de baja.",
    "pt": "Bem-vindo à rede SMS de Ação Urgente! Responda SIM a um alerta para assinar. STOP para sair.",
    "it": "Benvenuto nella rete SMS Azione urgente! Rispondi SI a un avviso per firmare. STOP per annullare.",
    "sw": "Karibu kwenye mtandao wa SMS wa Hatua ya Dharura! Jibu NDIO kwa tahadhari kusaini. STOP kujiondoa.",
    "ar": "مرحبا بك في شبكة التحرك العاجل! أرسل نعم ردا على نداء للتوقيع. STOP لإلغاء الاشتراك.",
    "ru": "Добро пожаловать в SMS-сеть срочных акций! Ответьте ДА на призыв, чтобы подписать. СТОП — отписаться.",
    "zh": "欢迎加入紧急行动短信网络！回复是即可签名。回复停止退订。",
    "tr": "Acil Eylem SMS ağına hoş geldiniz! İmzalamak için çağrıya EVET yazın. Ayrılmak için RET.",
    "pl": "Witamy w sieci SMS Pilnych Akcji! Odpowiedz TAK na apel, by podpisać. STOP, by się wypisać.",
}
HELP = {
    "en": "Urgent Action SMS: reply JA to sign the current appeal, JOIN for alerts, STOP to opt out.",
    "nl": "Urgent Action SMS: antwoord JA om de oproep te tekenen, LID voor oproepen, STOP om af te melden.",
    "de": "Urgent Action SMS: antworte JA zum Unterschreiben, MITMACHEN für Aufrufe, STOP zum Abmelden.",
    "fr": "SMS Action urgente : répondez OUI pour signer l'appel, REJOINDRE pour les alertes, STOP pour vous désabonner.",
    "es": "Acciones Urgentes por SMS: responde SI para firmar, UNIRME para recibir alertas, STOP para darte de baja.",
    "pt": "SMS Ação Urgente: responda SIM para assinar, ADERIR para receber alertas, STOP para sair.",
    "it": "SMS Azione urgente: rispondi SI per firmare, ADERISCI per gli avvisi, STOP per annullare.",
    "sw": "SMS ya Hatua ya Dharura: jibu NDIO kusaini, JIUNGE kupata tahadhari, STOP kujiondoa.",
    "ar": "رسائل التحرك العاجل: أرسل نعم للتوقيع، انضم لتصلك النداءات، STOP لإلغاء الاشتراك.",
    "ru": "SMS срочных акций: ДА — подписать, ВСТУПИТЬ — получать призывы, СТОП — отписаться.",
    "zh": "紧急行动短信：回复是签名，回复加入接收提醒，回复停止退订。",
    "tr": "Acil Eylem SMS: imzalamak için EVET, çağrılar için KATIL, ayrılmak için RET yazın.",
    "pl": "SMS Pilne Akcje: TAK, by podpisać; DOŁĄCZ, by dostawać apele; STOP, by się wypisać.",
}
UNKNOWN = {
    "en": "Sorry, we did not understand. Reply JA to sign, HELP for info, STOP to opt out.",
    "nl": "Sorry, dat begrepen we niet. Antwoord JA om te tekenen, INFO voor uitleg, STOP om af te melden.",
    "de": "Das haben wir leider nicht verstanden. JA zum Unterschreiben, HILFE für Infos, STOP zum Abmelden.",
    "fr": "Désolé, nous n'avons pas compris. Répondez OUI pour signer, AIDE pour l'aide, STOP pour vous désabonner.",
    "es": "Perdona, no lo entendimos. Responde SI para firmar, AYUDA para ayuda, STOP para darte de baja.",
    "pt": "Desculpe, não entendemos. Responda SIM para assinar, AJUDA para informações, STOP para sair.",
    "it": "Scusa, non abbiamo capito. Rispondi SI per firmare, AIUTO per informazioni, STOP per annullare.",
    "sw": "Samahani, hatukuelewa. Jibu NDIO kusaini, MSAADA kwa maelezo, STOP kujiondoa.",
    "ar": "عذرا، لم نفهم. أرسل نعم للتوقيع، مساعدة للمعلومات، STOP لإلغاء الاشتراك.",
    "ru": "Извините, мы не поняли. ДА — подписать, ПОМОЩЬ — справка, СТОП — отписаться.",
    "zh": "抱歉，我们没有看懂。回复是签名，帮助查看说明，停止退订。",
    "tr": "Üzgünüz, anlayamadık. İmzalamak için EVET, bilgi için YARDIM, ayrılmak için RET yazın.",
    "pl": "Przepraszamy, nie zrozumieliśmy. TAK, by podpisać; POMOC, by uzyskać informacje; STOP, by się wypisać.",
}
# The confirmation of a language keyword, in the language just chosen.
LANGUAGE_SET = {
    "en": "OK, we will text you in English from now on.",
    "nl": "Oké, we sturen je vanaf nu berichten in het Nederlands.",
    "de": "OK, wir schreiben dir ab jetzt auf Deutsch.",
    "fr": "C'est noté, nous vous écrirons désormais en FR.",
    "es": "De acuerdo, a partir de ahora te escribiremos en español.",
    "pt": "Certo, a partir de agora vamos escrever para você em português.",
    "it": "Va bene, d'ora in poi ti scriveremo in italiano.",
    "sw": "Sawa, kuanzia sasa tutakutumia ujumbe kwa Kiswahili.",
    "ar": "حسنا، سنراسلك بالعربية من الآن.",
    "ru": "Хорошо, теперь мы будем писать вам по-русски.",
    "zh": "好的，今后我们将用中文给你发短信。",
    "tr": "Tamam, bundan sonra size Türkçe yazacağız.",
    "pl": "Dobrze, od teraz będziemy pisać do Ciebie po polsku.",
}
# A language keyword naming no language we know; {asked} is what followed it, {known} our codes.
LANGUAGE_UNKNOWN = {
    "en": "Sorry, we do not know the language {asked}. We can text you in {known}: reply e.g. LANG FR.",
    "nl": "Sorry, de taal {asked} kennen we niet. We kunnen je schrijven in {known}: antwoord bv. TAAL NL.",
    "de": "Die Sprache {asked} kennen wir leider nicht. Wir schreiben in {known}: antworte z. B. SPRACHE DE.",
    "fr": "Désolé, nous ne connaissons pas la langue {asked}. Langues possibles : {known}. Répondez p. ex. LANGUE FR.",
    "es": "Perdona, no conocemos el idioma {asked}. Podemos escribirte en {known}: responde p. ej. IDIOMA ES.",
    "pt": "Não conhecemos o idioma {asked}. Escrevemos em: {known}. Ex.: IDIOMA PT.",
    "it": "Scusa, non conosciamo la lingua {asked}. Possiamo scriverti in {known}: rispondi ad es. LINGUA IT.",
    "sw": "Samahani, hatujui lugha {asked}. Tunaweza kukuandikia kwa {known}: jibu mfano LUGHA SW.",
    "ar": "عذرا، لا نعرف اللغة {asked}. يمكننا مراسلتك بـ {known}: أرسل مثلا اللغة AR.",
    "ru": "Не знаем язык {asked}. Пишем на: {known}. Напр.: ЯЗЫК RU.",
    "zh": "抱歉，我们不认识语言{asked}。可选：{known}。例如回复：语言 ZH。",
    "tr": "{asked} dilini bilmiyoruz. Dillerimiz: {known}. Örnek: DİL TR.",
    "pl": "Nie znamy języka {asked}. Piszemy w: {known}. Np. JĘZYK PL.",
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


def _pick(table: dict[str, str], language: str, fallback: str | None = None) -> tuple[str, str]:
    """The version of a text in ``language``, else in ``fallback`` (the appeal's), else English."""
    for candidate in (language, fallback, "en"):
        if candidate and candidate in table:
            return candidate, table[candidate]
    raise KeyError("en")


def thank_you(appeal: AppealWords, count: int, language: str | None) -> str:
    """The appeal's template in the supporter's language (its default one being in the appeal's
    language), else ours in that language, else the appeal's default, else ours in the appeal's."""
    language = language or appeal.language
    default = appeal.templates.get("default")
    template = appeal.templates.get(language) or (default if language == appeal.language else None)
    if not template:
        table = FIRST if count <= 1 else ONE_OTHER if count == 2 else THANK_YOU
        if language in table or not default:
            language, template = _pick(table, language, appeal.language)
        else:
            language, template = appeal.language, default
    return _render(template, appeal, count, language)


def already_signed(appeal: AppealWords, count: int, language: str | None) -> str:
    language, template = _pick(ALREADY_SIGNED, language or appeal.language, appeal.language)
    return _render(template, appeal, count, language)


def received(appeal: AppealWords, language: str | None) -> str:
    language, template = _pick(RECEIVED, language or appeal.language, appeal.language)
    return _render(template, appeal, 0, language)


def closed(appeal: AppealWords, language: str | None) -> str:
    language, template = _pick(CLOSED, language or appeal.language, appeal.language)
    return _render(template, appeal, 0, language)


def plain(table: dict[str, str], language: str, fallback: str | None = None) -> str:
    language, text = _pick(table, language, fallback)
    return fit(text, language)


def unknown_language(
    asked: str, language: str, fallback: str | None = None, known_languages: Iterable[str] = ()
) -> str:
    """The answer to a language keyword naming no language we text in."""
    known = ", ".join(sorted(code.upper() for code in (known_languages or LANGUAGE_SET)))
    language, template = _pick(LANGUAGE_UNKNOWN, language, fallback)
    return fit(template.format(asked=f"'{asked[:16]}'" if asked else "''", known=known), language)


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
