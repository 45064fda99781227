"""The local lab: real Redis, PostgreSQL, moto S3, Prometheus and a kmock Kubernetes API."""
