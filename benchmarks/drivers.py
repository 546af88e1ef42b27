"""Driver parameters and real connections: psycopg_params with text material and with
project+public trust, a psycopg connection, a kafka-python producer."""

from __future__ import annotations

import statistics
import textwrap
from typing import Any

from harness import Bench, Row


def psycopg_params_rows(bench: Bench) -> None:
    texts = {k: v.read_text() for k, v in bench.paths.items()}
    prologue = (
        "import json, time, os, tempfile, psycopg\n"
        f"ca, cert, key = {texts['ca']!r}, {texts['cert']!r}, {texts['key']!r}\n"
    )
    tls_code = prologue + textwrap.dedent(
        """
        from tlsconnect import psycopg_params
        t = time.perf_counter()
        p = psycopg_params('host=localhost dbname=defaultdb', ca=ca, cert=cert, key=key)
        print(json.dumps({'ms': (time.perf_counter() - t) * 1000}))
        """
    )
    hand_code = prologue + textwrap.dedent(
        """
        t = time.perf_counter()
        d = tempfile.mkdtemp()
        names = {}
        for name, text in (('sslrootcert', ca), ('sslcert', cert), ('sslkey', key)):
            fd, path = tempfile.mkstemp(dir=d)
            with os.fdopen(fd, 'w') as f:
                f.write(text)
            names[name] = path
        p = dict(host='localhost', dbname='defaultdb', sslmode='verify-full', **names)
        print(json.dumps({'ms': (time.perf_counter() - t) * 1000}))
        """
    )
    xs, ys = bench.interleave(
        lambda: float(bench.python(tls_code)["ms"]),
        lambda: float(bench.python(hand_code)["ms"]),
        bench.rounds(15, 1),
    )
    row5a = bench.add(
        Row(
            "5a",
            "psycopg_params, material as text: first call in a fresh process",
            "psycopg_params(conninfo, ca=text, cert=text, key=text)",
            "write 3 temp files by hand (mkstemp), build the dict",
            target="(no target)",
        ),
        xs,
        ys,
    )
    row5a.notes.append(
        "tlsconnect's side parses and checks the material (importing cryptography) and "
        "writes 0600 files in a 0700 directory"
    )
    import psycopg  # noqa: F401  (users of psycopg_params have it imported)

    import tlsconnect
    from tlsconnect import _cache

    def ours() -> None:
        tlsconnect.psycopg_params(
            "host=localhost dbname=defaultdb", ca=texts["ca"], cert=texts["cert"], key=texts["key"]
        )

    ours()
    repeated = [bench.timed(ours) for _ in range(bench.rounds(1000, 20))]
    warm_first = [bench.timed(ours, before=_cache.clear) for _ in range(bench.rounds(200, 5))]
    row5b = bench.add(
        Row(
            "5b",
            "psycopg_params, material as text: repeated",
            "psycopg_params(same texts), repeated",
            "tlsconnect's first call in a fresh process (row 5a)",
            target="<= 0.05",
        ),
        repeated,
        [row5a.tls_value or 0.0],
        target=0.05,
    )
    warm = statistics.median(warm_first)
    row5b.notes.append(
        f"against a warm process's first call with new inputs ({warm:.3f} ms) the ratio is "
        f"{(row5b.tls_value or 0) / warm:.2f}"
    )

    ca = str(bench.paths["ca"])

    def combined() -> None:
        tlsconnect.psycopg_params("host=localhost", ca=ca, trust="project+public")

    first = []
    for number in range(bench.rounds(20, 2)):
        # A first call: a CA never seen in this process (each its own text).
        text = f"# {number}\n" + texts["ca"]
        first.append(
            bench.timed(
                lambda text=text: tlsconnect.psycopg_params(
                    "host=localhost", ca=text, trust="project+public"
                )
            )
        )

    def project_only() -> None:
        tlsconnect.psycopg_params("host=localhost", ca=ca, trust="project")

    combined()
    project_only()
    repeated = [bench.timed(combined) for _ in range(bench.rounds(500, 20))]
    floor = statistics.median(bench.timed(project_only) for _ in range(bench.rounds(500, 20)))
    row5c = bench.add(
        Row(
            "5c",
            "psycopg_params with project+public trust, repeated",
            "psycopg_params(conninfo, ca=path, trust='project+public'), repeated",
            "its first call with a new CA (certifi's bundle read and joined to it)",
            target="<= 0.05",
        ),
        repeated,
        first,
        target=0.05,
    )
    row5c.extra["same_call_project_trust_ms"] = floor
    row5c.notes.append(
        "the CA + certifi bundle is written once per (CA, certifi version) and reused; what "
        f"bounds the ratio is the rest of the call: the same call with trust='project' costs "
        f"{floor:.3f} ms (the conninfo parsed, the plan and the material looked up)"
    )


