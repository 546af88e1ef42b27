"""`tlsconnect check --project` on a project of 50 endpoints: the whole project against
its slowest check and against the sum of its checks.

    python benchmarks/project_check.py                 # 50 endpoints, default workers
    python benchmarks/project_check.py --endpoints 20 --workers 8 --rounds 1

It makes a fresh PKI, starts a PostgreSQL (ssl=on), a Kafka-protocol broker (tansu
behind stunnel, client certificates required) and TLS servers, all from
tlsconnect.testing (the TLS servers say nothing after the handshake, standing for the
service types check has no protocol for, Cassandra and Dragonfly: tlsconnect then waits
half a second for a late TLS alert, the slowest kind of check), and the provider API's
stand-in
(tests/aiven_standin.py) listing the services: about a tenth PostgreSQL, a tenth Kafka
(client certificate), the rest public-CA types. Each round checks the project twice
through the real API client: with the default concurrency, and one check at a time (the
sum). Everything is stopped at the end. Figures go to benchmarks/results/project_check.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))  # measure the checkout this file is in

import aiven_standin  # noqa: E402
from tlsconnect import check_project, testing  # noqa: E402
from tlsconnect._project import DEFAULT_WORKERS  # noqa: E402

PUBLIC_TYPES = ("cassandra", "dragonfly")


def measure(
    pki: testing.PKI,
    pg: testing.PostgresServer,
    broker: testing.KafkaServer,
    *,
    endpoints: int,
    workers: int,
    rounds: int,
) -> dict[str, object]:
    """List ``endpoints`` services through the API stand-in and check the project, with
    ``workers`` at a time and one at a time, ``rounds`` times; the figures."""
    tls: list[testing.TLSServer] = []
    api = aiven_standin.StandInAPI(
        pki.server.cert_path, pki.server.key_path, pki.ca.cert_path, "tok-" + secrets.token_hex(16)
    )
    saved = dict(os.environ)
    try:
        listed = []
        n_pg = max(1, endpoints // 10)
        n_kafka = max(1, endpoints // 10)
        for n in range(n_pg):
            listed.append(aiven_standin.service(f"pg-{n:02}", "pg", "localhost", pg.port))
        user = aiven_standin.service_user(
            "avnadmin", cert_pem=pki.client.cert_pem, key_pem=pki.client.key_pem
        )
        for n in range(n_kafka):
            listed.append(
                aiven_standin.service(
                    f"kafka-{n:02}",
                    "kafka",
                    "localhost",
                    broker.port,
                    components=[
                        aiven_standin.component(
                            "kafka",
                            "localhost",
                            broker.port,
                            kafka_authentication_method="certificate",
                        )
                    ],
                    users=[user],
                )
            )
        for n in range(endpoints - n_pg - n_kafka):
            server = testing.TLSServer(pki.server.cert_path, pki.server.key_path, greeting=b"")
            tls.append(server)
            kind = PUBLIC_TYPES[n % len(PUBLIC_TYPES)]
            listed.append(aiven_standin.service(f"{kind}-{n:02}", kind, "127.0.0.1", server.port))
        api.add_project("bench", pki.ca.cert_pem, listed)
        os.environ.update(api.env())
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # they would beat AIVEN_CA_CERT
            os.environ.pop(name, None)

        check_project("bench", workers=workers)  # warm: imports, certifi's directory
        figures = []
        for _ in range(rounds):
            together = check_project("bench", workers=workers)
            alone = check_project("bench", workers=1)
            if not (together.ok and alone.ok):
                raise RuntimeError(f"the project check failed:\n{together}")
            singles = [item.seconds or 0.0 for item in alone.endpoints]
            figures.append(
                {
                    "whole_project_s": together.seconds,
                    "one_at_a_time_s": alone.seconds,
                    "sum_of_checks_s": round(sum(singles), 3),
                    "slowest_check_s": max(singles),
                    "slowest_check_concurrent_s": max(i.seconds or 0 for i in together.endpoints),
                }
            )
        return {
            "endpoints": len(listed),
            "postgresql": n_pg,
            "kafka": n_kafka,
            "workers": workers,
            "rounds": figures,
            "median": {
                "whole": statistics.median(r["whole_project_s"] for r in figures),
                "slowest": statistics.median(r["slowest_check_s"] for r in figures),
                "sum": statistics.median(r["sum_of_checks_s"] for r in figures),
            },
        }
    finally:
        os.environ.clear()
        os.environ.update(saved)
        api.stop()
        for server in tls:
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=50)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="tlsconnect-project-bench-"))
    os.environ["TLSCONNECT_CACHE_DIR"] = str(work / "cache")
    pki = testing.make_pki(work / "pki")
    pg_farm = testing.PostgresFarm(pki.ca.cert_path, pki.server_certs())
    kafka_farm = testing.KafkaFarm(pki.ca.cert_path, pki.server_certs())
    try:
        figures = measure(
            pki,
            pg_farm.get("good"),
            kafka_farm.get("good"),
            endpoints=args.endpoints,
            workers=args.workers,
            rounds=args.rounds,
        )
    finally:
        kafka_farm.stop()
        pg_farm.stop()
    median = figures["median"]
    assert isinstance(median, dict)
    whole, slowest, total = median["whole"], median["slowest"], median["sum"]
    print(
        f"{figures['endpoints']} endpoints ({figures['postgresql']} PostgreSQL, "
        f"{figures['kafka']} Kafka, the rest public-CA types), {args.workers} at a time, "
        f"median of {args.rounds} rounds; {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    print()
    print("| what | seconds | ratio (whole project / this) |")
    print("| --- | --- | --- |")
    print(f"| whole project (API calls included) | {whole:.3f} | 1.00 |")
    print(f"| slowest single check | {slowest:.3f} | {whole / slowest:.2f} |")
    print(f"| sum of the single checks | {total:.3f} | {whole / total:.3f} |")
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "project_check.json").write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
