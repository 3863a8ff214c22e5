"""Error codes carried in ErrorInfo: the low 16 bits name the error, the high bits say how to retry."""

from __future__ import annotations

from typing import ClassVar, Literal

RetryHint = Literal["here", "other", "any"]

_RETRY_HERE = 1 << 16
_RETRY_OTHER = 1 << 17
_RETRY_FLAGS: dict[RetryHint, int] = {
    "here": _RETRY_HERE,
    "other": _RETRY_OTHER,
    "any": _RETRY_HERE | _RETRY_OTHER,
}


def error_code(code: int, retry: RetryHint | None = None) -> int:
    """Compose an error code from its number (0..65535) and an optional retry hint."""
    if not 0 <= code <= 0xFFFF:
        raise ValueError(f"error code number must be within 0..65535, got {code}")
    return code | (_RETRY_FLAGS[retry] if retry is not None else 0)


class ErrorCode:
    """Integer error codes shared with gooddata-flight-server clients; custom codes start at 1000."""

    UNKNOWN = 0
    BAD_ARGUMENT = error_code(1)
    BAD_REQUEST = error_code(2)
    UNSUPPORTED_SERVICE = error_code(3)
    INVALID_TICKET = error_code(4)
    COMMAND_FAILED = error_code(5)
    COMMAND_CANCELLED = error_code(6)
    COMMAND_CANCEL_NOT_POSSIBLE = error_code(7)
    COMMAND_RESULT_CONSUMED = error_code(8)
    TIMEOUT = error_code(100)
    POLL = error_code(101, retry="here")
    BACKPRESSURE = error_code(102, retry="any")
    INTERNAL_ERROR = error_code(500, retry="other")
    NOT_READY = error_code(501, retry="any")
    SHUTTING_DOWN = error_code(502, retry="other")
    NOT_IMPLEMENTED = error_code(503)

    CUSTOM_CODES_START: ClassVar[int] = 1000

    @classmethod
    def name(cls, code: int) -> str:
        """Readable name such as ``poll (101)``, ``custom (1005)`` or ``unknown (77)``."""
        if code < 0:
            return f"unknown ({code})"
        number = code & 0xFFFF
        if number >= cls.CUSTOM_CODES_START:
            return f"custom ({number})"
        for attr, value in vars(cls).items():
            if attr.isupper() and isinstance(value, int) and value & 0xFFFF == number and attr != "CUSTOM_CODES_START":
                return f"{attr.lower()} ({number})"
        return f"unknown ({number})"

    @classmethod
    def is_retry_here(cls, code: int) -> bool:
        """True when the same server may succeed on retry."""
        return bool(code & _RETRY_HERE)

    @classmethod
    def is_retry_other(cls, code: int) -> bool:
        """True when another replica may succeed on retry."""
        return bool(code & _RETRY_OTHER)

    @classmethod
    def is_retry_any(cls, code: int) -> bool:
        """True when a retry may succeed on this server or another one."""
        return (code & _RETRY_FLAGS["any"]) == _RETRY_FLAGS["any"]

    @classmethod
    def is_retryable(cls, code: int) -> bool:
        """True when the code carries any retry hint."""
        return bool(code & _RETRY_FLAGS["any"])