def psycopg_connect_row(bench: Bench) -> None:
    import psycopg

    import tlsconnect

    server = bench.postgres()
    paths = bench.paths
    url = f"postgresql://avnadmin@localhost:{server.port}/defaultdb"

    def ours() -> None:
        params = tlsconnect.psycopg_params(
            url, ca=paths["ca"], cert=paths["cert"], key=paths["key"]
        )
        with psycopg.connect(**params) as conn:
            conn.execute("SELECT 1").fetchone()

    def hand() -> None:
        params = {
            "host": "localhost",
            "port": server.port,
            "dbname": "defaultdb",
            "user": "avnadmin",
            "sslmode": "verify-full",
            "sslrootcert": str(paths["ca"]),
            "sslcert": str(paths["cert"]),
            "sslkey": str(paths["key"]),
        }
        with psycopg.connect(**params) as conn:
            conn.execute("SELECT 1").fetchone()

    ours()
    hand()
    xs, ys = bench.interleave(
        lambda: bench.timed(ours), lambda: bench.timed(hand), bench.rounds(60, 2)
    )
    bench.add(
        Row(
            "6",
            "psycopg connect + SELECT 1 (real TLS PostgreSQL, client cert)",
            "psycopg.connect(**psycopg_params(url, ca=, cert=, key=))",
            "psycopg.connect(sslmode='verify-full', sslrootcert=, sslcert=, sslkey=)",
            target="<= 1.05",
        ),
        xs,
        ys,
        target=1.05,
    ).notes.append("parameters built inside the timed part on both sides")


def kafka_row(bench: Bench) -> None:
    from kafka import KafkaProducer

    import tlsconnect

    broker = bench.kafka()
    paths = bench.paths

    def produce(config: dict[str, Any]) -> None:
        producer = KafkaProducer(**config, request_timeout_ms=15000)
        try:
            producer.send("bench", b"x").get(timeout=30)
        finally:
            producer.close(timeout=5)

    def ours() -> None:
        produce(
            tlsconnect.kafka_python_config(
                broker.bootstrap, ca=paths["ca"], cert=paths["cert"], key=paths["key"]
            )
        )

    def hand() -> None:
        produce(
            {
                "bootstrap_servers": broker.bootstrap,
                "security_protocol": "SSL",
                "ssl_cafile": str(paths["ca"]),
                "ssl_certfile": str(paths["cert"]),
                "ssl_keyfile": str(paths["key"]),
            }
        )

    ours()
    hand()
    xs, ys = bench.interleave(
        lambda: bench.timed(ours), lambda: bench.timed(hand), bench.rounds(20, 1)
    )
    bench.add(
        Row(
            "7",
            "kafka-python producer bootstrap + one send (tansu behind stunnel)",
            "KafkaProducer(**kafka_python_config(bootstrap, ca=, cert=, key=))",
            "KafkaProducer(security_protocol='SSL', ssl_cafile=, ssl_certfile=, ssl_keyfile=)",
            target="<= 1.05",
        ),
        xs,
        ys,
        target=1.05,
    ).notes.append("send().get() then close(); the configuration is built in the timed part")
