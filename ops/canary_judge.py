"""Holding a canary under real traffic and judging it by the gateways' metrics, before
`stable` moves to it (`rollout publish --hold SECONDS`).

The gateways send CANARY_SHARE of their clients to the `canary` label (gateway/api.py) and
count every Predict by the version that answered (gateway_predictions_total,
gateway_predict_seconds). The judge reads those counters from every gateway at the start
and at the end of the window and compares the canary's share of failed Predicts and its
p99 latency with stable's over the same window:

    canary failed share <= ERROR_FACTOR x stable's + ERROR_SLACK
    canary p99          <= P99_FACTOR x stable's + P99_SLACK

and with too little canary traffic to tell (MIN_REQUESTS) it does not promote either.
A window's canary share is small (tens of Predicts in a short hold), and the p99 of 50
Predicts is its slowest one: one request that met a busy CPU would decide. So both
versions are compared at the quantile the canary's count resolves, 1 - 2/n (p99 from 200
Predicts up): the two slowest canary Predicts alone never reject it, and a canary slow on
every photo still is.
The slack is a histogram bucket's width at the fast end (gateway/metrics.py: 25-50 ms):
a quantile is interpolated inside its bucket, so a version as fast as stable, whose 97th
percentile happened to land just past the 50 ms bound, read 1.56x stable's on a busy CI
machine. Fifty milliseconds more is nothing a person waiting on a painting notices.
Reading the gateways directly needs no Prometheus; the alert StylizeCanaryWorseThanStable
(k8s/monitoring/alerts.rules.yml) applies the same bounds for those who watch by hand.
"""
from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from prometheus_client.parser import text_string_to_metric_families


class CanaryRejected(Exception):
    """The canary did worse than stable, or could not be judged; the message says which."""


@dataclass(frozen=True)
class JudgeConfig:
    window: float                    # seconds the canary serves its share before the verdict
    metrics: tuple[str, ...]         # every gateway's /metrics URL
    error_factor: float = 2.0
    error_slack: float = 0.01
    p99_factor: float = 1.5
    p99_slack: float = 0.05          # seconds
    min_requests: int = 20


@dataclass
class Numbers:
    """One version's Predicts: how many, how many failed, latency buckets {le: count}."""
    requests: float = 0.0
    failed: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)

    def plus(self, other: Numbers) -> Numbers:
        return Numbers(self.requests + other.requests, self.failed + other.failed,
                       {le: self.buckets.get(le, 0.0) + other.buckets.get(le, 0.0)
                        for le in {*self.buckets, *other.buckets}})

    def minus(self, earlier: Numbers) -> Numbers:
        return Numbers(self.requests - earlier.requests, self.failed - earlier.failed,
                       {le: n - earlier.buckets.get(le, 0.0) for le, n in self.buckets.items()})

    @property
    def failed_share(self) -> float:
        return self.failed / self.requests if self.requests else 0.0

    def quantile(self, q: float = 0.99) -> float:
        """As Prometheus's histogram_quantile: linear within the bucket holding the q-th
        quantile; the largest finite bound if it falls in +Inf."""
        total = self.buckets.get(math.inf, 0.0)
        if not total:
            return 0.0
        rank, lower, below = q * total, 0.0, 0.0
        for le in sorted(self.buckets):
            if self.buckets[le] >= rank:
                if math.isinf(le):
                    return lower
                inside = self.buckets[le] - below
                return lower + (le - lower) * ((rank - below) / inside if inside else 1.0)
            lower, below = le, self.buckets[le]
        return lower


def read(urls: tuple[str, ...], model: str) -> dict[str, Numbers]:
    """{version: Numbers} of `model`, summed over every gateway; a Predict that failed
    before any version answered counts under "label:<the label it asked for>"."""
    numbers: dict[str, Numbers] = defaultdict(Numbers)
    for url in urls:
        try:
            text = requests.get(url, timeout=5).text
        except requests.RequestException as e:
            raise CanaryRejected(f"cannot read the gateway's metrics at {url}: {e}") from None
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.labels.get("model") != model:
                    continue
                key = s.labels.get("version") or f"label:{s.labels.get('label', '')}"
                n = numbers[key]
                if s.name == "gateway_predictions_total":
                    n.requests += s.value
                    n.failed += s.value if s.labels.get("outcome") != "ok" else 0.0
                elif s.name == "gateway_predict_seconds_bucket":
                    le = float(s.labels["le"])
                    n.buckets[le] = n.buckets.get(le, 0.0) + s.value
    return numbers


def resolved_quantile(requests: float) -> float:
    """0.99, or below 200 Predicts the quantile that leaves out the two slowest."""
    return min(0.99, 1 - 2 / requests)


def verdict(canary: Numbers, stable: Numbers, cfg: JudgeConfig) -> str:
    """What the window showed, if the canary may be promoted; CanaryRejected if not."""
    if canary.requests < cfg.min_requests:
        raise CanaryRejected(f"only {canary.requests:.0f} Predicts reached the canary in "
                             f"{cfg.window:.0f} s (at least {cfg.min_requests} needed to judge): "
                             "raise the gateways' CANARY_SHARE or --hold")
    q = resolved_quantile(canary.requests)
    name = f"p{100 * q:.3g}"
    seen = (f"canary: {canary.requests:.0f} Predicts, {canary.failed_share:.1%} failed, "
            f"{name} {canary.quantile(q):.3f} s; stable: {stable.requests:.0f}, "
            f"{stable.failed_share:.1%}, {name} {stable.quantile(q):.3f} s")
    if canary.failed_share > cfg.error_factor * stable.failed_share + cfg.error_slack:
        raise CanaryRejected(f"the canary fails more than stable ({seen})")
    limit = cfg.p99_factor * stable.quantile(q) + cfg.p99_slack
    if stable.requests and canary.quantile(q) > limit:
        raise CanaryRejected(f"the canary is slower than stable ({seen})")
    return seen


def _wait(seconds: float) -> None:
    """time.sleep with a progress bar: a window is minutes long."""
    from tqdm import tqdm

    for _ in tqdm(range(math.ceil(seconds)), desc="canary window", unit="s", leave=False):
        time.sleep(1)


def hold(cfg: JudgeConfig, model: str, canary: int, stable: int | None,
         say: Callable[[str], None] = print, sleep: Callable[[float], None] = _wait) -> str:
    """Lets the canary serve for the window, then judges it; returns what it saw."""
    before = read(cfg.metrics, model)
    say(f"rollout: holding {model} version {canary} as canary for {cfg.window:.0f} s "
        f"(stable: {stable})")
    sleep(cfg.window)
    after = read(cfg.metrics, model)
    window = {v: after[v].minus(before.get(v, Numbers())) for v in after}

    def of(version: int | None, label: str) -> Numbers:
        answered, unanswered = window.get(str(version), Numbers()), window.get(f"label:{label}")
        return answered.plus(unanswered) if unanswered and version else answered

    return verdict(of(canary, "canary"), of(stable, "stable") if stable else Numbers(), cfg)
