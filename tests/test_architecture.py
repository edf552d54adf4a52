"""The layering rule of docs/architecture.md: a module imports its own room and rooms of
a lower rank, never a room of the same or a higher rank."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Keep in step with the table in docs/architecture.md.
RANKS = {
    "serving": 0,      # the TF Serving protocol, its client, the model repository, our server
    "training": 0,     # networks, losses, the training loop; knows nothing of serving
    "export": 1,       # a trained run -> a versioned SavedModel in a repository
    "gateway": 2,      # the public web page and API
    "ops": 2,          # rollout and load testing
    "hd": 2,           # the HD worker: optimisation jobs
    "video": 2,        # video files painted frame by frame
    "local_stack": 3,  # the site on one machine (make run)
    "bench": 4,        # benchmarks of everything below
}


def wrong_way_imports(root: Path, ranks: dict[str, int]) -> list[str]:
    """'file:line: room imports other (rank a -> rank b)' for every import that breaks the
    rule, in every room's .py files."""
    problems = []
    for room, rank in ranks.items():
        for path in sorted((root / room).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for other in {name.split(".")[0] for name in names} & set(ranks) - {room}:
                    if ranks[other] >= rank:
                        problems.append(f"{path.relative_to(root)}:{node.lineno}: {room} imports "
                                        f"{other} (rank {rank} -> rank {ranks[other]})")
    return problems


def test_no_room_imports_a_room_of_the_same_or_a_higher_rank():
    assert wrong_way_imports(ROOT, RANKS) == []


def test_every_package_is_a_ranked_room():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages == set(RANKS)


@pytest.mark.parametrize("room,source,wrong", [
    ("serving", "from export.export_run import main\n", True),  # a lower room imports a higher
    ("ops", "import gateway.errors\n", True),                   # rooms of the same rank
    ("ops", "from serving.contract import LABEL_STABLE\n", False),  # down the ranks
    ("ops", "from ops import rollout\n", False),                # its own room
])
def test_the_checker_finds_a_wrong_way_import(tmp_path, room, source, wrong):
    for name in ("serving", "export", "gateway", "ops"):
        (tmp_path / name / "sub").mkdir(parents=True)
    (tmp_path / room / "sub" / "module.py").write_text(source)
    problems = wrong_way_imports(tmp_path, {"serving": 0, "export": 1, "gateway": 2, "ops": 2})
    assert bool(problems) == wrong
    assert all(p.startswith(f"{room}/sub/module.py:1: {room} imports ") for p in problems)


# CLIs that check their input, and answer --help, before anything starts TensorFlow
# (several seconds and a screen of its log lines); the load tester and the rollout tool
# need it for gRPC (and the repository's tf.io.gfile) only.
CLIS_WITHOUT_TENSORFLOW = ["training.train", "training.gatys", "training.bundle_style",
                           "training.contact_sheet", "training.merge_runs", "training.yardstick",
                           "export.side_by_side", "ops.loadtest", "ops.rollout"]


def test_these_clis_start_without_tensorflow():
    import subprocess
    import sys

    code = ("import importlib, sys\n"
            f"for name in {CLIS_WITHOUT_TENSORFLOW!r}: importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"
