"""The one way our programs open a gRPC channel to a model server (TF Serving or ours).

- Message limits of 64 MiB both ways: Python gRPC clients receive 4 MB by default, less
  than one stylized 2048 px image as a pixel tensor.
- Reconnect back-off capped at 0.4 s: gRPC's default grows to 2 minutes, so a restarted
  model server would be found again only minutes later; under 0.5 s, a client that waits
  half a second for the channel (the gateway during an outage) sees a fresh attempt.
- Round robin over every address of the target (`ipv4:127.0.0.1:8500,127.0.0.1:8502`, or
  a DNS name with several records), skipping those that are down; with one address it
  changes nothing.
"""
from __future__ import annotations

import grpc

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
CHANNEL_OPTIONS = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 400),
    ("grpc.lb_policy_name", "round_robin"),
)


def open_channel(target: str) -> grpc.Channel:
    return grpc.insecure_channel(target, options=list(CHANNEL_OPTIONS))
