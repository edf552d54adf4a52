"""Locust load tests (https://locust.io): the same targets as `loadtest`, for runs that
outgrow one machine (master/worker, k8s/loadtest/) or want Locust's live web UI.
`gateway.py`: photos (or live frames) uploaded to the gateway; `grpc_predict.py`: Predicts
straight to a model server. Comparison with `loadtest`: docs/operations.md#load-testing."""
