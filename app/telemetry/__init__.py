"""Operability: Prometheus metrics, OpenTelemetry traces and JSON logs (docs/operations.md).

Each is off, or as cheap as it was, unless its setting turns it on: `create_app` adds the
telemetry middleware only when metrics, tracing or JSON logs ask for it, and the tracing
packages are imported only when `CARTOGRAPH_OTEL_ENDPOINT` is set.
"""
