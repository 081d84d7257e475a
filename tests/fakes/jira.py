"""A JIRA stand-in for unit tests (bot.ports.JiraPort): one issue workflow, recorded comments, transitions and
attachments (each with the user who uploaded it: the bot is `user`).

The workflow is the lab's: To Do -> In Progress -> In Review -> Done, and Reopen back to To Do from anywhere.
`down = True` makes every call fail as an unreachable JIRA would; `fail_next` fails that many calls first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.ports import JiraAttachment, JiraError, JiraTransition

#: status -> transitions offered from it (id, name, target status)
DEFAULT_WORKFLOW: dict[str, tuple[JiraTransition, ...]] = {
    "To Do": (JiraTransition("11", "Start Progress", "In Progress"),),
    "In Progress": (
        JiraTransition("21", "Request Review", "In Review"),
        JiraTransition("41", "Reopen", "To Do"),
    ),
    "In Review": (
        JiraTransition("31", "Done", "Done"),
        JiraTransition("41", "Reopen", "To Do"),
        JiraTransition("11", "Back to Progress", "In Progress"),
    ),
    "Done": (JiraTransition("41", "Reopen", "To Do"),),
}


@dataclass
class StoredAttachment:
    id: str
    issue: str
    filename: str
    content: bytes
    author: str


@dataclass
class FakeJira:
    statuses: dict[str, str] = field(default_factory=lambda: {"INFRA-473": "To Do"})
    workflow: dict[str, tuple[JiraTransition, ...]] = field(default_factory=lambda: dict(DEFAULT_WORKFLOW))
    comments: list[tuple[str, str]] = field(default_factory=list)
    #: (issue, from status, to status) in the order they happened
    moves: list[tuple[str, str, str]] = field(default_factory=list)
    calls: int = 0
    #: The JIRA user the bot acts as; attachments by anyone else are not `mine`.
    user: str = "verify-staging"
    stored: list[StoredAttachment] = field(default_factory=list)
    #: Deleted attachment ids, in order.
    deleted: list[str] = field(default_factory=list)
    down: bool = False
    fail_next: int = 0

    def _enter(self, key: str) -> str:
        self.calls += 1
        if self.down:
            raise JiraError("JIRA at http://jira.invalid could not be reached (ConnectionError)")
        if self.fail_next > 0:
            self.fail_next -= 1
            raise JiraError("JIRA could not answer: HTTP 503")
        if key not in self.statuses:
            raise JiraError(f"JIRA could not read issue {key}: HTTP 404 Issue Does Not Exist")
        return self.statuses[key]

    async def status(self, key: str) -> str:
        return self._enter(key)

    async def transitions(self, key: str) -> list[JiraTransition]:
        return list(self.workflow.get(self._enter(key), ()))

    async def do_transition(self, key: str, transition_id: str) -> None:
        current = self._enter(key)
        for tr in self.workflow.get(current, ()):
            if tr.id == transition_id:
                self.statuses[key] = tr.to_status
                self.moves.append((key, current, tr.to_status))
                return
        raise JiraError(f"JIRA could not transition {key}: HTTP 400 transition {transition_id} is not valid")

    async def add_comment(self, key: str, body: str) -> str:
        self._enter(key)
        self.comments.append((key, body))
        return str(10000 + len(self.comments))

    def bodies(self, key: str = "INFRA-473") -> list[str]:
        return [body for issue, body in self.comments if issue == key]

    async def attachments(self, key: str) -> list[JiraAttachment]:
        self._enter(key)
        return [self._port_view(a) for a in self.stored if a.issue == key]

    async def add_attachment(self, key: str, *, filename: str, content: bytes) -> JiraAttachment:
        self._enter(key)
        return self._port_view(self.attach(key, filename, content, author=self.user))

    async def delete_attachment(self, attachment_id: str) -> None:
        self.calls += 1
        if self.down:
            raise JiraError("JIRA at http://jira.invalid could not be reached (ConnectionError)")
        found = [a for a in self.stored if a.id == attachment_id]
        if not found:
            raise JiraError(f"JIRA could not delete attachment {attachment_id}: HTTP 404")
        self.stored.remove(found[0])
        self.deleted.append(attachment_id)

    def attach(self, key: str, filename: str, content: bytes, *, author: str) -> StoredAttachment:
        """Store a file as `author` uploaded it (tests use it for files that people attached)."""
        stored = StoredAttachment(str(20000 + len(self.stored) + len(self.deleted)), key, filename, content, author)
        self.stored.append(stored)
        return stored

    def files(self, key: str = "INFRA-473") -> dict[str, bytes]:
        return {a.filename: a.content for a in self.stored if a.issue == key}

    def _port_view(self, a: StoredAttachment) -> JiraAttachment:
        return JiraAttachment(id=a.id, filename=a.filename, size=len(a.content), mine=a.author == self.user)
