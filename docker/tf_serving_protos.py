"""Collects what the TF Serving API's Python modules need from TensorFlow: only the
generated protobuf modules (tensorflow/core/framework/tensor_pb2.py and the 30-odd others
they import), copied from an installed TensorFlow into OUT as a namespace package (no
tensorflow/__init__.py). With OUT on the path and tensorflow-serving-api installed
--no-deps, `tensorflow_serving.apis` imports without TensorFlow: the gateway image stays
free of its 1.9 GB and 3 s of import (docs/kubernetes.md).

  python docker/tf_serving_protos.py OUT     # in a build stage where tensorflow is installed

The files are TensorFlow's own, generated from its .proto files at its build; they are
copied from the installed wheel at image build time, never kept in this repository.
"""
from __future__ import annotations

import re
import shutil
import sys
from importlib.util import find_spec
from pathlib import Path

IMPORT = re.compile(r"^from (tensorflow[\w.]*) import (\w+_pb2)\b", re.MULTILINE)


def package_dir(name: str) -> Path:
    return Path(find_spec(name).submodule_search_locations[0])


def closure(tensorflow: Path, roots: list[Path]) -> set[str]:
    """Paths relative to TensorFlow's site-packages of every tensorflow.*_pb2 module the
    roots import, directly or through each other."""
    found, todo = set(), list(roots)
    while todo:
        for package, module in IMPORT.findall(todo.pop().read_text()):
            relative = f"{package.replace('.', '/')}/{module}.py"
            if relative not in found:
                found.add(relative)
                todo.append(tensorflow.parent / relative)
    return found


def main(out: Path) -> int:
    serving, tensorflow = package_dir("tensorflow_serving"), package_dir("tensorflow")
    modules = closure(tensorflow, sorted(serving.rglob("*_pb2*.py")))
    for relative in sorted(modules):
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tensorflow.parent / relative, target)
    print(f"{len(modules)} TensorFlow protobuf modules -> {out}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1])))
