"""The cold start stays cold: what `import tlsconnect` and the first public-CA context
import, beyond `ssl`, is a short, fixed list.

Measured in a clean interpreter (`python -S`, with site-packages on PYTHONPATH), so that
modules another package's start-up hook imports do not hide ours. The list may only
shrink: a module added to the path of the first context costs every CLI run, cron job and
serverless function that uses tlsconnect.
"""

from __future__ import annotations

import json
import os
import pathlib
import site
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

#: Every module `import tlsconnect; tlsconnect.ssl_context(...)` may import that `ssl`
#: has not already (standard library: only what is tiny or built in).
ALLOWED = {
    "__future__",
    "atexit",
    "tlsconnect",
    "tlsconnect._aiven",  # Credentials.from_aiven's API client: aiven-client loads on use
    "tlsconnect._cache",
    "tlsconnect._cadir",
    "tlsconnect._certs",
    "tlsconnect._context",
    "tlsconnect._decide",
    "tlsconnect._diagnose",
    "tlsconnect._envvars",  # Credentials.from_env's conventions: no module beyond ssl's
    "tlsconnect._errors",
    "tlsconnect._files",
    "tlsconnect._handshake",
    "tlsconnect._material",
    "tlsconnect._model",
    "tlsconnect._pem",
    "tlsconnect._plan",
    "tlsconnect._term",  # printable(): certificate names in errors, escaped; os and re only
    "tlsconnect._trust",
    "tlsconnect._version",
    "tlsconnect._wire",
}

PROBE = """
import json, sys
import ssl
before = set(sys.modules)
import tlsconnect
after_import = set(sys.modules) - before
tlsconnect.ssl_context({service!r})
print(json.dumps({{"import": sorted(after_import), "first": sorted(set(sys.modules) - before)}}))
"""


def run_clean(code: str, cache: pathlib.Path) -> dict[str, list[str]]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *site.getsitepackages()]),
        "TLSCONNECT_CACHE_DIR": str(cache),
        "HOME": os.environ.get("HOME", "/root"),
    }
    result = subprocess.run(
        [sys.executable, "-S", "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("service", ["opensearch", "redis"])
def test_import_and_first_public_context_import_only_the_short_list(tmp_path, service):
    cache = tmp_path / "cache"
    run_clean(PROBE.format(service=service), cache)  # the first run on a machine builds
    seen = run_clean(PROBE.format(service=service), cache)
    assert seen["import"] == ["tlsconnect", "tlsconnect._version"]
    extra = set(seen["first"]) - ALLOWED
    assert extra == set(), f"new modules on the path of the first context: {sorted(extra)}"
    for heavy in ("certifi", "cryptography", "typing", "dataclasses", "pathlib", "tempfile"):
        assert heavy not in seen["first"]
