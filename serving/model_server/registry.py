"""Which model versions are loaded, following a ModelServerConfig and the file system.

Like TF Serving: each model's base_path holds integer version directories; the version
policy (latest N / all / specific) picks which to serve; new versions are loaded before
old ones are unloaded, so a model never goes dark during an upgrade; version labels may
only point at loaded versions.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tensorflow_serving.config import model_server_config_pb2

from serving.model_server.errors import FailedPrecondition, NotFound, Unavailable
from serving.model_server.servable import Servable

log = logging.getLogger("model_server")


@dataclass
class ModelState:
    config: model_server_config_pb2.ModelConfig
    # Labels in force; they change only once their versions are loaded (see apply_config).
    labels: dict[str, int] = field(default_factory=dict)
    loaded: dict[int, Servable] = field(default_factory=dict)
    # version -> (state name, error message) of versions LOADING, or that failed (END).
    not_available: dict[int, tuple[str, str]] = field(default_factory=dict)


def wanted_versions(config, on_disk: list[int]) -> list[int]:
    policy = config.model_version_policy
    which = policy.WhichOneof("policy_choice")
    if which == "all":
        return on_disk
    if which == "specific":
        return sorted(set(on_disk) & set(policy.specific.versions))
    n = policy.latest.num_versions if which == "latest" else 1
    return on_disk[-max(n, 1):]


def versions_on_disk(base_path: str) -> list[int]:
    base = Path(base_path)
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir()
                  if p.name.isdigit() and (p / "saved_model.pb").is_file())


class ModelRegistry:
    def __init__(self, warm_up: bool = True):
        self.warm_up = warm_up
        self.models: dict[str, ModelState] = {}
        self._lock = threading.RLock()  # guards self.models
        self._sync_lock = threading.Lock()  # one sync (load/unload pass) at a time

    def apply_config(self, config: model_server_config_pb2.ModelServerConfig) -> None:
        """Replaces the whole config: omitted models unload; new labels take effect once
        the versions they name are loaded, so a label never points at nothing."""
        entries = {c.name: c for c in config.model_config_list.config}
        with self._lock:
            for name in set(self.models) - set(entries):
                log.info("unloading model %s (not in the new config)", name)
                del self.models[name]
            for name, entry in entries.items():
                state = self.models.setdefault(name, ModelState(entry))
                state.config = entry
                state.not_available.clear()  # a reload retries versions that failed to load
        self.sync()
        errors = [e for e in (self._move_labels(name) for name in entries) if e]
        if errors:
            raise FailedPrecondition("; ".join(errors))

    def _move_labels(self, name: str) -> str | None:
        with self._lock:
            state = self.models[name]
            wanted = dict(state.config.version_labels)
            bad = {label: v for label, v in wanted.items() if v not in state.loaded}
            if bad:
                return (f"model {name}: version labels {bad} point at versions that are not "
                        f"loaded (loaded: {sorted(state.loaded)})")
            state.labels = wanted
        return None

    def sync(self) -> None:
        """One polling pass: load wanted versions, then unload unwanted ones."""
        with self._sync_lock:
            with self._lock:
                snapshot = list(self.models.items())
            for name, state in snapshot:
                self._sync_model(name, state)

    def _sync_model(self, name: str, state: ModelState) -> None:
        wanted = wanted_versions(state.config, versions_on_disk(state.config.base_path))
        for version in wanted:
            failed = state.not_available.get(version, ("",))[0] == "END"
            if version not in state.loaded and not failed:  # failed loads wait for a reload
                self._load(name, state, version)
        # Old versions go only once a wanted one serves, so the model never goes dark.
        if any(v in state.loaded for v in wanted) or not wanted:
            with self._lock:
                for version in [v for v in state.loaded if v not in wanted]:
                    log.info("unloading %s version %d", name, version)
                    state.loaded.pop(version)

    def _load(self, name: str, state: ModelState, version: int) -> None:
        path = Path(state.config.base_path) / str(version)
        state.not_available[version] = ("LOADING", "")
        try:
            servable = Servable(name, version, path)
            if self.warm_up:
                servable.warm_up()
        except Exception as e:  # noqa: BLE001 - any load failure marks the version, never the server
            log.error("failed to load %s version %d: %s", name, version, e)
            state.not_available[version] = ("END", f"failed to load: {e}")
            return
        with self._lock:
            state.loaded[version] = servable
            state.not_available.pop(version, None)
        log.info("loaded %s version %d from %s", name, version, path)

    def resolve(self, name: str, version: int | None = None, label: str | None = None) -> Servable:
        with self._lock:
            state = self.models.get(name)
            if state is None:
                raise NotFound(f"Servable not found for request: Latest({name})")
            if label:
                if label not in state.labels:
                    raise NotFound(f"Unrecognized servable version label: {label}")
                version = state.labels[label]
            if version is not None:
                if version not in state.loaded:
                    raise NotFound(f"Servable not found for request: Specific({name}, {version})")
                return state.loaded[version]
            if not state.loaded:
                raise Unavailable(f"model {name} has no version available yet")
            return state.loaded[max(state.loaded)]

    def predict(self, name: str, version: int | None, label: str | None, signature_name: str,
                inputs, output_filter=()) -> tuple[Servable, str, dict]:
        """The one predict path of both transports: resolve the version, name a lone
        unnamed input (REST's {"instances": [...]}), run the signature. `inputs` is
        {alias: numpy array} or one array; returns (servable, signature, {alias: array})."""
        servable = self.resolve(name, version, label)
        if not isinstance(inputs, dict):
            inputs = {servable.only_input(signature_name): inputs}
        signature, outputs = servable.predict(signature_name, inputs, output_filter)
        return servable, signature, outputs

    def statuses(self, name: str, version: int | None = None,
                 label: str | None = None) -> list[tuple[int, str, str]]:
        """[(version, state, error message)] as GetModelStatus reports them."""
        with self._lock:
            state = self.models.get(name)
            if state is None:
                raise NotFound(f"Could not find any versions of model {name}")
            if label:
                version = self.resolve(name, label=label).version
            rows = {v: ("AVAILABLE", "") for v in state.loaded}
            rows.update({v: s for v, s in state.not_available.items() if v not in rows})
        if version is not None:
            if version not in rows:
                raise NotFound(f"Could not find version {version} of model {name}")
            rows = {version: rows[version]}
        return [(v, s, msg) for v, (s, msg) in sorted(rows.items())]

    def any_available(self) -> bool:
        with self._lock:
            return any(state.loaded for state in self.models.values())
