"""The two ways an allocation request fails: bad input (a 400 naming the field) and constraints that cannot all
hold together (with the conflicting constraints and the best value that is achievable)."""

from __future__ import annotations

from typing import Any


class ProblemError(ValueError):
    """The request is malformed: `field` names the offending input (e.g. `cells[3].curve.h`)."""

    code = "invalid_problem"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def as_error(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": {"field": self.field}}


class Infeasible(Exception):
    """No plan satisfies every constraint. `conflicts` names the constraints that clash; `best_achievable` says
    how close one can get (e.g. `{"roas": 5.2, "spend": Decimal("1100000.00")}`)."""

    code = "infeasible"

    def __init__(self, message: str, conflicts: list[str] | tuple[str, ...] = (),
                 best_achievable: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.conflicts = list(conflicts)
        self.best_achievable = dict(best_achievable or {})

    def as_error(self) -> dict[str, Any]:
        best = {key: (str(value) if not isinstance(value, int | float | str | type(None)) else value)
                for key, value in self.best_achievable.items()}
        return {"code": self.code, "message": self.message,
                "details": {"conflicts": self.conflicts, "best_achievable": best}}
