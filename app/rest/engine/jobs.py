"""The engine dialect's job routes (seed 003): the cron runner and the failed-job admin."""

from app.rest.dialects import ENGINE
from app.rest.table import Param, RestRoute, mutation

JOB = (
    "id queue kind payload status priority runAt attempts maxAttempts lastError lockedBy "
    "lockedUntil createdAt updatedAt finishedAt"
)

ROUTES = [
    RestRoute(
        "GET",
        "/api/jobs/run",
        """mutation RunJobs($queue: String, $limit: Int) {
          runJobs(queue: $queue, limit: $limit) { queue processed }
        }""",
        "runJobs",
        ENGINE,
        summary="Process pending jobs (cron target)",
        tag="jobs",
        query=(
            Param("queue", description='The queue to run (default "default").'),
            Param(
                "limit", type="integer", minimum=1, description="At most this many (default 10)."
            ),
        ),
        permission="*:*",
        description="Claims the due jobs of one queue and runs them before answering "
        "`{queue, processed}`. For deployments that run no worker process: call it from cron. "
        "Needs a `*:*` key.",
    ),
    RestRoute(
        "GET",
        "/api/admin/jobs/failed",
        f"""query FailedJobs($page: Int, $limit: Int) {{
          jobs(filter: {{status: FAILED}}, page: $page, limit: $limit) {{
            items {{ {JOB} }} totalCount pageInfo {{ page limit hasNextPage }}
          }}
        }}""",
        "jobs",
        ENGINE,
        summary="List failed background jobs",
        tag="jobs",
        paginated=True,
        permission="jobs:admin",
        description="Jobs out of attempts or given up on, newest first, with `lastError`.",
    ),
    RestRoute(
        "POST",
        "/api/admin/jobs/{id}/retry",
        mutation("retryJob", "JobIdInput", JOB),
        "retryJob",
        ENGINE,
        summary="Re-enqueue a failed job",
        tag="jobs",
        path_params=(Param("id", "input.id"),),
        optional_body=True,
        permission="jobs:admin",
        description="Answers the updated job record: pending, due now, attempts counted "
        "afresh. A job that has not failed is a 409 CONFLICT.",
    ),
]
