"""The public edge of the gateway: per-client rate limits, security headers, and uploads
read to their end so that a refusal keeps the client's connection.

Rate limits come from Flask-Limiter. A client is its address: the TCP peer, or, only when
the peer is one of TRUSTED_PROXIES (the Ingress controller), the nearest address in
X-Forwarded-For that is not itself a trusted proxy. Anyone can write that header, so it
is never believed from any other peer.

Counters live in RATELIMIT_STORAGE_URI (Flask-Limiter's setting): `memory://` by default,
so each gateway replica counts on its own and N replicas let a client through N times the
limit; point every replica at one shared store (`redis://host:6379`, with
`pip install 'limits[redis]'`) to enforce the limit cluster-wide.
"""
from __future__ import annotations

import ipaddress

from flask import Flask, current_app, request
from flask_limiter import Limiter

from gateway.metrics import RATE_LIMITED

# The page loads only its own script, style sheet and API; results are shown as blob: URLs.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' blob: data:; object-src 'none'; "
                           "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def parse_networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """'10.0.0.0/8, 192.0.2.7' -> networks; a bad entry is a ValueError naming it."""
    networks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES: {item!r} is not an address or network") from None
    return tuple(networks)


def _trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address() -> str:
    peer = request.remote_addr or "unknown"
    proxies = current_app.extensions["trusted_proxies"]
    if not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):  # each proxy appends the address it saw
        if not _trusted(hop, proxies):
            return hop
    return peer


def _count_breach(limit) -> None:
    RATE_LIMITED.labels(request.url_rule.rule if request.url_rule else "unmatched").inc()


# gunicorn reads at most 64 KB of a request body the app left unread before it reuses a
# keep-alive connection; past that it closes it, which resets what the client sends next
# there. A 429 (or a 4xx answered before the form was read) for a 100 KB photo did that:
# 8 of 40 back-to-back uploads from one session failed with RemoteDisconnected.
DRAIN_CHUNK = 64 * 1024


def finish_upload(response):
    """Reads the rest of an upload the gateway accepts in size (larger ones, answered 413,
    are left for gunicorn to close the connection on)."""
    length, limit = request.content_length, current_app.config["MAX_CONTENT_LENGTH"]
    if length and (limit is None or length <= limit):
        while request.stream.read(DRAIN_CHUNK):
            pass
    return response


# Each expensive view and the setting that limits it; each view counts on its own, so a
# live viewer's frames never use up the same client's photo requests.
LIMITED_VIEWS = {"api.stylize": "STYLIZE_RATE_LIMIT", "api.previews": "STYLIZE_RATE_LIMIT",
                 "api.embeddings": "STYLIZE_RATE_LIMIT", "hd.submit": "STYLIZE_RATE_LIMIT",
                 "api.frames": "LIVE_RATE_LIMIT"}


def init_app(app: Flask) -> None:
    """Limits the expensive views (LIMITED_VIEWS; Flask-Limiter's syntax such as
    '60 per minute;5 per second'; an empty setting turns its limit off), adds the
    security headers to every response and reads every upload to its end."""
    app.extensions["trusted_proxies"] = parse_networks(app.config["TRUSTED_PROXIES"])
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)  # Retry-After on a 429
    limits = {view: app.config[key] for view, key in LIMITED_VIEWS.items() if app.config[key]}
    limiter = Limiter(client_address, app=app, on_breach=_count_breach, enabled=bool(limits))
    app.extensions["rate_limiter"] = limiter
    for view, limit in limits.items():
        app.view_functions[view] = limiter.limit(limit)(app.view_functions[view])

    app.after_request(finish_upload)

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
