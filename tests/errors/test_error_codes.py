"""ErrorCode numbers and retry flags match what reference clients expect."""

import pytest

from gfs_runtime.errors.codes import ErrorCode, error_code


def test_codes_have_the_reference_numbers() -> None:
    expected = {
        "UNKNOWN": 0,
        "BAD_ARGUMENT": 1,
        "BAD_REQUEST": 2,
        "UNSUPPORTED_SERVICE": 3,
        "INVALID_TICKET": 4,
        "COMMAND_FAILED": 5,
        "COMMAND_CANCELLED": 6,
        "COMMAND_CANCEL_NOT_POSSIBLE": 7,
        "COMMAND_RESULT_CONSUMED": 8,
        "TIMEOUT": 100,
        "POLL": 0x10065,
        "BACKPRESSURE": 0x30066,
        "INTERNAL_ERROR": 0x201F4,
        "NOT_READY": 0x301F5,
        "SHUTTING_DOWN": 0x201F6,
        "NOT_IMPLEMENTED": 503,
    }
    assert {name: getattr(ErrorCode, name) for name in expected} == expected


@pytest.mark.parametrize(
    ("code", "here", "other", "any_", "retryable"),
    [
        (ErrorCode.POLL, True, False, False, True),
        (ErrorCode.INTERNAL_ERROR, False, True, False, True),
        (ErrorCode.BACKPRESSURE, True, True, True, True),
        (ErrorCode.BAD_ARGUMENT, False, False, False, False),
    ],
)
def test_retry_flags_are_read_from_the_high_bits(
    code: int, here: bool, other: bool, any_: bool, retryable: bool
) -> None:
    assert ErrorCode.is_retry_here(code) is here
    assert ErrorCode.is_retry_other(code) is other
    assert ErrorCode.is_retry_any(code) is any_
    assert ErrorCode.is_retryable(code) is retryable


def test_name_reads_known_custom_and_unknown_codes() -> None:
    assert ErrorCode.name(ErrorCode.POLL) == "poll (101)"
    assert ErrorCode.name(ErrorCode.SHUTTING_DOWN) == "shutting_down (502)"
    assert ErrorCode.name(error_code(1005, retry="here")) == "custom (1005)"
    assert ErrorCode.name(77) == "unknown (77)"
    assert ErrorCode.name(-3) == "unknown (-3)"


def test_custom_code_number_outside_16_bits_is_refused() -> None:
    with pytest.raises(ValueError, match=r"0\.\.65535"):
        error_code(70000)
