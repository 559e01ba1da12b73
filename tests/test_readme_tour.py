"""README's "A short tour" runs as written: every ```sh block of the section, in order, in one
`bash -e` against a live server on a freshly seeded demo store, as a new user pastes it.

The commands run unchanged but for the address (`localhost:8000` becomes the test server's):
`curl` is wrapped by a shell function that calls the real one, records each answer, and fails
the command when the answer is an error: an HTTP status of 400 or more, a GraphQL `errors`
list, an engine `{"error": ...}` or a gateway `{"success": false}`. So a placeholder such as
`<id>` (a redirection to bash), invalid JSON, a missing price or no stock fails the test at
the command that shows it.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.db import Database
from tests.support.server import CARTOGRAPH, running_server

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TOUR_SECONDS = 120
# Each answer is logged as status, command and body, NUL-separated (no shell string holds a
# NUL); a status of 400 or more stops the tour at once, the envelopes are checked afterwards
# (a Python per request would cost more than the tour itself on a busy machine).
PREAMBLE = r"""
set -eo pipefail
curl() {
  local args=() answer status
  for arg in "$@"; do args+=("${arg//localhost:8000/$TOUR_HOST}"); done
  answer=$(command curl "${args[@]}" -w '\n%{http_code}') ||
    { echo "curl failed: curl $*" >&2; return 1; }
  status=${answer##*$'\n'}
  answer=${answer%$'\n'*}
  printf '%s\n' "$answer"
  printf '%s\0%s\0%s\0' "$status" "$*" "$answer" >> "$TOUR_LOG"
  if (( status >= 400 )); then echo "HTTP $status to: curl $*" >&2; return 1; fi
}
"""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    command: str
    body: str

    @property
    def is_error(self) -> bool:
        """An error status, a GraphQL `errors` list, an engine `{"error": ...}` or a gateway
        `{"success": false}`."""
        try:
            data = json.loads(self.body) if self.body.strip() else None
        except ValueError:
            return True
        return self.status >= 400 or (
            isinstance(data, dict)
            and (bool(data.get("errors")) or "error" in data or data.get("success") is False)
        )


def answers(log: Path) -> list[Answer]:
    fields = log.read_text().split("\0")[:-1]
    return [
        Answer(int(s), c, b)
        for s, c, b in zip(fields[::3], fields[1::3], fields[2::3], strict=True)
    ]


def tour_blocks(readme: str) -> list[str]:
    """The ```sh blocks of the "A short tour" section (up to the next `## ` heading)."""
    section = readme.split("\n## A short tour\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.M | re.S)


def test_the_tour_section_has_its_shell_blocks() -> None:
    blocks = tour_blocks(README.read_text())

    assert len(blocks) >= 6
    assert all(block.strip() for block in blocks)


@pytest.fixture
def tour_dir(tmp_path: Path) -> Path:
    """Where the tour runs: `.venv/bin/cartograph` there is this installation's."""
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "cartograph").symlink_to(CARTOGRAPH)
    return tmp_path


@pytest.mark.one_backend
def test_every_command_of_the_tour_succeeds_on_a_fresh_demo_store(
    database: Database, tour_dir: Path
) -> None:
    log = tour_dir / "answers.jsonl"
    media = str(tour_dir / "media")
    with running_server(database.url, names_itself=True, CARTOGRAPH_MEDIA_DIR=media) as server:
        seeded = server.cli("seed", "--demo", "--products", "50")
        assert seeded.returncode == 0, seeded.stderr
        script = PREAMBLE + "\n".join(tour_blocks(README.read_text()))
        result = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=tour_dir,
            env={
                **server.env,
                "TOUR_HOST": server.base_url.removeprefix("http://"),
                "TOUR_LOG": str(log),
            },
            capture_output=True,
            text=True,
            timeout=TOUR_SECONDS,
        )
        server_log = server.log()

    assert result.returncode == 0, (
        f"the tour stopped:\n{result.stderr[-4000:]}\n--- server log ---\n{server_log[-3000:]}"
    )
    answered = answers(log)
    errors = [a for a in answered if a.is_error]
    assert not errors, f"error answers: {errors}"
    assert len(answered) >= 40
    # The checkouts of demo products went through: the orders were placed (201), the
    # marketplace's split between a vendor and the house.
    assert [a.status for a in answered if "/api/checkout" in a.command] == [201, 201]
