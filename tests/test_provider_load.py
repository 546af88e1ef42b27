"""``CredentialsSource.from_aiven`` under many threads, against the API stand-in
(tests/aiven_standin.py): with the API down the back-off holds (calls are counted), and a
slow refresh holds up no caller (they are served the last good material at once)."""

from __future__ import annotations

import threading
import time
import uuid

from aiven_standin import service, service_user
from tlsconnect import Credentials, CredentialsSource, ProviderAPIError

pytest_plugins = ["aiven_fixtures"]  # the stand-in API's fixtures: standin, aiven_env

THREADS = 8


def _project(api, pki, issued) -> str:
    name = f"proj-{uuid.uuid4().hex[:8]}"
    api.add_project(name, pki.ca.cert_pem, _services(issued))
    return name


def _services(issued) -> list:
    user = service_user("avnadmin", cert_pem=issued.cert_pem, key_pem=issued.key_pem)
    return [service("kafka-1", "kafka", "localhost", 9093, users=[user])]


def _hammer(source: CredentialsSource, seconds: float) -> tuple[list[Credentials], float]:
    """THREADS threads asking ``source.current()`` for ``seconds``: what they got, and the
    longest any one call took."""
    seen: list[Credentials] = []
    slowest = [0.0]
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def run() -> None:
        start.wait()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            began = time.monotonic()
            try:
                got = source.current()
            except BaseException as exc:  # reported below
                errors.append(exc)
                return
            took = time.monotonic() - began
            with lock:
                seen.append(got)
                slowest[0] = max(slowest[0], took)
            time.sleep(0.002)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    assert not errors, errors
    return seen, slowest[0]


def test_with_the_api_down_many_threads_make_one_call_per_back_off(aiven_env, pki):
    project = _project(aiven_env, pki, pki.client)
    retry_after = 0.5
    source = CredentialsSource.from_aiven(project, "kafka-1", interval=0.2, retry_after=retry_after)
    first = source.current()
    aiven_env.forbidden.add(project)  # the API answers 403 from now on
    # what one failed fetch costs, in requests
    before = len(aiven_env.paths(project))
    try:
        Credentials.from_aiven(project, "kafka-1")
    except ProviderAPIError as exc:
        assert exc.status == 403
    per_fetch = len(aiven_env.paths(project)) - before
    assert per_fetch >= 1
    time.sleep(0.25)  # the interval passed: the next caller fetches, and fails
    before = len(aiven_env.paths(project))
    seconds = 1.6
    seen, _ = _hammer(source, seconds)
    fetches = (len(aiven_env.paths(project)) - before) / per_fetch
    # one fetch when the interval passed, then at most one per back-off period
    assert 1 <= fetches <= 1 + seconds / retry_after + 1, fetches
    assert len(seen) > THREADS * 50  # many calls, none held up by a failing fetch
    assert all(got is first for got in seen)  # the last good material


def test_a_slow_refresh_holds_up_no_caller(aiven_env, pki):
    project = _project(aiven_env, pki, pki.client)
    source = CredentialsSource.from_aiven(project, "kafka-1", interval=0.2)
    first = source.current()
    renewed = pki.issue_cert("slow-renewed", common_name="avnadmin", is_client=True)
    aiven_env.set_services(project, _services(renewed))
    aiven_env.delay = 0.4  # each answer of the API now takes 0.4 s
    try:
        time.sleep(0.25)  # the interval passed
        refresher = threading.Thread(target=source.refresh)
        began = time.monotonic()
        refresher.start()
        time.sleep(0.05)  # the refresh is under way
        seen, slowest = _hammer(source, 0.6)
        refresher.join(30)
        took = time.monotonic() - began
    finally:
        aiven_env.delay = 0.0
    assert took >= 0.8  # the refresh really was slow (two or more answers of 0.4 s)
    assert slowest < 0.2, slowest  # and no caller waited for it
    assert seen and all(got is first for got in seen)
    assert source.current().certificate.serial_number == renewed.cert.serial_number
    assert source.generation == 2
