"""The error types of the system and the one JSON shape every API error takes.

Every API error is ``{"error": {"status": 400, "code": "bad_payload", "message": "..."}}``.
"""

from __future__ import annotations

from typing import Any


class CampaignError(Exception):
    """Base of every error the system reports to a person or a client."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def as_json(self) -> dict[str, Any]:
        return error_body(self.status, self.code, self.message)


class ConfigurationError(CampaignError):
    """A missing or wrong setting; reported as one line, never a traceback."""

    code = "configuration_error"


class BadRequest(CampaignError):
    status = 400
    code = "bad_request"


class Forbidden(CampaignError):
    status = 403
    code = "forbidden"


class NotFound(CampaignError):
    status = 404
    code = "not_found"


class PayloadTooLarge(CampaignError):
    status = 413
    code = "payload_too_large"


class Unavailable(CampaignError):
    """Storage is down and the event could not be kept: the provider should retry."""

    status = 503
    code = "unavailable"


def error_body(status: int, code: str, message: str) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message}}
