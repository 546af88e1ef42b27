"""PostgreSQL 17+ direct TLS against the classic SSLRequest: connection set-up through a
loopback proxy that holds every chunk 20 ms each way (a 40 ms round-trip path), for psycopg
and asyncpg, side by side in one run.

Both sides are ``tlsconnect.params(driver, url, ca=..., sslnegotiation=...)`` built before
the timed part, against the same PostgreSQL 18; the timed part is the connect call alone,
until the connection is ready for a query. The round trips are counted at the proxy (server
flights that answered a client flight) when the connect call returns. The TCP handshake to
the proxy is not delayed: on a real path it adds one round trip to both sides alike.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable

from harness import Bench, Row

from tlsconnect import testing

DELAY = 0.020  # seconds, each way


def direct_tls_rows(bench: Bench) -> None:
    import asyncpg
    import psycopg

    import tlsconnect

    server = bench.postgres18()
    with testing.RecordingProxy(server.port, delay=DELAY) as proxy:
        url = f"postgresql://tlsuser@localhost:{proxy.port}/defaultdb"
        ca = bench.pki.ca.cert_path

        def psycopg_connect(negotiation: str) -> Callable[[], tuple[float, int]]:
            params = tlsconnect.params("psycopg", url, ca=ca, sslnegotiation=negotiation)

            def run() -> tuple[float, int]:
                conn = None

                def connect() -> None:
                    nonlocal conn
                    conn = psycopg.connect(**params, connect_timeout=10)

                elapsed = bench.timed(connect)
                trips = proxy.connections[-1].round_trips
                if conn is not None:
                    conn.close()
                return elapsed, trips

            return run

        def asyncpg_connect(negotiation: str) -> Callable[[], tuple[float, int]]:
            params = tlsconnect.params("asyncpg", url, ca=ca, sslnegotiation=negotiation)

            async def once() -> tuple[float, int]:
                loop = asyncio.get_running_loop()
                started = loop.time()
                conn = await asyncpg.connect(**params, timeout=10)
                elapsed = (loop.time() - started) * 1000
                trips = proxy.connections[-1].round_trips
                await conn.close()
                return elapsed, trips

            return lambda: asyncio.run(once())

        for number, driver, make in (
            ("DTa", "psycopg", psycopg_connect),
            ("DTb", "asyncpg", asyncpg_connect),
        ):
            direct, classic = make("direct"), make("postgres")
            direct()  # warm: imports, the first context, the server's first backend
            classic()
            trips: dict[str, list[int]] = {"direct": [], "classic": []}

            def timed(
                counts: list[int], run: Callable[[], tuple[float, int]]
            ) -> Callable[[], float]:
                def measure() -> float:
                    elapsed, count = run()
                    counts.append(count)
                    return elapsed

                return measure

            xs, ys = bench.interleave(
                timed(trips["direct"], direct),
                timed(trips["classic"], classic),
                bench.rounds(20, 2),
            )
            rt_direct = int(statistics.median(trips["direct"]))
            rt_classic = int(statistics.median(trips["classic"]))
            row = bench.add(
                Row(
                    number,
                    f"{driver} connect, 20 ms each way: direct TLS {rt_direct} round trips, "
                    f"classic {rt_classic}",
                    f"params({driver!r}, url, ca=, sslnegotiation='direct')",
                    f"params({driver!r}, url, ca=) (the SSLRequest first)",
                    target="one round trip fewer (about 40 ms)",
                ),
                xs,
                ys,
            )
            row.holds = rt_classic - rt_direct == 1
            row.extra = {
                "delay_ms_each_way": DELAY * 1000,
                "round_trips": {"direct": rt_direct, "classic": rt_classic},
                "saved_ms": (row.base_value or 0) - (row.tls_value or 0),
            }
            row.notes.append(
                f"{driver}: direct TLS {rt_direct} round trips, classic {rt_classic}; "
                f"{row.extra['saved_ms']:.1f} ms saved per connection on a 40 ms path"
            )
