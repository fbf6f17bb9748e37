"""Live tasks: "fix the lab, then check", graded from what the probes see.

A :class:`LiveTask` pairs a *gather* step, which runs the probes a task needs
against the lab described by a :class:`~labkit.target.Target`, with a pure *check* from
:mod:`labkit.exercises.checks`. ``run`` does both; ``grade`` only the second, so
tests and the doctor can feed it results built by hand or collected elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from labkit.exercises.grade import Exercise, Grade
from labkit.lab.config import lab_target
from labkit.target import Target

__all__ = ["LiveTask", "lab_target"]

Evidence = Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class LiveTask(Exercise):
    """A fix in the lab, checked by probing it.

    ``gather(target)`` runs the probes and returns their results as keyword
    arguments for ``check``, a pure function returning a :class:`Grade` on any
    scale; :meth:`grade` scales it to ``points`` and applies hints and solution.
    """

    kind: ClassVar[str] = "live"

    check: Callable[..., Grade]
    gather: Callable[[Target], Evidence]
    #: The challenge as a terse brief (SadServers style): the goal, no recipe.
    brief: str = ""

    def grade(self, evidence: Evidence, hints_used: int = 0, solution_shown: bool = False) -> Grade:
        """Run the pure check on probe results and scale it to this task's points."""
        raw = self.check(**evidence)
        return self.finish(raw, hints_used=hints_used, solution_shown=solution_shown)

    def probe(self, target: Target | None = None) -> Evidence:
        """Run this task's probes against ``target`` (default: the running lab)."""
        return self.gather(target if target is not None else lab_target())

    def run(
        self,
        target: Target | None = None,
        hints_used: int = 0,
        solution_shown: bool = False,
    ) -> Grade:
        """Probe the lab and grade what was seen."""
        return self.grade(self.probe(target), hints_used, solution_shown)
