"""Error tree with stable codes; boundaries (CLI, API) translate these once."""

from __future__ import annotations


class ThemecoderError(Exception):
    """Base class. ``code`` is stable and safe to show to users and clients."""

    code = "themecoder_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(ThemecoderError):
    """The caller gave input that cannot be used (bad file, missing column, bad value)."""

    code = "invalid_input"


class EncodingError(InvalidInput):
    """A file is not in the expected text encoding."""

    code = "bad_encoding"


class MissingColumn(InvalidInput):
    """A named column is not in the input."""

    code = "missing_column"


class NoRecords(InvalidInput):
    """A file holds nothing to code: no row, object, turn or cue (a folder read skips it)."""

    code = "no_records"


class NotFound(ThemecoderError):
    """A named thing (model, item, file) does not exist."""

    code = "not_found"


class Conflict(ThemecoderError):
    """The request conflicts with the current state."""

    code = "conflict"


class NotFitted(ThemecoderError):
    """An estimator was used before ``fit``."""

    code = "not_fitted"


class ModelUnavailable(ThemecoderError):
    """A model (embedding, spaCy, coder artifact) could not be loaded."""

    code = "model_unavailable"


class Unauthorized(ThemecoderError):
    """No API key, or one that is unknown or revoked."""

    code = "unauthorized"


class Forbidden(ThemecoderError):
    """The key's role may not do this."""

    code = "forbidden"


class PayloadTooLarge(ThemecoderError):
    """A request body or batch is over the configured limit."""

    code = "payload_too_large"


class ConfigurationError(ThemecoderError):
    """The settings in force cannot serve what the data asks (e.g. a missing encryption key)."""

    code = "configuration_error"
