"""Structured errors carried in ``FlightError.extra_info`` as compact JSON, as the reference sends them."""

from __future__ import annotations

import base64
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
import pyarrow.flight

from gfs_runtime.errors.codes import ErrorCode

MAX_MSG_CHARS = 256
MAX_DETAIL_CHARS = 512
# extra_info travels in gRPC trailing metadata, whose default hard limit is 16 KiB in total;
# base64 grows the body by a third, so 8 KiB of body leaves room for msg and detail.
MAX_BODY_BYTES = 8192

FlightErrorFactory = Callable[[str, bytes], pyarrow.flight.FlightError]


def _truncate(value: str | None, limit: int) -> str | None:
    if value is None or len(value) <= limit:
        return value
    return value[:limit] + " [truncated]"


_E = TypeVar("_E", bound=pyarrow.flight.FlightError)


def _new_error(kind: type[_E], msg: str, extra_info: bytes) -> _E:
    return kind(msg, extra_info=extra_info)  # type: ignore[call-arg]  # pyarrow-stubs omit FlightError.__init__


def _checked_body(body: bytes | str | None) -> bytes | None:
    data = body.encode("utf-8") if isinstance(body, str) else body
    if data is not None and len(data) > MAX_BODY_BYTES:
        raise ValueError(
            f"ErrorInfo body is {len(data)} bytes, over the cap of {MAX_BODY_BYTES} bytes "
            "(error details travel in gRPC metadata, which is size-limited)"
        )
    return data


class ErrorInfo:
    """Error message, detail, code and optional body; build one, then raise one of its ``to_*_error()``."""

    def __init__(self, msg: str, detail: str | None = None, body: bytes | None = None, code: int = 0) -> None:
        self._msg: str = _truncate(msg, MAX_MSG_CHARS) or ""
        self._detail = _truncate(detail, MAX_DETAIL_CHARS)
        self._body = _checked_body(body)
        self._code = code

    @property
    def msg(self) -> str:
        """Human-readable message (at most 256 characters)."""
        return self._msg

    @property
    def detail(self) -> str | None:
        """Optional diagnostic detail (at most 512 characters)."""
        return self._detail

    @property
    def body(self) -> bytes | None:
        """Optional machine-readable payload for the client."""
        return self._body

    @property
    def code(self) -> int:
        """Error code; see ErrorCode."""
        return self._code

    def with_msg(self, msg: str) -> ErrorInfo:
        """Replace the message; returns self for chaining."""
        self._msg = _truncate(msg, MAX_MSG_CHARS) or ""
        return self

    def with_detail(self, detail: str | None = None) -> ErrorInfo:
        """Replace or clear the detail; returns self for chaining."""
        self._detail = _truncate(detail, MAX_DETAIL_CHARS)
        return self

    def with_body(self, body: bytes | str | None) -> ErrorInfo:
        """Replace or clear the body (str is UTF-8 encoded); returns self for chaining."""
        self._body = _checked_body(body)
        return self

    def with_code(self, code: int = 0) -> ErrorInfo:
        """Replace the code; returns self for chaining."""
        self._code = code
        return self

    def __repr__(self) -> str:
        return f"ErrorInfo(code={ErrorCode.name(self._code)!r}, msg={self._msg!r})"

    def to_bytes(self) -> bytes:
        """Serialize to the compact JSON sent in ``extra_info``."""
        body = base64.b64encode(self._body).decode("ascii") if self._body else None
        return orjson.dumps({"msg": self._msg, "detail": self._detail, "code": self._code, "body": body})

    def to_flight_error(self, error_factory: FlightErrorFactory) -> pyarrow.flight.FlightError:
        """Wrap into an error made by ``error_factory(msg, extra_info)``."""
        return error_factory(self._msg, self.to_bytes())

    def to_user_error(self) -> pyarrow.flight.FlightServerError:
        """Error for bad client input (a FlightServerError, as in the reference)."""
        return _new_error(pyarrow.flight.FlightServerError, self._msg, self.to_bytes())

    def to_server_error(self) -> pyarrow.flight.FlightServerError:
        """Wrap into a FlightServerError."""
        return _new_error(pyarrow.flight.FlightServerError, self._msg, self.to_bytes())

    def to_internal_error(self) -> pyarrow.flight.FlightInternalError:
        """Wrap into a FlightInternalError."""
        return _new_error(pyarrow.flight.FlightInternalError, self._msg, self.to_bytes())

    def to_timeout_error(self) -> pyarrow.flight.FlightTimedOutError:
        """Wrap into a FlightTimedOutError."""
        return _new_error(pyarrow.flight.FlightTimedOutError, self._msg, self.to_bytes())

    def to_cancelled_error(self) -> pyarrow.flight.FlightCancelledError:
        """Wrap into a FlightCancelledError."""
        return _new_error(pyarrow.flight.FlightCancelledError, self._msg, self.to_bytes())

    def to_unavailable_error(self) -> pyarrow.flight.FlightUnavailableError:
        """Wrap into a FlightUnavailableError."""
        return _new_error(pyarrow.flight.FlightUnavailableError, self._msg, self.to_bytes())

    def to_unauthenticated_error(self) -> pyarrow.flight.FlightUnauthenticatedError:
        """Wrap into a FlightUnauthenticatedError."""
        return _new_error(pyarrow.flight.FlightUnauthenticatedError, self._msg, self.to_bytes())

    def to_unauthorized_error(self) -> pyarrow.flight.FlightUnauthorizedError:
        """Wrap into a FlightUnauthorizedError."""
        return _new_error(pyarrow.flight.FlightUnauthorizedError, self._msg, self.to_bytes())

    @staticmethod
    def from_bytes(val: bytes) -> ErrorInfo:
        """Parse the JSON form; raises ValueError when it is not ErrorInfo."""
        try:
            doc: Any = orjson.loads(val)
            body = doc.get("body")
            return ErrorInfo(
                msg=str(doc.get("msg") or ""),
                detail=doc.get("detail"),
                body=base64.b64decode(body, validate=True) if body is not None else None,
                code=int(doc.get("code") or 0),
            )
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError) as e:
            raise ValueError(f"extra_info does not hold an ErrorInfo: {e}") from None

    @staticmethod
    def maybe_from_pyarrow_error(error: pyarrow.flight.FlightError) -> ErrorInfo | None:
        """The ErrorInfo inside a FlightError, or None when it carries none."""
        extra = error.extra_info
        if not extra:
            return None
        try:
            return ErrorInfo.from_bytes(extra)
        except ValueError:
            return None

    @staticmethod
    def from_pyarrow_error(error: pyarrow.flight.FlightError) -> ErrorInfo:
        """The ErrorInfo inside a FlightError, or an UNKNOWN placeholder quoting its message."""
        found = ErrorInfo.maybe_from_pyarrow_error(error)
        if found is not None:
            return found
        return ErrorInfo(msg=f"Call failed with an error that carries no ErrorInfo: {error}")

    @staticmethod
    def for_exc(
        code: int, e: BaseException, extra_msg: str | None = None, include_traceback: bool = False
    ) -> ErrorInfo:
        """ErrorInfo for an exception: ``extra_msg: str(e)``; the traceback only when asked for."""
        text = str(e)
        if extra_msg is not None:
            text = f"{extra_msg}: {text}" if text else f"{extra_msg}."
        detail = "".join(traceback.format_exception(e)) if include_traceback else None
        return ErrorInfo(msg=text, detail=detail, code=code)

    @staticmethod
    def for_reason(code: int, msg: str) -> ErrorInfo:
        """ErrorInfo with a code and a message."""
        return ErrorInfo(msg=msg, code=code)

    @staticmethod
    def for_response(code: int, msg: str, body: bytes) -> ErrorInfo:
        """ErrorInfo with a code, a message and a machine-readable body."""
        return ErrorInfo(msg=msg, body=body, code=code)

    @staticmethod
    def bad_argument(msg: str) -> pyarrow.flight.FlightError:
        """Ready-to-raise BAD_ARGUMENT error."""
        return ErrorInfo(msg=msg, code=ErrorCode.BAD_ARGUMENT).to_user_error()

    @staticmethod
    def poll(
        flight_info: pyarrow.flight.FlightInfo | None = None,
        retry_descriptor: pyarrow.flight.FlightDescriptor | None = None,
        cancel_descriptor: pyarrow.flight.FlightDescriptor | None = None,
    ) -> pyarrow.flight.FlightTimedOutError:
        """Ready-to-raise POLL error whose body is a RetryInfo."""
        retry = RetryInfo(flight_info, retry_descriptor, cancel_descriptor)
        info = ErrorInfo(msg="Work in progress. Retry.", code=ErrorCode.POLL, body=retry.to_bytes())
        return info.to_timeout_error()


