"""The live engine and its devices: the callback, rings and inference thread (``engine``,
``ring``, ``fallback``), the file clock (``file_clock``), an engine for a model by name
(``builder``), an engine between devices (``device_session``), audio devices (``devices``), the
audio server's ``pactl`` (``pactl``), the virtual microphone and speaker (``virtual_devices``), the
systemd unit (``service``) and ``rtdenoise live`` (``command``). ``rtdenoise.live.LiveEngine`` is
imported on first use, so listing devices loads no model library.
"""
from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "LiveEngine":
        from .engine import LiveEngine
        return LiveEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
