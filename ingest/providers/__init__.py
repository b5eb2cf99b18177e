"""The SMS providers the ingest service accepts webhooks from, by name."""

from __future__ import annotations

from ingest.providers.base import Provider
from ingest.providers.twilio import Twilio
from ingest.providers.vonage import Vonage

REGISTRY: dict[str, type[Provider]] = {provider.name: provider for provider in (Twilio, Vonage)}

__all__ = ["REGISTRY", "Provider"]