def _b64(serialized: bytes | None) -> str | None:
    return base64.b64encode(serialized).decode("ascii") if serialized is not None else None


def _unb64(doc: dict[str, Any], key: str) -> bytes | None:
    value = doc.get(key)
    return base64.b64decode(value, validate=True) if value is not None else None


class RetryInfo:
    """Body of a POLL error: the FlightInfo so far and descriptors to retry or cancel the command."""

    def __init__(
        self,
        flight_info: pyarrow.flight.FlightInfo | None = None,
        retry_descriptor: pyarrow.flight.FlightDescriptor | None = None,
        cancel_descriptor: pyarrow.flight.FlightDescriptor | None = None,
    ) -> None:
        self._flight_info = flight_info
        self._retry_descriptor = retry_descriptor
        self._cancel_descriptor = cancel_descriptor

    @property
    def flight_info(self) -> pyarrow.flight.FlightInfo | None:
        """FlightInfo available so far, if any."""
        return self._flight_info

    @property
    def retry_descriptor(self) -> pyarrow.flight.FlightDescriptor | None:
        """Descriptor to poll again with; None once the command completed."""
        return self._retry_descriptor

    @property
    def cancel_descriptor(self) -> pyarrow.flight.FlightDescriptor | None:
        """Descriptor to cancel the command with; None when it cannot be cancelled."""
        return self._cancel_descriptor

    def to_bytes(self) -> bytes:
        """Serialize to JSON with base64 Flight protobufs."""
        return orjson.dumps(
            {
                "flight_info": _b64(self._flight_info.serialize() if self._flight_info else None),
                "retry_descriptor": _b64(self._retry_descriptor.serialize() if self._retry_descriptor else None),
                "cancel_descriptor": _b64(self._cancel_descriptor.serialize() if self._cancel_descriptor else None),
            }
        )

    @staticmethod
    def from_bytes(val: bytes) -> RetryInfo:
        """Parse the JSON form; raises ValueError when it is malformed."""
        try:
            doc: dict[str, Any] = orjson.loads(val)
            info = _unb64(doc, "flight_info")
            retry = _unb64(doc, "retry_descriptor")
            cancel = _unb64(doc, "cancel_descriptor")
            return RetryInfo(
                flight_info=pyarrow.flight.FlightInfo.deserialize(info) if info is not None else None,
                retry_descriptor=pyarrow.flight.FlightDescriptor.deserialize(retry) if retry else None,
                cancel_descriptor=pyarrow.flight.FlightDescriptor.deserialize(cancel) if cancel else None,
            )
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError, pyarrow.ArrowException) as e:
            raise ValueError(f"body does not hold a RetryInfo: {e}") from None
