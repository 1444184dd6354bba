"""Who did it: a person, a person's API token, a worker, or the system (a management command, beat)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from rest_framework.request import Request


# audit sits below accounts (accounts records its actions here), so it names what it needs of a user and
# of a token as protocols rather than importing accounts' models.
class UserLike(Protocol):
    @property
    def pk(self) -> Any: ...


@runtime_checkable
class TokenLike(Protocol):
    """An API token (governance.accounts.models.ApiToken): the only ``request.auth`` carrying these."""

    @property
    def user_id(self) -> Any: ...

    @property
    def prefix(self) -> str: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class Actor:
    type: str  # "user" | "token" | "worker" | "system" | "anonymous"
    id: str
    label: str = ""

    def as_dict(self) -> dict[str, str]:
        # Only pseudonymous ids: a user's primary key, a token's public prefix, a worker's name.
        result = {"type": self.type, "id": self.id}
        if self.label:
            result["label"] = self.label
        return result

    @property
    def user_id(self) -> int | None:
        """The person this actor acts for: a user, a user's token, or a worker running a user's job."""
        if self.type in {"user", "token"} or (self.type == "worker" and self.id.partition(":")[0].isdigit()):
            return int(self.id.split(":", 1)[0])
        return None

    @classmethod
    def for_user(cls, user: UserLike) -> Actor:
        return cls("user", str(user.pk))

    @classmethod
    def for_token(cls, token: TokenLike) -> Actor:
        return cls("token", f"{token.user_id}:{token.prefix}", token.name)

    @classmethod
    def worker(cls, name: str) -> Actor:
        return cls("worker", name)

    @classmethod
    def for_job(cls, job_id: object, *, requested_by: int, worker: str = "") -> Actor:
        """A worker running job ``job_id`` that ``requested_by`` (a user id) asked for and others approved."""
        return cls("worker", f"{requested_by}:job-{job_id}", worker)

    @classmethod
    def system(cls, label: str) -> Actor:
        return cls("system", label)

    @classmethod
    def anonymous(cls) -> Actor:
        return cls("anonymous", "-")


def actor_from_request(request: Request | Any) -> Actor:
    """The actor behind an API or page request: the token if one authenticated it, else the session user."""
    auth = getattr(request, "auth", None)
    if isinstance(auth, TokenLike):
        return Actor.for_token(auth)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Actor.for_user(user)
    return Actor.anonymous()
