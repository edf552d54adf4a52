# The gateway (and the rollout / loadtest tools, which share its code and dependencies).
#   docker build -f docker/gateway.Dockerfile -t stylize-gateway:0.1.0 .
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml ./
COPY training training
COPY export export
COPY serving serving
COPY gateway gateway
COPY ops ops
COPY styles/catalogue.json styles/catalogue.json
RUN pip install . && useradd --uid 10001 --no-create-home app
USER 10001
EXPOSE 8080
CMD ["gunicorn", "-c", "gateway/gunicorn.conf.py", "gateway.wsgi:app"]
