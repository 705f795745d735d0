"""Domain errors, shared by the engine and the clock (below both). The API turns each into
the gRPC status of the same name."""

from __future__ import annotations


class DomainError(Exception):
    """An input the engine refuses; nothing was changed.

    ``field`` names the offending input field (``"seq_no"``, ``"parts[1].quantity"``).
    """

    code_name = "UNKNOWN"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidArgument(DomainError):
    """Malformed input, whatever the state."""

    code_name = "INVALID_ARGUMENT"


class FailedPrecondition(DomainError):
    """Well-formed input that is impossible in the current state."""

    code_name = "FAILED_PRECONDITION"


class AlreadyExists(DomainError):
    """A conflicting re-send, or an id that must be new."""

    code_name = "ALREADY_EXISTS"


class NotFound(DomainError):
    """A lookup of something the engine never saw."""

    code_name = "NOT_FOUND"


class OutOfRange(DomainError):
    """A position past what is kept (a cursor older than the retained history)."""

    code_name = "OUT_OF_RANGE"


class ResourceExhausted(DomainError):
    """Beyond a documented limit or the engine's capacity."""

    code_name = "RESOURCE_EXHAUSTED"


class Unavailable(DomainError):
    """The engine is not ready (recovering) or shutting down; retry."""

    code_name = "UNAVAILABLE"


class DeadlineExceeded(DomainError):
    """The caller's deadline passed before the engine reached the request: it was not done."""

    code_name = "DEADLINE_EXCEEDED"
