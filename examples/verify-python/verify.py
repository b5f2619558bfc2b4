"""Verifies one Hookline webhook with Python's standard library alone (no pip install).

The same check as the `standardwebhooks` package (`Webhook(secret).verify(body, headers)`):
HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<raw body>" with the endpoint's secret
(whsec_ + base64), compared in constant time with each "v1,<base64>" of webhook-signature,
and the timestamp within 5 minutes of now.

    HOOKLINE_WEBHOOK_SECRET=whsec_… WEBHOOK_ID=… WEBHOOK_TIMESTAMP=… WEBHOOK_SIGNATURE=… \
      python3 verify.py < body.json

Prints the event's type and id and exits 0, or prints why and exits 1.
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time

TOLERANCE_S = 300


def verify(secret: str, msg_id: str, timestamp: str, signatures: str, body: bytes) -> dict:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    if abs(time.time() - int(timestamp)) > TOLERANCE_S:
        raise ValueError("timestamp outside 5 minutes")
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return json.loads(body)
    raise ValueError("no signature matches")


if __name__ == "__main__":
    body = sys.stdin.buffer.read()  # the raw bytes: parse only after verifying
    try:
        event = verify(
            os.environ["HOOKLINE_WEBHOOK_SECRET"],
            os.environ["WEBHOOK_ID"],
            os.environ["WEBHOOK_TIMESTAMP"],
            os.environ["WEBHOOK_SIGNATURE"],
            body,
        )
    except (ValueError, KeyError) as err:
        print(f"refused: {err}")
        sys.exit(1)
    print(f"verified {event['type']} {event['event_id']}")
