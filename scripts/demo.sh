#!/usr/bin/env bash
# The README's main job: install what is missing, then run the demo, which stands up a
# local PostgreSQL and Kafka-protocol broker with a fresh project CA, shows tlsconnect
# verifying them, diagnoses three broken setups, and cleans everything up.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
python3 -m tlsconnect demo "$@"
