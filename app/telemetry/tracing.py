"""OpenTelemetry traces, opt-in: nothing here is imported unless `CARTOGRAPH_OTEL_ENDPOINT`
is set.

- A span per HTTP request (the telemetry middleware): named by method and route template, or
  by the GraphQL operation; it carries the request id, the status and the route, and joins
  an incoming `traceparent`.
- A span per statement sent to the database (each `cursor.execute`, an executemany batch
  being one), from the engine's own events: SQLAlchemy runs them in a greenlet that shares
  the request task's context, so each is a child of its request's span.
- A span per outgoing HTTP call made with httpx (webhook deliveries, providers), by the
  official httpx instrumentation (global to the process: one traced app per process).

Spans leave in batches over OTLP/HTTP (protobuf) from a background thread; a collector that
is down costs dropped spans, never a request.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import event

from app.config import Settings
from app.db import Database

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.trace import Span, Tracer

TRACES_PATH = "/v1/traces"
STATEMENT_CHARS = 2000


def traces_url(endpoint: str) -> str:
    """The collector's OTLP/HTTP traces URL: `/v1/traces` added to a base URL (as
    OTEL_EXPORTER_OTLP_ENDPOINT is read), kept when it is already there."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(TRACES_PATH) else endpoint + TRACES_PATH


class Tracing:
    """One app's tracer provider and instrumentation; `close` flushes and undoes them."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        processor: SpanProcessor | None = None,
    ) -> None:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

        assert settings.otel_endpoint is not None
        self.provider: TracerProvider = TracerProvider(
            resource=Resource.create({"service.name": settings.otel_service_name}),
            sampler=ParentBased(TraceIdRatioBased(settings.otel_sample_ratio)),
        )
        if processor is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            processor = BatchSpanProcessor(
                OTLPSpanExporter(endpoint=traces_url(settings.otel_endpoint), timeout=5)
            )
        self.provider.add_span_processor(processor)
        self.tracer: Tracer = self.provider.get_tracer("cartograph")
        self.database = database
        self._statements = StatementSpans(self.tracer, database)
        self._httpx = HTTPXClientInstrumentor()
        self._httpx.instrument(tracer_provider=self.provider)

    @contextlib.contextmanager
    def request_span(
        self, name: str, headers: Iterable[tuple[bytes, bytes]], attributes: dict[str, Any]
    ) -> Iterator[Span]:
        from opentelemetry.propagate import extract
        from opentelemetry.trace import SpanKind

        carrier = {key.decode("latin-1"): value.decode("latin-1") for key, value in headers}
        with self.tracer.start_as_current_span(
            name, context=extract(carrier), kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            yield span

    def close(self) -> None:
        self._httpx.uninstrument()
        self._statements.remove()
        self.provider.shutdown()


class StatementSpans:
    """A client span around each statement the engine sends, from its cursor events."""

    def __init__(self, tracer: Tracer, database: Database) -> None:
        self.tracer = tracer
        self.engine = database.engine.sync_engine
        self.system = "sqlite" if database.is_sqlite else "postgresql"
        self.listeners = (
            ("before_cursor_execute", self.before),
            ("after_cursor_execute", self.after),
            ("handle_error", self.failed),
        )
        for name, listener in self.listeners:
            event.listen(self.engine, name, listener)

    def remove(self) -> None:
        for name, listener in self.listeners:
            event.remove(self.engine, name, listener)

    def before(
        self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        from opentelemetry.trace import SpanKind

        operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        span = self.tracer.start_span(
            operation,
            kind=SpanKind.CLIENT,
            attributes={
                "db.system.name": self.system,
                "db.operation.name": operation,
                "db.query.text": statement[:STATEMENT_CHARS],
                "db.operation.batch": many,
            },
        )
        if context is not None:
            context._cartograph_span = span

    def after(
        self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        span = getattr(context, "_cartograph_span", None)
        if span is not None:
            span.end()
            context._cartograph_span = None

    def failed(self, exception_context: Any) -> None:
        from opentelemetry.trace import Status, StatusCode

        context = exception_context.execution_context
        span = getattr(context, "_cartograph_span", None)
        if span is None:
            return
        error = exception_context.original_exception
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.end()
        context._cartograph_span = None
