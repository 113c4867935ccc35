"""SHIM of idp.accounts.actions (deleted at merge): only what self-service uses."""

from dataclasses import dataclass

from idp.flows import activation


@dataclass(frozen=True)
class Actor:
    name: str
    ip: str | None = None
    reason: str | None = None


class Refused(Exception):
    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def resend_invitation(account, actor: Actor) -> None:
    if account.status != "invited":
        raise Refused("not pending", "not_pending")
    activation.invite(account.organisation, account.email, account.username, account.name)
