"""The exceptions that reach users as a one-line message instead of a traceback: RtDenoiseError and
its kinds, and the range check that names a parameter the way the library knows it."""


class RtDenoiseError(Exception):
    """A problem with the user's input, files, model or devices, explained in one line."""

    #: End the process right after the message, skipping exit handlers: set when a native library
    #: holds a thread it could not stop, and its clean-up at exit would wait on that thread for good.
    exit_at_once: bool = False


class ModelError(RtDenoiseError):
    """A model that is missing, corrupt, or does not match its config."""


class BackendError(RtDenoiseError):
    """A backend that is not available here, a graph that cannot be had, or one that failed to build."""


class AudioError(RtDenoiseError):
    """Audio that cannot be read, is empty, or holds NaN/Inf samples."""


class ParameterError(RtDenoiseError, ValueError):
    """A parameter out of range, named as the library knows it (``hop``, ``overlap_hop``,
    ``strength``). The library never spells a command-line flag: a command that passed the value
    from a flag reports it as that flag (:meth:`spelled`), an API or GUI user sees the name they used.

    ``template`` holds ``{name}`` wherever the parameter is named."""

    def __init__(self, name: str, template: str) -> None:
        self.name, self.template = name, template
        super().__init__(template.format(name=name))

    def spelled(self, name: str) -> str:
        """The message with the parameter spelled ``name`` (a command's ``--overlap-hop``)."""
        return self.template.format(name=name)


def check_range(name: str, value: float | None, minimum: float, maximum: float | None = None) -> None:
    """A numeric parameter's range check (None: not given), as a :class:`ParameterError`."""
    if value is None:
        return
    if value != value or value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum:g} and {maximum:g}" if maximum is not None else f"at least {minimum:g}"
        raise ParameterError(name, f"{{name}} must be {bound}, got {value:g}")
