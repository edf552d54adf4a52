"""Operating the service: rolling out model versions, load testing."""
