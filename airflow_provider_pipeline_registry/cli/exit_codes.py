"""Exit codes of ``pipeline-registry`` and the mapping of registry errors to them."""

from __future__ import annotations

from enum import IntEnum

from ..registry.errors import (
    AccessDeniedError,
    ConfigurationError,
    ConflictError,
    ItemNotFoundError,
    RegistryError,
    RegistryValidationError,
    RetryableError,
    TableNotFoundError,
)


class ExitCode(IntEnum):
    """What a non-zero exit status means (documented in the README's CLI section)."""

    OK = 0
    ERROR = 1  # anything else
    USAGE = 2  # bad command line or option value (typer/click use 2 too)
    NOT_FOUND = 3  # pipeline, run or registry table does not exist
    CONFLICT = 4  # a conditional write was refused
    VALIDATION = 5  # invalid input data (config file, filter values, page token)
    CONNECTION = 6  # DynamoDB unreachable or throttling outlived the retries
    ACCESS_DENIED = 7  # missing or refused AWS credentials
    RUN_NOT_SUCCESSFUL = 8  # `runs watch`: the run ended FAILED or CANCELLED
    WATCH_TIMEOUT = 9  # `runs watch`: the run was still running when --timeout expired
    DIFFERENCES = 10  # `config diff`: the files and the registry differ (0: they do not)


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code for an error raised by the registry core."""
    if isinstance(error, ConfigurationError):
        return ExitCode.USAGE
    if isinstance(error, ItemNotFoundError | TableNotFoundError):
        return ExitCode.NOT_FOUND
    if isinstance(error, ConflictError):
        return ExitCode.CONFLICT
    if isinstance(error, RegistryValidationError):
        return ExitCode.VALIDATION
    if isinstance(error, RetryableError):
        return ExitCode.CONNECTION
    if isinstance(error, AccessDeniedError):
        return ExitCode.ACCESS_DENIED
    if isinstance(error, RegistryError):
        return ExitCode.ERROR
    return ExitCode.ERROR
