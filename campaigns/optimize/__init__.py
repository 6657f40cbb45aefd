"""The Budget Optimizer's allocation engine: response curves, a convex allocation down the hierarchy (channel →
network → placement → audience → SKU) under budget, ROAS/CPA, node, stock-out, reserve and flighting
constraints, explained in words; with a fast Lagrangian engine and a CVXPY/Clarabel reference.

Public surface: `allocate`, `min_spend_for_target`, `thompson_allocation`, `problem_from_dict`, the problem
dataclasses (`Problem`, `Cell`, `Curve`, `NodeBound`, `Period`, `Constraints`, `Objective`), the result
(`Allocation`), and the errors (`ProblemError`, `Infeasible`). Importing this package never imports cvxpy.
"""

from campaigns.optimize.curves import Curve
from campaigns.optimize.errors import Infeasible, ProblemError
from campaigns.optimize.problem import Cell, Constraints, NodeBound, Objective, Period, Problem, problem_from_dict
from campaigns.optimize.result import Allocation, Binding, CellPlan, Check, Interval, NodePlan, Totals
from campaigns.optimize.solve import allocate, min_spend_for_target
from campaigns.optimize.thompson import thompson_allocation

__all__ = [
    "Allocation", "Binding", "Cell", "CellPlan", "Check", "Constraints", "Curve", "Infeasible", "Interval",
    "NodeBound", "NodePlan", "Objective", "Period", "Problem", "ProblemError", "Totals", "allocate",
    "min_spend_for_target", "problem_from_dict", "thompson_allocation",
]
