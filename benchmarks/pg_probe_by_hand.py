"""The probe `tlsconnect check` makes of PostgreSQL, written by hand with bare `ssl` and
`socket`: SSLRequest, a verifying handshake, a startup message, the first answer.

    python pg_probe_by_hand.py HOST PORT CA [USER [DBNAME]]

CA ``system`` trusts the system store (OpenSSL's default paths, as ``SSL_CERT_FILE``
names them).

Exit 0 when the server answered the startup message with an authentication request.
The yardstick of benchmark row 8b: the floor for a Python tool making the same probe.
"""

import socket
import ssl
import struct
import sys

host, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
user = sys.argv[4] if len(sys.argv) > 4 else "tlsuser"
dbname = sys.argv[5] if len(sys.argv) > 5 else "defaultdb"

context = ssl.create_default_context(cafile=None if ca == "system" else ca)
with socket.create_connection((host, port), timeout=10) as raw:
    raw.sendall(struct.pack("!ii", 8, 80877103))  # SSLRequest
    if raw.recv(1) != b"S":
        sys.exit("the server refused TLS")
    with context.wrap_socket(raw, server_hostname=host) as tls:
        body = b"user\0" + user.encode() + b"\0database\0" + dbname.encode() + b"\0\0"
        tls.sendall(struct.pack("!ii", 8 + len(body), 196608) + body)
        kind = tls.recv(1)
        print("verified;", tls.version(), "answer", kind)
sys.exit(0 if kind == b"R" else 1)
