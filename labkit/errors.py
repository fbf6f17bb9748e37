"""The labkit exception tree.

Expected network outcomes (a refused port, a server that never answers, a failed
TLS verification) are *data* in probe results, never exceptions. Exceptions are
for misuse and for a lab that cannot be driven, and each one carries advice that
says what to do next.

    LabkitError                  root; ``str(err)`` is the message, ``err.advice`` what to do
    ├── UsageError               bad input from the caller: a malformed host, an unknown option
    │   └── UnknownScenarioError an unknown scenario name (advice lists the valid ones)
    ├── SetupError               the machine cannot run the lab
    │   ├── DockerUnavailableError   no docker client, or the daemon is not running
    │   ├── ComposeMissingError      Compose v2 (``docker compose``) is missing
    │   ├── PortInUseError           the JupyterLab port is taken
    │   └── BuildError               an image build failed (message shows the failing step)
    ├── LabStateError            the lab is not in a state that allows the operation
    │   └── LabNotRunningError       the lab is down, or a service is missing/unhealthy
    ├── TransportError           running a command in a lab container failed (exec or ssh)
    └── ProtocolError            bytes from a peer that cannot be parsed (e.g. an SMTP reply)

Foreign exceptions (``docker.errors``, ``subprocess``, ``socket``, ``ssl``, ``dns``)
are translated at one boundary per module with ``raise ... from exc``.
"""

from __future__ import annotations

__all__ = [
    "BuildError",
    "ComposeMissingError",
    "DockerUnavailableError",
    "LabNotRunningError",
    "LabStateError",
    "LabkitError",
    "PortInUseError",
    "ProtocolError",
    "SetupError",
    "TransportError",
    "UnknownScenarioError",
    "UsageError",
]


class LabkitError(Exception):
    """Root of labkit's errors: a message plus advice on what to do about it."""

    #: Exit code the CLI uses for this family of errors (2 = usage or setup problem).
    exit_code: int = 2

    def __init__(self, message: str, *, advice: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.advice = advice

    def __str__(self) -> str:
        return self.message

    def describe(self) -> str:
        """The message followed by the advice, as a person should read it."""
        return f"{self.message}\n{self.advice}" if self.advice else self.message


class UsageError(LabkitError):
    """The caller asked for something that cannot work (bad host, bad option)."""


class UnknownScenarioError(UsageError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"Unknown scenario {name!r}.",
            advice="Valid scenarios: " + ", ".join(sorted(known)) + ". See `labkit scenario list`.",
        )
        self.name = name
        self.known = sorted(known)


class SetupError(LabkitError):
    """This machine cannot run the lab as it is."""


class DockerUnavailableError(SetupError):
    pass


class ComposeMissingError(SetupError):
    pass


class PortInUseError(SetupError):
    pass


class BuildError(SetupError):
    pass


class LabStateError(LabkitError):
    """The lab is not in a state that allows this operation."""


class LabNotRunningError(LabStateError):
    pass


class TransportError(LabkitError):
    """A command could not be run inside a lab container (docker exec or ssh)."""


class ProtocolError(LabkitError):
    """A peer sent bytes that cannot be parsed as the protocol requires."""
