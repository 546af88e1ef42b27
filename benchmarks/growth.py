"""Growth: many builds in one process, new material each time (every cache misses): what
RSS, open file descriptors and files in $TMPDIR do, against the hand-written loop."""

from __future__ import annotations

from harness import Bench, Row


def growth_row(bench: Bench) -> None:
    builds = bench.rounds(10_000, 300)
    results = {}
    for who in ("tlsconnect", "hand"):
        tmp = bench.work / f"tmp-{who}"
        tmp.mkdir()
        env = dict(bench.env)
        env["TMPDIR"] = str(tmp)
        code = _ROW9_WORKER.format(
            who=who,
            builds=builds,
            ca=str(bench.paths["ca"]),
            cert=str(bench.paths["cert"]),
            key=str(bench.paths["key"]),
        )
        results[who] = bench.python(code, env)
    ours, hand = results["tlsconnect"], results["hand"]
    row = Row(
        "9",
        f"{builds:,} builds in one process: growth",
        "ssl_context + psycopg_params with text material, each build new text",
        "create_default_context(cadata) + load_cert_chain, each build",
        unit="MB RSS",
        target="RSS < 5 MB, no fd or temp-file growth",
    )
    row.tls_value = ours["rss_growth_mb"]
    row.base_value = hand["rss_growth_mb"]
    row.samples = builds
    row.holds = ours["rss_growth_mb"] < 5 and ours["fd_growth"] <= 0 and ours["tmp_growth"] <= 0
    row.extra = {"tlsconnect": ours, "hand_written": hand}
    row.notes.append(
        f"tlsconnect: fds {ours['fds_before']} -> {ours['fds_after']}, temp files "
        f"{ours['tmp_before']} -> {ours['tmp_after']}, {ours['seconds']:.1f} s; "
        f"hand-written: fds {hand['fds_before']} -> {hand['fds_after']}, temp files "
        f"{hand['tmp_before']} -> {hand['tmp_after']}, {hand['seconds']:.1f} s"
    )
    bench.rows.append(row)


_ROW9_WORKER = """
import gc, json, os, ssl, time, tempfile
ca_path, cert_path, key_path = {ca!r}, {cert!r}, {key!r}
ca, cert, key = (open(p).read() for p in (ca_path, cert_path, key_path))
who = {who!r}

def rss_mb():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024

def fds():
    return len(os.listdir('/proc/self/fd'))

def tmp_files():
    return sum(len(files) + len(dirs) for _, dirs, files in os.walk(tempfile.gettempdir()))

if who == 'tlsconnect':
    import tlsconnect
    def build(i):
        text = '# build %d\\n' % i + ca  # new text each time: every cache misses
        tlsconnect.ssl_context('kafka', ca=text, cert=cert, key=key)
        tlsconnect.psycopg_params('host=localhost', ca=text, cert=cert, key=key)
else:
    def build(i):
        ctx = ssl.create_default_context(cadata=ca)
        ctx.load_cert_chain(cert_path, key_path)

for i in range(50):  # imports and first-use allocations are not growth
    build(-i - 1)
gc.collect()
before = (rss_mb(), fds(), tmp_files())
started = time.perf_counter()
for i in range({builds}):
    build(i)
seconds = time.perf_counter() - started
gc.collect()
after = (rss_mb(), fds(), tmp_files())
print(json.dumps(dict(
    rss_before_mb=before[0], rss_after_mb=after[0], rss_growth_mb=after[0] - before[0],
    fds_before=before[1], fds_after=after[1], fd_growth=after[1] - before[1],
    tmp_before=before[2], tmp_after=after[2], tmp_growth=after[2] - before[2],
    seconds=seconds,
)))
"""
