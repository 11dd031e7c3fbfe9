import json
import logging

from opentelemetry.sdk.trace import TracerProvider

from wushe.settings import ServiceSettings
from wushe.telemetry import JsonFormatter


def test_json_logs_carry_trace_and_span_ids() -> None:
    tracer = TracerProvider().get_tracer("t")
    record = logging.LogRecord(
        "wushe.x", logging.INFO, __file__, 1, "station %s opened", ("s-1",), None
    )
    with tracer.start_as_current_span("work") as span:
        line = JsonFormatter().format(record)
        ctx = span.get_span_context()
    out = json.loads(line)
    assert out["msg"] == "station s-1 opened"
    assert out["level"] == "info"
    assert out["trace_id"] == format(ctx.trace_id, "032x")
    assert out["span_id"] == format(ctx.span_id, "016x")


def test_json_logs_outside_a_span_have_no_ids() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "plain", (), None)
    out = json.loads(JsonFormatter().format(record))
    assert "trace_id" not in out
    assert out["level"] == "warning"


def test_settings_read_the_environment_only_when_built(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WUSHE_KAFKA_BOOTSTRAP", "10.0.0.1:9092")
    settings = ServiceSettings(service_name="registry")
    assert settings.kafka_bootstrap == "10.0.0.1:9092"
    assert settings.database_name == "wushe_registry"
    monkeypatch.setenv("WUSHE_JWT_ALGORITHM", "HS256")
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="asymmetric"):
        ServiceSettings(service_name="registry")
