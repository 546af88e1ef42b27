"""Produce and consume one message with kafka-python over mutual TLS.

    python examples/kafka_mtls.py HOST:PORT CREDS_DIR [TOPIC]

CREDS_DIR holds ca.pem, service.cert and service.key, as `avn service user-creds-download`
writes them.
"""

from __future__ import annotations

import sys
import uuid

from kafka import KafkaConsumer, KafkaProducer

import tlsconnect


def main(bootstrap: str, credentials_dir: str, topic: str) -> None:
    config = tlsconnect.kafka_python_config(
        bootstrap, credentials=tlsconnect.Credentials.from_directory(credentials_dir)
    )
    payload = f"hello {uuid.uuid4().hex[:8]}".encode()
    producer = KafkaProducer(**config)
    try:
        producer.send(topic, payload).get(timeout=30)
    finally:
        producer.close(timeout=5)
    print(f"produced {payload!r} to {topic} over {config['security_protocol']}")

    consumer = KafkaConsumer(
        topic, **config, group_id=None, auto_offset_reset="earliest", consumer_timeout_ms=10000
    )
    try:
        for message in consumer:
            if message.value == payload:
                print(f"consumed {message.value!r} from partition {message.partition}")
                return
    finally:
        consumer.close()
    sys.exit("the message did not come back")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) == 4 else "tlsconnect-example")
