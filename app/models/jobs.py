"""The durable job queue: one row per job, claimed under a lease (app/jobs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, utcnow

JOB_STATUSES = ("pending", "running", "succeeded", "failed")
ERROR_LENGTH = 2000


class Job(IdMixin, Base):
    """A unit of background work: `kind` names its handler, `payload` its arguments.

    `pending` jobs whose `run_at` has come are claimed; a claim makes the job `running` until
    `locked_until` (its lease) and counts an attempt. A job whose worker died while running it
    is claimed again once its lease has passed. A finished job is `succeeded`, or `failed` when
    its attempts ran out or its handler gave up (`POST /api/admin/jobs/:id/retry` queues it
    again).
    """

    __tablename__ = "jobs"
    __table_args__ = (
        # The claim: due pending jobs of a queue, highest priority first.
        Index("ix_jobs_queue_status_run_at", "queue", "status", "run_at"),
        # Expired leases, and the failed list (newest first).
        Index("ix_jobs_status_locked_until", "status", "locked_until"),
        Index("ix_jobs_status_id", "status", "id"),
        Index("ix_jobs_kind_id", "kind", "id"),
    )

    queue: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]]
    priority: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    last_error: Mapped[str | None] = mapped_column(String(ERROR_LENGTH))
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]
