"""`python -m workers`: one worker process, as `dialer worker` runs it."""

from __future__ import annotations

import logging

from dialer.settings import Settings
from workers.runner import run

if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    run(Settings())
