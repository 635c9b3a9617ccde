"""The whitelisted expression language of BPMN conditions, timers and service parameters.

No Python reaches `eval`: an expression is parsed with `ast`, every node is checked against a small
whitelist (names, literals, comparisons, boolean logic, arithmetic without `**`, a few pure functions,
subscripts), and then evaluated by `simpleeval`; `%` is numbers only, since printf formatting of a
string can build any size. Attribute access is refused outright, so `().__class__.__bases__` never
gets as far as simpleeval.

Work is bounded as well as reach: the text (length, node count, nesting, literal sizes) when it is
compiled, and every value an operator or function makes (MAX_SIZE items and characters, counted
through nested lists; MAX_INT_BITS) when it runs. With no loops in the language, each node runs once,
so every expression ends in milliseconds or fails with ExpressionTooLarge. Sub-expressions that read
no data are evaluated when compiled, so a blow-up written as a constant is refused at upload.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Mapping
from functools import lru_cache
from itertools import islice
from typing import Any

import simpleeval

log = logging.getLogger(__name__)

MAX_EXPRESSION_LENGTH = 500
MAX_NODES = 100
MAX_DEPTH = 20  # nesting of the syntax tree; simpleeval recurses once per level
MAX_SIZE = 10_000  # items + characters of one value, through nested lists: str() of it stays small
MAX_INT_BITS = 256  # money and counts fit many times over; bigger integers only make multiplication slow
MAX_ROUND_DIGITS = 30  # round(1, -999999999) computes 10**999999999

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


class ExpressionTooLarge(ExpressionError):
    """An expression, or a value it makes, beyond the bounds above."""


def _size(value: Any, limit: int = MAX_SIZE) -> int:
    """Items and characters of `value`, through nested lists/tuples/dicts; stops counting past `limit`.

    Shared references count each time (`[[1] * 100] * 100` is 10 100): that is what str() or a
    comparison would walk. Stopping early keeps the count itself cheap on a huge value.
    """
    total = 0
    todo = [value]
    while todo and total <= limit:
        item = todo.pop()
        total += 1
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, list | tuple):
            todo.extend(item[: limit + 1])
        elif isinstance(item, dict):
            todo.extend(islice(item.items(), limit + 1))
    return total


def _checked(value: Any) -> Any:
    """`value` if it is within the bounds; raise ExpressionTooLarge otherwise."""
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ExpressionTooLarge(f"a number larger than {MAX_INT_BITS} bits")
    if isinstance(value, str | bytes | list | tuple | dict) and _size(value) > MAX_SIZE:
        raise ExpressionTooLarge(f"a value larger than {MAX_SIZE} items and characters")
    return value


def _repeat_count(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def _bounded_mult(left: Any, right: Any) -> Any:
    # Check before multiplying: `[[1] * 99999] * 400` makes 400 references in no time, but any
    # str() or comparison of it walks forty million items.
    for sequence, count in ((left, _repeat_count(right)), (right, _repeat_count(left))):
        if isinstance(sequence, str | bytes | list | tuple) and count is not None:
            if count > 0 and _size(sequence) * count > MAX_SIZE:
                raise ExpressionTooLarge(f"repeating a sequence {count} times makes more than {MAX_SIZE} items")
    if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise ExpressionTooLarge(f"a product larger than {MAX_INT_BITS} bits")
    return _checked(left * right)


def _bounded_add(left: Any, right: Any) -> Any:
    if isinstance(left, str | bytes | list | tuple) and isinstance(right, str | bytes | list | tuple):
        if _size(left) + _size(right) > MAX_SIZE:
            raise ExpressionTooLarge(f"joining makes more than {MAX_SIZE} items and characters")
    return _checked(left + right)


def _bounded_mod(left: Any, right: Any) -> Any:
    # `%` on a string is printf formatting: '"%0999999999d" % 1' alone would build a gigabyte.
    if isinstance(left, str | bytes):
        raise ExpressionError("string formatting with % is not allowed")
    return _checked(left % right)


def _bounded_round(number: Any, digits: Any = None) -> Any:
    if isinstance(digits, int) and abs(digits) > MAX_ROUND_DIGITS:
        raise ExpressionTooLarge(f"round() to more than {MAX_ROUND_DIGITS} digits")
    return round(number, digits)


def _bounded_call(function: Any) -> Any:
    """`function` with its arguments and result checked: min/max/str walk all of their input."""

    def call(*args: Any) -> Any:
        for arg in args:
            _checked(arg)
        return _checked(function(*args))

    return call


_OPERATORS = {
    **simpleeval.DEFAULT_OPERATORS,
    ast.Add: _bounded_add,
    ast.Sub: lambda left, right: _checked(left - right),
    ast.Mult: _bounded_mult,
    ast.Div: lambda left, right: _checked(left / right),
    ast.FloorDiv: lambda left, right: _checked(left // right),
    ast.Mod: _bounded_mod,
}
# len and bool are O(1) on any input; the rest are checked on the way in and out.
_FUNCTIONS = {
    name: function if name in ("len", "bool") else _bounded_call(function)
    for name, function in {**FUNCTIONS, "round": _bounded_round}.items()
}


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
        raise ExpressionTooLarge(f"expression too complex (more than {MAX_NODES} parts)")
    if _depth(tree) > MAX_DEPTH:
        raise ExpressionTooLarge(f"expression nested more than {MAX_DEPTH} levels deep")
    for node in nodes:
        if not isinstance(node, _ALLOWED_NODES):
            raise ExpressionError(f"{type(node).__name__} is not allowed in expressions")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ExpressionError(f"name '{node.id}' is not allowed")
        if isinstance(node, ast.Constant) and isinstance(node.value, bytes):
            raise ExpressionError("bytes literals are not allowed")
        if isinstance(node, ast.Constant) and isinstance(node.value, int) \
                and node.value.bit_length() > MAX_INT_BITS:
            raise ExpressionTooLarge(f"a number literal larger than {MAX_INT_BITS} bits")
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
    _fold_constants(text, tree.body)
    return tree


def _depth(tree: ast.AST) -> int:
    deepest, todo = 0, [(tree, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        todo.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _fold_constants(text: str, node: ast.AST) -> None:
    """Evaluate each largest part that reads no data, so a constant blow-up is refused when compiled.

    Only the bounds count here: a constant that fails otherwise (`int('x')`) may sit in a branch
    that never runs, and is reported when it does.
    """
    if not any(isinstance(n, ast.Name) for n in ast.walk(node)):
        try:
            _run(text, node, {})
        except ExpressionTooLarge:
            raise
        except ExpressionError:
            pass
        return
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr):
            _fold_constants(text, child)


def evaluate(text: str, names: Mapping[str, Any]) -> Any:
    """Evaluate a whitelisted expression over `names`; raise ExpressionError (ExpressionTooLarge) on failure."""
    return _run(text, compile_expression(text).body, names)


def _run(text: str, body: ast.AST, names: Mapping[str, Any]) -> Any:
    evaluator = simpleeval.EvalWithCompoundTypes(operators=_OPERATORS, functions=dict(_FUNCTIONS), names=dict(names))
    try:
        # simpleeval walks the body of the already-checked tree (it expects the inner node).
        return evaluator.eval(text, previously_parsed=body)
    except ExpressionError:
        raise
    except simpleeval.NameNotDefined as exc:
        raise ExpressionError(f"unknown name '{exc.name}'") from None
    except simpleeval.InvalidExpression as exc:
        raise ExpressionError(str(exc)) from None
    except (TypeError, ValueError, ArithmeticError, KeyError, IndexError) as exc:
        raise ExpressionError(f"{type(exc).__name__}: {exc}") from None
    except RecursionError:
        # simpleeval walks every value it reads, recursively: deal data nested hundreds deep.
        raise ExpressionTooLarge("data nested too deeply") from None
