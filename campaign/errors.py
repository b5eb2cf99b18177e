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


class Unauthorized(CampaignError):
    """No credentials, or credentials nobody issued (a missing or revoked API token)."""

    status = 401
    code = "unauthorized"


class Forbidden(CampaignError):
    status = 403
    code = "forbidden"


class NotFound(CampaignError):
    status = 404
    code = "not_found"


class InvalidItems(BadRequest):
    """A batch with bad items: each is named by its index, and none of the batch is kept.

    The body is the one error shape plus ``items``: ``[{"index": 3, "message": "..."}]``.
    """

    code = "invalid_items"

    def __init__(self, items: list[tuple[int, str]], *, what: str = "item"):
        count = len(items)
        super().__init__(f"{count} bad {what}{'s' if count != 1 else ''}; nothing was stored")
        self.items = items

    def as_json(self) -> dict[str, Any]:
        body = super().as_json()
        body["error"]["items"] = [{"index": index, "message": message} for index, message in self.items]
        return body


class PayloadTooLarge(CampaignError):
    status = 413
    code = "payload_too_large"


class Unavailable(CampaignError):
    """Storage is down and the event could not be kept: the provider should retry."""

    status = 503
    code = "unavailable"


def error_body(status: int, code: str, message: str) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message}}
