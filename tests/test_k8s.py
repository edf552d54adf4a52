"""The manifests, rendered and validated offline (no cluster needed)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from serving import tf_env
from serving.config_files import CONFIG_DIR

ROOT = Path(__file__).resolve().parent.parent
OVERLAYS = sorted(p.parent.name for p in (ROOT / "k8s" / "overlays").glob("*/kustomization.yaml"))
KUBERNETES_VERSION = "1.32.0"
CHECKOV = shutil.which("checkov") or str(ROOT / ".venv-tools" / "bin" / "checkov")

needs_kubectl = pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl is not installed")


# Applied on their own: the style pipeline's Jobs (train on a GPU node, then export and
# publish), Locust's master and workers, the alert rules and dashboard as ConfigMaps.
JOBS = ["jobs/train", "jobs/publish", "loadtest", "monitoring"]


def render(target: str) -> str:
    """`kubectl kustomize k8s/<target>` (an overlay by its name), no flags."""
    path = ROOT / "k8s" / (f"overlays/{target}" if target in OVERLAYS else target)
    return subprocess.run(["kubectl", "kustomize", str(path)],
                          check=True, capture_output=True, text=True).stdout


def _rendered(target: str, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("k8s") / f"{target.replace('/', '_')}.yaml"
    path.write_text(render(target))
    return path


@pytest.fixture(scope="module", params=OVERLAYS + JOBS)
def rendered(request, tmp_path_factory) -> Path:
    """Everything an operator applies, rendered: what validation and checkov read."""
    return _rendered(request.param, tmp_path_factory)


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered_overlay(request, tmp_path_factory) -> Path:
    return _rendered(request.param, tmp_path_factory)


@needs_kubectl
def test_overlays_render_and_pass_strict_schema_validation(rendered):
    result = subprocess.run([sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet",
                             "-k", KUBERNETES_VERSION, str(rendered)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_kubectl
def test_gpu_overlay_asks_for_a_gpu_and_the_gpu_image():
    text = render("gpu")
    assert "nvidia.com/gpu: 1" in text and "tensorflow/serving:2.21.0-gpu" in text


@needs_kubectl
def test_model_server_serves_the_repo_config(rendered_overlay):
    text = rendered_overlay.read_text()
    models_config = (CONFIG_DIR / "models.config").read_text()
    assert 'name: "starry_night"' in models_config and "starry_night" in text
    assert "--model_config_file=/config/models.config" in text


@needs_kubectl
def test_tf_serving_gets_the_allocator_our_model_server_uses(rendered_overlay):
    server = next(d for d in yaml.safe_load_all(rendered_overlay.read_text())
                  if d["kind"] == "Deployment" and d["metadata"]["name"] == "model-server")
    container = server["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["TF_CPU_ALLOCATOR_USE_BFC"] == tf_env.TF_ENV["TF_CPU_ALLOCATOR_USE_BFC"]


@needs_kubectl
@pytest.mark.skipif(not Path(CHECKOV).exists(), reason="checkov is not installed (make install)")
def test_checkov_passes_with_the_documented_skips(rendered):
    result = subprocess.run([CHECKOV, "--quiet", "--compact", "--framework", "kubernetes",
                             "--config-file", str(ROOT / "k8s" / "checkov.yaml"),
                             "-f", str(rendered)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:]


@needs_kubectl
def test_the_pipeline_jobs_train_on_a_gpu_then_publish_with_the_rollout_tool():
    train = next(d for d in yaml.safe_load_all(render("jobs/train")) if d["kind"] == "Job")
    pod = train["spec"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["containers"][0]["image"] == "ghcr.io/your-org/stylize-training:0.1.0"
    assert train["metadata"]["namespace"] == "stylize"
    publish = next(d for d in yaml.safe_load_all(render("jobs/publish")) if d["kind"] == "Job")
    pod = publish["spec"]["template"]["spec"]
    script = pod["containers"][0]["args"][0]
    assert "python -m export" in script and "rollout publish" in script
    # The rollout tool's account and the label the model servers' NetworkPolicy admits.
    assert pod["serviceAccountName"] == "rollout"
    assert publish["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "rollout"
    # Both read the run's settings from one ConfigMap (k8s/jobs/common/pipeline.env).
    maps = {ref["valueFrom"]["configMapKeyRef"]["name"] for job in (train, publish)
            for ref in job["spec"]["template"]["spec"]["containers"][0]["env"]
            if "configMapKeyRef" in ref.get("valueFrom", {})}
    assert len(maps) == 1 and next(iter(maps)).startswith("style-pipeline-")
