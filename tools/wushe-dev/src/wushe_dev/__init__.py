"""Wushe's development tools: run, never imported by a service.

- `services`: the one table of the platform's services (name, module, port)
- `cli`: the `wushe` command (`./dev wushe ...`)
- `devstack`: the local stack without Docker (Kafka, FerretDB with its patches, Prometheus)
- `scenario`: the 蓝马甲 scenario: generator, HTTP loader, report, event export
- `partner`: the reference consumer of a partner foundation's feed
- `testing`: the pytest plugin (the `stack` fixture, helpers), with `faultproxy`
"""
