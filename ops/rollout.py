"""`rollout`: ship a new model version to every model-server replica without dropping
requests, or go back.

    rollout publish  --model starry_night --from runs/export/starry_night/3 ...
    rollout status   --model starry_night ...
    rollout rollback --model starry_night ...

publish: copy the version into the repository -> load it beside every version served
now on every replica (reload 1) -> wait until every replica reports it AVAILABLE -> label
it `canary` (reload 2) -> smoke Predict through `canary` on every replica -> move `stable`
to it (reload 3) -> save the config in the store. With --hold, the canary first serves
the share of real traffic the gateways send it (GATEWAY_CANARY_SHARE) for that long, and
stable moves only if its failed share and p99, read from the gateways' metrics, stay
within bounds of stable's (ops/canary_judge.py); else the rollout undoes itself.
No version served before is unloaded until reload 3, which keeps the new `stable`, the
previous one (for a quick rollback) and any version another label points at. Any failure
restores the previous config on every replica (the loaded set never changed), removes the
new version, and exits non-zero with the reason. rollback makes the newest version older
than `stable` stable the same way.
"""
from __future__ import annotations

import argparse
import copy
import sys
from dataclasses import dataclass
from pathlib import Path

from ops.canary_judge import CanaryRejected, JudgeConfig, hold
from ops.replicas import Replica, ReplicaError
from serving.config_files import ConfigError, ModelServerConfig
from serving.contract import LABEL_CANARY, LABEL_STABLE

SMOKE_SIDE = 64


class RolloutError(Exception):
    """The rollout could not be done; the message says why."""


@dataclass(frozen=True)
class RolloutConfig:
    model: str
    replicas: tuple[str, ...]
    repo: str
    wait_seconds: float = 300.0
    rpc_timeout: float = 30.0


def model_entry(config: ModelServerConfig, model: str):
    for entry in config.model_config_list.config:
        if entry.name == model:
            return entry
    raise RolloutError(f"model {model!r} is not in the models.config")


def with_versions(config: ModelServerConfig, model: str, versions: list[int],
                  labels: dict[str, int]) -> ModelServerConfig:
    """A copy of `config` where `model` serves exactly `versions` with `labels`."""
    new = copy.deepcopy(config)
    entry = model_entry(new, model)
    entry.model_version_policy.Clear()
    entry.model_version_policy.specific.versions.extend(sorted(set(versions)))
    entry.ClearField("version_labels")
    for label, version in labels.items():
        entry.version_labels[label] = version
    return new


def current_stable(config: ModelServerConfig, model: str, replicas: list[Replica]) -> int | None:
    entry = model_entry(config, model)
    if LABEL_STABLE in entry.version_labels:
        return entry.version_labels[LABEL_STABLE]
    loaded = [v for r in replicas for v, s in r.versions(model).items() if s == "AVAILABLE"]
    return max(loaded) if loaded else None


def served_versions(config: ModelServerConfig, model: str, replicas: list[Replica]) -> list[int]:
    """The versions the replicas serve now: the `specific` list, or under another policy
    whatever any replica reports AVAILABLE."""
    policy = model_entry(config, model).model_version_policy
    if policy.WhichOneof("policy_choice") == "specific":
        return sorted(policy.specific.versions)
    return sorted({v for r in replicas for v, s in r.versions(model).items() if s == "AVAILABLE"})


def apply_everywhere(replicas: list[Replica], config: ModelServerConfig) -> None:
    for replica in replicas:
        replica.reload(config)


def switch(replicas, config, model, stable: int | None, new_version, wait_seconds,
           smoke_image: bytes, judge: JudgeConfig | None = None) -> ModelServerConfig:
    """Loads new_version beside every served version, smoke-tests it as canary, holds it
    there under real traffic and judges it when `judge` says so, then makes it stable;
    returns the final config. Raises RolloutError on any failure."""
    labels = {k: v for k, v in model_entry(config, model).version_labels.items() if k != LABEL_CANARY}
    if stable is not None:
        labels.setdefault(LABEL_STABLE, stable)
    during = [*served_versions(config, model, replicas), new_version]
    try:
        apply_everywhere(replicas, with_versions(config, model, during, labels))
        for replica in replicas:
            replica.wait_available(model, new_version, wait_seconds)
        apply_everywhere(replicas, with_versions(config, model, during,
                                                 {**labels, LABEL_CANARY: new_version}))
        for replica in replicas:
            replica.smoke_test(model, LABEL_CANARY, smoke_image)
        if judge:
            print(f"rollout: canary judged good: {hold(judge, model, new_version, stable)}")
        after = {**labels, LABEL_STABLE: new_version}
        final = with_versions(config, model, [*labels.values(), new_version], after)
        apply_everywhere(replicas, final)
        return final
    except (ReplicaError, CanaryRejected) as e:
        raise RolloutError(str(e)) from None


def _model_dir(cfg: RolloutConfig, config: ModelServerConfig) -> str:
    from serving.repository import join

    return join(cfg.repo, cfg.model) if cfg.repo else model_entry(config, cfg.model).base_path


def _smoke_image() -> bytes:
    from serving.samples import sample_jpeg

    return sample_jpeg(SMOKE_SIDE)


def _restore(replicas: list[Replica], config: ModelServerConfig) -> str:
    try:
        apply_everywhere(replicas, config)
        return "the previous config is restored on every replica"
    except ReplicaError as e:
        return f"restoring the previous config also failed: {e}"


