"""The gateway dialect's notification route (seed 002, `POST /api/v1/notifications/send`)."""

from app.rest.dialects import GATEWAY
from app.rest.table import RestRoute

FIELDS = "id userId kind channel recipient subject body status attempts lastError createdAt sentAt"

ROUTES = [
    RestRoute(
        "POST",
        "/api/v1/notifications/send",
        f"""mutation SendNotification($input: SendNotificationInput!) {{
          sendNotification(input: $input) {{ {FIELDS} }}
        }}""",
        "sendNotification",
        GATEWAY,
        summary="Send a notification to a user",
        tag="notifications",
        body="input",
        status=202,
        permission="notifications:send",
        description="Body `{userId, type: email|sms, subject, message}` (subject required for "
        "email). Answers 202 with the queued notification; a background job sends it, "
        "retrying with back-off, and records its status and attempts. An unknown user is a "
        "404; sms to a user whose customer record has no phone is a 400.",
        extra_responses={404: "No user with this id"},
    ),
]
