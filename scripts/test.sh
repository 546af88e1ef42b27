#!/usr/bin/env bash
# The README's test command: install what is missing, then run every test against real
# servers (PostgreSQL with ssl=on, a Kafka-protocol broker behind stunnel, TLS servers),
# which the test fixtures start on loopback and stop at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
python3 -m pytest "$@"
