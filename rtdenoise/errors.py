"""The exceptions that reach users as a one-line message instead of a traceback: RtDenoiseError and its kinds."""


class RtDenoiseError(Exception):
    """A problem with the user's input, files, model or devices, explained in one line."""


class ModelError(RtDenoiseError):
    """A model that is missing, corrupt, or does not match its config."""


class BackendError(RtDenoiseError):
    """A backend that is not available here, a graph that cannot be had, or one that failed to build."""


class AudioError(RtDenoiseError):
    """Audio that cannot be read, is empty, or holds NaN/Inf samples."""
