# Locust master and workers for load tests at cluster scale (k8s/loadtest/): the gateway
# image (our code, the TF Serving protos) plus Locust; the locustfiles are ops/locustfiles/.
#   docker build -f docker/loadtest.Dockerfile -t stylize-loadtest:0.1.0 .
FROM stylize-gateway:0.1.0
USER root
RUN pip install 'locust>=2.40,<3'
USER 10001
ENTRYPOINT []
CMD ["locust", "--help"]
