"""What every command shares: the exit-status errors, messages and progress on stderr, and the vault."""

from __future__ import annotations

import sys
import time

from service.crypto import Keyring, Vault, master_secret
from service.settings import Settings


class UsageError(Exception):
    """Bad arguments or input: exit status 2."""


class Failure(Exception):
    """The command ran and failed: exit status 1."""


def err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Progress:
    """Progress on stderr: one line rewritten in a terminal, otherwise a line at most every second and at the end."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.shown = (-1, -1)

    def __call__(self, done: int, total: int) -> None:
        if (done, total) == self.shown:
            return
        self.shown = (done, total)
        now = time.monotonic()
        final = done >= total
        if self.tty:
            print("\r" + self.template.format(done=done, total=total), end="\n" if final else "", file=sys.stderr)
        elif final or now - self.last >= 1.0:
            print(self.template.format(done=done, total=total), file=sys.stderr, flush=True)
            self.last = now


def vault_of(settings: Settings) -> Vault:
    return Vault(Keyring.from_secret(master_secret(settings.secret_key, settings.data_dir)))
