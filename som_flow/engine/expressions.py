"""The whitelisted expression language of BPMN conditions, timers and service parameters.

No Python reaches `eval`: an expression is parsed with `ast`, every node is checked against a small
whitelist (names, literals, comparisons, boolean logic, arithmetic without `**`, a few pure functions,
subscripts), and then evaluated by `simpleeval`, which bounds string sizes on top of that; `%` is
numbers only, since printf formatting of a string can build any size.
Attribute access is refused outright, so `().__class__.__bases__` never gets as far as simpleeval.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import simpleeval

log = logging.getLogger(__name__)

MAX_EXPRESSION_LENGTH = 500
MAX_NODES = 100

# Pure, total-ish functions; nothing that reaches objects, files or the interpreter.
FUNCTIONS: dict[str, Any] = {
    "len": len,
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
}

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
    ast.IfExp,
    ast.Call,
    ast.List,
    ast.Tuple,
    ast.Subscript,
)


class ExpressionError(ValueError):
    """An expression outside the whitelist, too large, or failing to evaluate."""


def _safe_mod(left: Any, right: Any) -> Any:
    # `%` on a string is printf formatting: '"%0999999999d" % 1' alone would build a gigabyte.
    if isinstance(left, str | bytes):
        raise ExpressionError("string formatting with % is not allowed")
    return left % right


_OPERATORS = {**simpleeval.DEFAULT_OPERATORS, ast.Mod: _safe_mod}


@lru_cache(maxsize=2048)
def compile_expression(text: str) -> ast.Expression:
    """Parse and check one expression; raise ExpressionError naming what is not allowed."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("empty expression")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error: {exc.msg}") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ExpressionError("expression too complex")
    for node in nodes:
        if not isinstance(node, _ALLOWED_NODES):
            raise ExpressionError(f"{type(node).__name__} is not allowed in expressions")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ExpressionError(f"name '{node.id}' is not allowed")
        if isinstance(node, ast.Constant) and isinstance(node.value, bytes):
            raise ExpressionError("bytes literals are not allowed")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) \
                and isinstance(node.left.value, str):
            raise ExpressionError("string formatting with % is not allowed")
    for node in nodes:
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                what = node.func.id if isinstance(node.func, ast.Name) else "this call"
                raise ExpressionError(f"function '{what}' is not allowed")
            if node.keywords:
                raise ExpressionError("keyword arguments are not allowed")
    return tree


def evaluate(text: str, names: Mapping[str, Any]) -> Any:
    """Evaluate a whitelisted expression over `names`; raise ExpressionError on any failure."""
    tree = compile_expression(text)
    evaluator = simpleeval.EvalWithCompoundTypes(operators=_OPERATORS, functions=dict(FUNCTIONS), names=dict(names))
    try:
        # simpleeval walks the body of the already-checked tree (it expects the inner node).
        return evaluator.eval(text, previously_parsed=tree.body)
    except ExpressionError:
        raise
    except simpleeval.NameNotDefined as exc:
        raise ExpressionError(f"unknown name '{exc.name}'") from None
    except simpleeval.InvalidExpression as exc:
        raise ExpressionError(str(exc)) from None
    except (TypeError, ValueError, ArithmeticError, KeyError, IndexError) as exc:
        raise ExpressionError(f"{type(exc).__name__}: {exc}") from None
