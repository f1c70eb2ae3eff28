"""`dialer simulate`: the simulator under uvicorn, where the client expects sb-api to be."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import uvicorn

from dialer.settings import Settings
from dialer.simulator.app import create_app
from dialer.simulator.options import SimulatorOptions

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8900
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def listen_address(settings: Settings, options: SimulatorOptions) -> tuple[str, int]:
    """The options' address, else that of a loopback SB_API_URL, so that both agree unwired."""
    url = urlsplit(settings.sb_api_url)
    local = url.hostname in LOOPBACK
    host = options.host or (url.hostname if local and url.hostname else DEFAULT_HOST)
    port = options.port or (url.port if local and url.port else DEFAULT_PORT)
    return host, port


def run(
    options: SimulatorOptions, settings: Settings, *, tune: Callable[[], None] | None = None
) -> None:
    """Serves until interrupted; webhooks in flight are cancelled on the way out. `tune` runs
    once the app is built (the shell's garbage-collector tuning: its arrival times are what the
    CPS tests measure)."""
    host, port = listen_address(settings, options)
    app = create_app(settings, options)
    if tune is not None:
        tune()
    uvicorn.run(app, host=host, port=port, ws="none", timeout_graceful_shutdown=5)
