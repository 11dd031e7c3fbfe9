# The `stack` fixture (a throwaway real Kafka + FerretDB + Prometheus) and test helpers.
pytest_plugins = ["wushe_dev.testing"]