def publish(cfg: RolloutConfig, store, replicas: list[Replica], source: str,
            judge: JudgeConfig | None = None) -> int:
    """Adds `source` as a new version and makes it stable (after holding it as canary
    when `judge` says so); returns the version."""
    from serving.repository import add_version, remove_version

    config = store.read()
    stable = current_stable(config, cfg.model, replicas)
    model_dir = _model_dir(cfg, config)
    version, path = add_version(source, model_dir)
    print(f"rollout: copied {source} to {path}; stable is {stable}")
    try:
        final = switch(replicas, config, cfg.model, stable, version, cfg.wait_seconds,
                       _smoke_image(), judge)
    except RolloutError as e:
        remove_version(model_dir, version)
        raise RolloutError(f"{e}; version {version} removed, {_restore(replicas, config)}, "
                           f"stable stays {stable}") from None
    store.write(final)
    print(f"rollout: {cfg.model} version {version} is stable on {len(replicas)} replica(s)")
    return version


def rollback(cfg: RolloutConfig, store, replicas: list[Replica]) -> int:
    """Makes the newest version older than `stable` stable again; returns it."""
    from serving.repository import versions

    config = store.read()
    stable = current_stable(config, cfg.model, replicas)
    older = [v for v in versions(_model_dir(cfg, config)) if stable is None or v < stable]
    if not older:
        raise RolloutError(f"no version older than stable ({stable}) to roll back to")
    target = older[-1]
    try:
        final = switch(replicas, config, cfg.model, stable, target, cfg.wait_seconds, _smoke_image())
    except RolloutError as e:
        raise RolloutError(f"{e}; {_restore(replicas, config)}") from None
    store.write(final)
    print(f"rollout: {cfg.model} rolled back from {stable} to {target}")
    return target


def status(cfg: RolloutConfig, store, replicas: list[Replica]) -> None:
    entry = model_entry(store.read(), cfg.model)
    labels = ", ".join(f"{k}={v}" for k, v in sorted(entry.version_labels.items())) or "none"
    print(f"{cfg.model}: labels {labels} (from {store})")
    for replica in replicas:
        try:
            states = replica.versions(cfg.model)
            shown = "  ".join(f"v{v}:{s}" for v, s in sorted(states.items())) or "no versions"
        except ReplicaError as e:
            shown = f"unreachable ({e})"
        print(f"  {replica.address:<24} {shown}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rollout", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", required=True, help="model name in models.config")
    where = common.add_argument_group("replicas (one of)")
    where.add_argument("--replicas", help="comma-separated host:port gRPC addresses")
    where.add_argument("--service", help="Kubernetes Service of the model servers")
    common.add_argument("--namespace", default="stylize", help="Kubernetes namespace")
    store = common.add_argument_group("models.config store (one of)")
    store.add_argument("--config", type=Path, help="models.config file")
    store.add_argument("--configmap", help="ConfigMap holding models.config")
    common.add_argument("--repo", default=None,
                        help="model repository root (default: the model's base_path)")
    common.add_argument("--wait", type=float, default=300.0,
                        help="seconds to wait for a version to become AVAILABLE")
    pub = sub.add_parser("publish", parents=[common], help="ship a new version")
    pub.add_argument("--from", dest="source", required=True,
                     help="exported version directory (holds saved_model.pb)")
    canary = pub.add_argument_group(
        "progressive canary: hold the new version as canary, judged by the gateways' metrics "
        "(the gateways send it GATEWAY_CANARY_SHARE of their clients)")
    canary.add_argument("--hold", type=float, default=0.0, metavar="SECONDS",
                        help="seconds the canary serves real traffic before stable moves "
                             "(default 0: the smoke test only)")
    canary.add_argument("--metrics", action="append", default=[], metavar="URL",
                        help="a gateway's /metrics URL (repeat for each gateway)")
    canary.add_argument("--gateway-service",
                        help="or the gateways' Kubernetes Service: every pod's /metrics")
    sub.add_parser("status", parents=[common], help="versions and labels per replica")
    sub.add_parser("rollback", parents=[common], help="go back one version")
    return p


def _replicas(args) -> list[Replica]:
    from ops.replicas import discover_in_cluster

    if bool(args.replicas) == bool(args.service):
        raise RolloutError("give exactly one of --replicas and --service")
    addresses = (args.replicas.split(",") if args.replicas
                 else discover_in_cluster(args.service, args.namespace))
    if not addresses:
        raise RolloutError("no model-server replicas found")
    return [Replica(a.strip()) for a in addresses]


def _judge(args) -> JudgeConfig | None:
    if not args.hold:
        return None
    urls = list(args.metrics)
    if args.gateway_service:
        from ops.replicas import discover_in_cluster

        urls += [f"http://{a}/metrics" for a in discover_in_cluster(
            args.gateway_service, args.namespace, "http")]
    if not urls:
        raise RolloutError("--hold judges the canary by the gateways' metrics: give --metrics "
                           "or --gateway-service")
    return JudgeConfig(args.hold, tuple(urls))


def _store(args):
    from ops.config_store import ConfigMapStore, FileConfigStore

    if bool(args.config) == bool(args.configmap):
        raise RolloutError("give exactly one of --config and --configmap")
    return FileConfigStore(args.config) if args.config else ConfigMapStore(args.configmap,
                                                                          args.namespace)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from serving.repository import RepositoryError

    try:
        store, replicas = _store(args), _replicas(args)
        cfg = RolloutConfig(args.model, tuple(r.address for r in replicas), args.repo, args.wait)
        if args.command == "publish":
            publish(cfg, store, replicas, args.source, _judge(args))
        elif args.command == "rollback":
            rollback(cfg, store, replicas)
        else:
            status(cfg, store, replicas)
    except (RolloutError, ReplicaError, RepositoryError, ConfigError, OSError) as e:
        print(f"rollout: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
