#!/bin/bash
# Readiness of a TF Serving pod: every model in $MODELS must be AVAILABLE. The REST status
# call alone answers 200 while a model is still LOADING, so the state itself is checked.
# Plain bash (/dev/tcp): the tensorflow/serving image has no curl.
for model in $MODELS; do
  exec 3<>/dev/tcp/127.0.0.1/8501 || exit 1
  printf 'GET /v1/models/%s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$model" >&3
  grep -q '"state": *"AVAILABLE"' <&3 || exit 1
  exec 3<&-
done
