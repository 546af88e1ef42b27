"""A whole project checked at once (`tlsconnect check --project`): 50 endpoints listed by
the provider API's stand-in, against the slowest and the sum of their single checks."""

from __future__ import annotations

from harness import Bench, Row


def project_row(bench: Bench) -> None:
    import project_check

    endpoints = 50 if not bench.quick else 10
    figures = project_check.measure(
        bench.pki,
        bench.postgres(),
        bench.kafka(),
        endpoints=endpoints,
        workers=project_check.DEFAULT_WORKERS,
        rounds=bench.rounds(3, 1),
    )
    median = figures["median"]
    assert isinstance(median, dict)
    row = bench.add(
        Row(
            "P",
            f"check --project, {endpoints} endpoints at once",
            "check_project(): every endpoint checked concurrently",
            "the slowest of the single checks",
            unit="ms",
            target="about 1 (as long as its slowest)",
        ),
        [median["whole"] * 1000],
        [median["slowest"] * 1000],
    )
    row.notes.append(
        f"the sum of the single checks is {median['sum']:.2f} s; the whole project took "
        f"{median['whole']:.2f} s, {median['whole'] / median['sum']:.3f} of it"
    )
