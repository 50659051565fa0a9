"""The project's own error types. Low-level errors (httpx, JSON) are mapped to these once, in http.py.

Every message is meant for the person using the dashboard: it says what happened and what to do, and it
never contains the token.
"""

from __future__ import annotations


class LeadsError(Exception):
    """Base of every error this project raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ConfigError(LeadsError):
    """A setting is missing or invalid; `problems` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("Settings problem: " + "; ".join(self.problems))


class CRMError(LeadsError):
    """Talking to the CRM failed."""

    status_code: int | None = None


class CRMConnectionError(CRMError):
    """The CRM could not be reached (DNS, refused connection, timeout) after the allowed retries."""


class CRMAuthError(CRMError):
    """The CRM refused the token (401) or the account lacks the permission (403)."""


class CRMRateLimitError(CRMError):
    """The CRM kept answering 429 Too Many Requests."""


class CRMServerError(CRMError):
    """The CRM answered with a server error (5xx) after the allowed retries."""


class CRMRequestError(CRMError):
    """The CRM rejected the request (4xx other than auth), e.g. a missing required field."""

    def __init__(self, message: str, *, status_code: int | None = None, fields: list[str] | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.fields = fields or []


class CRMResponseError(CRMError):
    """The CRM answered, but not with what its API documents (not JSON, wrong shape, paging loop)."""


class OutcomeUnknownError(CRMError):
    """A create request was sent but no answer came back: the CRM may or may not have the lead."""


class NotSupportedError(CRMError):
    """This CRM does not offer the operation (e.g. creating leads)."""
