"""The engine dialect's `/api/auth` routes (seed 003; Better Auth's paths, bodies and answers).

Answers are Better Auth's bare bodies (`{"user", "session"}`, `null`, `{"status": true}`,
`{"success": true}`), not the `{data}` envelope; errors keep the engine envelope. The session
cookie is set and cleared by the resolvers on the route's response (`app.rest.executor`
carries it across), so these stay ordinary rows of the route table.
"""

from app.rest.dialects import ENGINE
from app.rest.table import Param, RestRoute, mutation

USER = "id email name emailVerified image createdAt updatedAt"
SESSION = "id userId expiresAt createdAt updatedAt ipAddress userAgent"
SIGNED_IN = f"user {{ {USER} }} session {{ {SESSION} }}"
TAG = "auth"
THROTTLED = {429: "Too many failed sign-ins: wait Retry-After seconds"}

ROUTES = [
    RestRoute(
        "POST",
        "/api/auth/sign-up/email",
        mutation("signUp", "SignUpInput", SIGNED_IN),
        "signUp",
        ENGINE,
        summary="Register a new user",
        tag=TAG,
        body="input",
        envelope=False,
        description="Creates the user (role customer), signs them in (sets the HttpOnly "
        "session cookie) and mails a verification link. An address in use is 409.",
        extra_responses={409: "A user with this e-mail address exists"},
    ),
    RestRoute(
        "POST",
        "/api/auth/sign-in/email",
        mutation("signIn", "SignInInput", SIGNED_IN),
        "signIn",
        ENGINE,
        summary="Sign in with email and password",
        tag=TAG,
        body="input",
        envelope=False,
        description="Starts a new session and sets it as the HttpOnly session cookie (the "
        "session the browser held ends). An unknown address and a wrong password are the same "
        "401; repeated failures for an account wait (429 with Retry-After), bounded.",
        extra_responses=THROTTLED,
    ),
    RestRoute(
        "GET",
        "/api/auth/get-session",
        f"query S {{ session {{ {SIGNED_IN} }} }}",
        "session",
        ENGINE,
        summary="Get the current session",
        tag=TAG,
        envelope=False,
        description="The session the cookie names and its user, or `null` (a cookie naming "
        "an ended session is cleared).",
    ),
    RestRoute(
        "POST",
        "/api/auth/sign-out",
        "mutation S { signOut { success } }",
        "signOut",
        ENGINE,
        summary="Sign out",
        tag=TAG,
        envelope=False,
        description="Ends the session the cookie names and clears the cookie.",
    ),
    RestRoute(
        "POST",
        "/api/auth/request-password-reset",
        mutation("requestPasswordReset", "RequestPasswordResetInput", "status"),
        "requestPasswordReset",
        ENGINE,
        summary="Mail a password-reset link",
        tag=TAG,
        body="input",
        envelope=False,
        description='Always `{"status": true}` for a well-formed address, whether an '
        "account has it or not.",
    ),
    RestRoute(
        "POST",
        "/api/auth/reset-password",
        mutation("resetPassword", "ResetPasswordInput", "status"),
        "resetPassword",
        ENGINE,
        summary="Set a new password with a reset token",
        tag=TAG,
        body="input",
        envelope=False,
        description="The token works once, until it expires; every session of the user ends.",
    ),
    RestRoute(
        "POST",
        "/api/auth/send-verification-email",
        mutation("sendVerificationEmail", "SendVerificationEmailInput", "status"),
        "sendVerificationEmail",
        ENGINE,
        summary="Mail a new e-mail verification link",
        tag=TAG,
        body="input",
        envelope=False,
        description='Always `{"status": true}` for a well-formed address.',
    ),
    RestRoute(
        "GET",
        "/api/auth/verify-email",
        "mutation V($token: String!) { verifyEmail(input: {token: $token}) { status } }",
        "verifyEmail",
        ENGINE,
        summary="Verify an e-mail address (the link of the verification mail)",
        tag=TAG,
        query=(Param("token", description="The token of the link.", required=True),),
        envelope=False,
        description="The token works once, until it expires; the account is then linked to "
        "the customer record of its address.",
    ),
]
