"""The exceptions the client raises: one per way a request can fail.

Every error the server answers carries its own sentence (`{"error": "..."}` in docs/api.md);
it is kept verbatim in `message`, so a caller can show it or match on the status.
"""

from __future__ import annotations


class PyrunnerError(Exception):
    """Base of every error this module raises."""


class ServerUnreachable(PyrunnerError):
    """The server could not be reached, or the connection broke before it answered."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach {url}: {reason}")
        self.url = url
        self.reason = reason


class ApiError(PyrunnerError):
    """The server answered with an error status; `message` is its `error` sentence, and
    `retry_after` its Retry-After in seconds, when it sent one (429, 503)."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.retry_after = retry_after


class BadRequest(ApiError):
    """400: the request was malformed or broke a rule; the sentence names the problem."""


class Unauthorized(ApiError):
    """401: no token, or one that is unknown, revoked or malformed."""


class Forbidden(ApiError):
    """403: the token is valid but not allowed this request (GET /metrics needs an admin)."""


class NotFound(ApiError):
    """404: no such run (or another tenant's), path or file."""


class PayloadTooLarge(ApiError):
    """413: the body, the code or the files are past a limit the sentence names."""


class TooManyRequests(ApiError):
    """429: the queue, the tenant's share of it, or the failed-token allowance is full."""


class ServiceUnavailable(ApiError):
    """503: the server cannot reach systemd or its broker, or is stopping."""


class UnsafePath(PyrunnerError):
    """A path in a run's file list that cannot be saved safely (absolute, `..`, control
    characters, ...); the run's code chose it, so it is refused rather than cleaned up."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"refusing file path {path!r}: {reason}")
        self.path = path
        self.reason = reason


class FileCheckFailed(PyrunnerError):
    """A downloaded file's size or sha256 differs from the run's file list."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path!r}: {reason}")
        self.path = path
        self.reason = reason


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    413: PayloadTooLarge,
    429: TooManyRequests,
    503: ServiceUnavailable,
}


def error_for(status: int, message: str, retry_after: float | None = None) -> ApiError:
    """The exception of an error answer's status."""
    return _BY_STATUS.get(status, ApiError)(status, message, retry_after)
