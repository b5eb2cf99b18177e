"""Outgoing SMS providers: one module per provider behind ``base.SmsProvider``."""

from __future__ import annotations

from campaign.messaging.providers.base import SendResult, SmsProvider
from campaign.messaging.providers.console import ConsoleSender
from campaign.messaging.providers.twilio import TwilioSender
from campaign.messaging.providers.vonage import VonageSender
from campaign.settings import Settings

REGISTRY: dict[str, type[SmsProvider]] = {p.name: p for p in (ConsoleSender, TwilioSender, VonageSender)}


def provider_for(settings: Settings) -> SmsProvider:
    """The provider the settings name, checked for what it needs."""
    return REGISTRY[settings.sms_provider](settings)


__all__ = ["REGISTRY", "SendResult", "SmsProvider", "provider_for"]
