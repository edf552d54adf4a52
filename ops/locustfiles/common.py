"""What both locustfiles share: the settings they read from the environment, the photos,
and the loopback guard of `loadtest`, so that a load test is never aimed by accident."""
from __future__ import annotations

import itertools
import logging
import os
import sys
from pathlib import Path
from urllib.parse import urlparse

from ops.load_targets import load_images
from ops.loadtest import LoadError, check_loopback

STYLE = os.environ.get("STYLE", "starry_night")   # style (gateway) or model (gRPC)
SIZE = int(os.environ.get("SIZE", "512"))          # long side of the photos sent
PHOTOS = os.environ.get("PHOTOS")                  # a folder of photos; default: 4 generated
ALLOW_REMOTE = os.environ.get("LOCUST_ALLOW_REMOTE") == "1"


def photos() -> itertools.cycle:
    return itertools.cycle(load_images(Path(PHOTOS) if PHOTOS else None, SIZE))


def guard_loopback(environment, **_) -> None:
    """events.init listener: stops before any request when the host is not this machine
    (LOCUST_ALLOW_REMOTE=1 allows it; the cluster manifests set it)."""
    host = environment.host
    if not host:  # a worker: its master checked
        return
    name = urlparse(host).hostname if "://" in host else host.rsplit(":", 1)[0].strip("[]")
    try:
        check_loopback(name or "", ALLOW_REMOTE)
    except LoadError as e:
        logging.error("locust: %s (set LOCUST_ALLOW_REMOTE=1 to allow it)",
                      str(e).replace("pass --allow-remote to ", ""))
        sys.exit(2)
