"""On PYTHONPATH, makes `import tensorflow` fail as on a machine without it: what
tests/test_backends.py runs on JAX must not need TensorFlow. (Not a None entry in
sys.modules: Keras takes "tensorflow" in sys.modules to mean that it is there.)"""
import sys


class _NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named {name!r}")


sys.meta_path.insert(0, _NoTensorFlow())
