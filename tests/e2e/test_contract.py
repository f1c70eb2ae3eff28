"""The HTTP contract as schemathesis's CLI checks it against the real API process.

`dialer api` under uvicorn, on a migrated SQLite file and a real Redis on loopback ports
(tests/e2e/cluster.py, no workers), is run through `schemathesis run … --checks all`: every
request the document allows must be accepted, every one it forbids refused, every answer
documented, and every 405 must list its path's methods. A fixed seed and a bounded number of
examples keep the run reproducible and within about a minute and a half on two CPUs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.cluster import Cluster

pytestmark = pytest.mark.slow

SEED = "20261206"
MAX_EXAMPLES = "30"
CONFIG = Path(__file__).with_name("schemathesis.toml")
"""The one exception: 422 as an answer to schema-valid bodies that break a rule between fields."""
RUN_TIMEOUT = 300


@pytest.mark.timeout(RUN_TIMEOUT + 120)
def test_schemathesis_finds_no_failure_against_the_running_api(tmp_path: Path) -> None:
    schemathesis = shutil.which("schemathesis")
    assert schemathesis is not None, "schemathesis (a dev dependency) is not installed"
    # which callback hosts are allowed is a deployment's choice, not the contract's form
    private_callbacks = {"CALLBACK_ALLOW_PRIVATE": "true"}
    with Cluster(tmp_path / "cluster", workers=0, settings=private_callbacks) as cluster:
        result = subprocess.run(  # noqa: S603 - our own arguments
            [
                schemathesis,
                "--config-file",
                str(CONFIG),
                "run",
                f"{cluster.api_url}/openapi.json",
                "--header",
                f"Authorization: Bearer {cluster.api_key}",
                "--checks",
                "all",
                "--max-examples",
                MAX_EXAMPLES,
                "--seed",
                SEED,
                "--workers",
                "1",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
            cwd=tmp_path,
        )
    assert result.returncode == 0, result.stdout[-20_000:] + result.stderr[-5_000:]
