"""The one exception type that reaches users as a one-line message instead of a traceback."""


class RtDenoiseError(Exception):
    """A problem with the user's input, files, model or devices, explained in one line."""


class ModelError(RtDenoiseError):
    """A model that is missing, corrupt, or does not match its config."""


class AudioError(RtDenoiseError):
    """Audio that cannot be read, is empty, or holds NaN/Inf samples."""
