# The gateway (and the loadtest tool, which shares its code), without TensorFlow: the TF
# Serving API's Python modules need only TensorFlow's generated protobuf modules, which a
# build stage copies out of a TensorFlow install (docker/tf_serving_protos.py). The rollout
# tool reads and writes model repositories through tf.io.gfile: it runs from the training
# image (docker/training.Dockerfile, k8s/jobs/publish).
#   docker build -f docker/gateway.Dockerfile -t stylize-gateway:0.1.0 .
FROM python:3.11-slim AS protos
ENV PIP_NO_CACHE_DIR=1
RUN pip install 'tensorflow==2.21.*' 'tensorflow-serving-api==2.21.*'
COPY docker/tf_serving_protos.py /tmp/
RUN python /tmp/tf_serving_protos.py /protos

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY docker/gateway-requirements.txt ./
RUN pip install -r gateway-requirements.txt \
    && pip install --no-deps 'tensorflow-serving-api==2.21.*'
COPY --from=protos /protos /usr/local/lib/python3.11/site-packages/
COPY pyproject.toml ./
COPY serving serving
COPY gateway gateway
COPY ops ops
COPY styles/catalogue.json styles/catalogue.json
RUN pip install --no-deps . && useradd --uid 10001 --no-create-home app
USER 10001
EXPOSE 8080
CMD ["gunicorn", "-c", "gateway/gunicorn.conf.py", "gateway.wsgi:app"]
