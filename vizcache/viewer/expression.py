"""A TOPCAT-style row condition over a catalog's columns: ``snr > 6 & z < 0.5``, parsed, never evaluated.

The text is tokenized and parsed by Python's own ``ast`` and then walked against a whitelist:
column names, numbers, strings, comparisons (chained too), and/or/not (also written ``&``/``&&``,
``|``/``||``, ``!``/``~``, ``AND``/``OR``/``NOT``, with TOPCAT's precedence: below comparisons),
arithmetic and a few functions. The walk computes each node with pandas over whole columns;
nothing reaches ``eval``, attribute access, subscripts or any call outside :data:`FUNCTIONS`.
Every problem is one :class:`ExpressionError` line naming the expression and what is allowed.

>>> import pandas as pd
>>> frame = pd.DataFrame({"snr": [4.0, 7.0, 9.0], "z": [0.3, 0.2, 0.8]})
>>> Expression.parse("snr > 6 && z < 0.5", frame.columns).mask(frame).tolist()
[False, True, False]
"""

from __future__ import annotations

import ast
import io
import operator
import tokenize
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: longest expression accepted (a condition people type is well under this)
MAX_CHARS = 500
#: most syntax-tree nodes accepted: bounds the work and the recursion of the walk
MAX_NODES = 200

FUNCTIONS = {
    "abs": np.abs, "sqrt": np.sqrt, "log10": np.log10, "exp": np.exp,
    "sinDeg": lambda a: np.sin(np.radians(a)), "cosDeg": lambda a: np.cos(np.radians(a)),
    "isNull": pd.isna,
}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge}
_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
               ast.Pow: operator.pow, ast.Mod: operator.mod}
_WORDS = {"&": "and", "&&": "and", "|": "or", "||": "or", "~": "not", "!": "not", "AND": "and", "OR": "or", "NOT": "not"}
ALLOWED = ("column names, numbers, 'text', == != < <= > >=, & | ! (or and/or/not, &&/||), + - * / ** %, "
           "and " + ", ".join(f"{name}()" for name in FUNCTIONS))


class ExpressionError(ValueError):
    """An expression that cannot be used; one line naming it and what is allowed."""


def _fail(text: str, problem: str) -> ExpressionError:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return ExpressionError(f"expression {shown!r}: {problem}")


def _as_python(text: str) -> str:
    """TOPCAT's operators as Python's boolean words, so ``snr > 6 & z < 0.5`` groups as TOPCAT groups it."""
    out, previous = [], None
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    for token in tokens:
        string = token.string
        if token.type in (tokenize.OP, tokenize.ERRORTOKEN, tokenize.NAME) and string in _WORDS:
            if string in "&|" and previous == string:
                continue  # the second character of && or ||
            previous = string
            out.append(" " + _WORDS[string] + " ")
            continue
        previous = None
        if token.type in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
            continue
        out.append(string if token.type != tokenize.ERRORTOKEN or string.strip() else "")
        out.append(" ")
    return "".join(out).strip()


@dataclass(frozen=True)
class Expression:
    """A checked condition: its text as written, as parsed, and the columns it reads."""

    text: str
    canonical: str  # the parsed form written back: equal for conditions that differ only in spacing or spelling
    columns: tuple[str, ...]
    tree: ast.Expression

    @classmethod
    def parse(cls, text: str, columns=None) -> Expression:
        """Check ``text`` (and, given ``columns``, that it names only those); raises ExpressionError."""
        text = str(text).strip()
        if not text:
            raise _fail(text, "empty; write a condition such as snr > 6 & z < 0.5")
        if len(text) > MAX_CHARS:
            raise _fail(text, f"longer than {MAX_CHARS} characters")
        try:
            tree = ast.parse(_as_python(text), mode="eval")
        except (SyntaxError, tokenize.TokenError, ValueError, RecursionError, MemoryError) as exc:
            reason = exc.msg if isinstance(exc, SyntaxError) else type(exc).__name__
            raise _fail(text, f"not a condition ({reason}); allowed: {ALLOWED}") from None
        nodes = list(ast.walk(tree))
        if len(nodes) > MAX_NODES:
            raise _fail(text, f"more than {MAX_NODES} parts; split it or simplify it")
        names = []
        for node in nodes:
            _check_node(text, node)
            if isinstance(node, ast.Name) and not _is_function(node, nodes):
                names.append(node.id)
        used = tuple(dict.fromkeys(names))
        if columns is not None:
            known = [str(c) for c in columns]
            unknown = [n for n in used if n not in known]
            if unknown:
                raise _fail(text, f"no column {', '.join(unknown)}; the catalog's columns: {', '.join(known)}")
        return cls(text, ast.unparse(tree), used, tree)

    def mask(self, frame: pd.DataFrame) -> pd.Series:
        """Rows of ``frame`` for which the condition holds (unknown values: False); a Dask frame's, part by part."""
        if hasattr(frame, "map_partitions"):
            return frame.map_partitions(self.mask, meta=(None, bool))
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise _fail(self.text, f"no column {', '.join(missing)}; the catalog's columns: {', '.join(map(str, frame.columns))}")
        try:
            with np.errstate(all="ignore"):
                result = _Evaluator(frame).visit(self.tree.body)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            raise _fail(self.text, f"cannot be computed on these columns ({' '.join(str(exc).split())[:120]})") from None
        if not isinstance(result, pd.Series) or not (pd.api.types.is_bool_dtype(result.dtype)):
            raise _fail(self.text, "is not a condition (true or false for each row); compare a value, e.g. snr > 6")
        return result.fillna(False).astype(bool)


def _is_function(node: ast.Name, nodes: list[ast.AST]) -> bool:
    return any(isinstance(n, ast.Call) and n.func is node for n in nodes)


def _check_node(text: str, node: ast.AST) -> None:
    allowed = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.Compare,
               ast.BinOp, ast.Name, ast.Load, ast.Constant, ast.Call, *_COMPARE, *_ARITHMETIC)
    if not isinstance(node, allowed):
        raise _fail(text, f"{type(node).__name__.lower()} is not allowed; allowed: {ALLOWED}")
    if isinstance(node, ast.Constant) and (node.value is None or not isinstance(node.value, (int, float, str))):
        raise _fail(text, f"the value {node.value!r} is not allowed; use numbers or 'text'")
    if isinstance(node, ast.Call) and (not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS
                                       or node.keywords or len(node.args) != 1):
        name = node.func.id if isinstance(node.func, ast.Name) else "this call"
        raise _fail(text, f"{name} is not an allowed function; allowed, each of one value: {', '.join(FUNCTIONS)}")


class _Evaluator(ast.NodeVisitor):
    """Each checked node computed over the whole frame's columns."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def visit_Name(self, node: ast.Name):
        return self.frame[node.id]

    def visit_Constant(self, node: ast.Constant):
        return node.value

    def visit_BoolOp(self, node: ast.BoolOp):
        combine = operator.and_ if isinstance(node.op, ast.And) else operator.or_
        values = [self._condition(v) for v in node.values]
        result = values[0]
        for value in values[1:]:
            result = combine(result, value)
        return result

    def visit_UnaryOp(self, node: ast.UnaryOp):
        value = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return ~self._condition(node.operand, value)
        return -value if isinstance(node.op, ast.USub) else +value

    def visit_BinOp(self, node: ast.BinOp):
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(left, str) or isinstance(right, str):
            raise TypeError("text cannot be used in arithmetic")  # 'a' * 10**9 would fill the memory
        if not isinstance(left, pd.Series) and not isinstance(right, pd.Series):
            left, right = float(left), float(right)  # 9**9**9 between Python ints would run for ever
        return _ARITHMETIC[type(node.op)](left, right)

    def visit_Compare(self, node: ast.Compare):
        left, result = self.visit(node.left), None
        for op, right_node in zip(node.ops, node.comparators):
            right = self.visit(right_node)
            part = _COMPARE[type(op)](left, right)
            result = part if result is None else result & part
            left = right
        return result

    def visit_Call(self, node: ast.Call):
        value = FUNCTIONS[node.func.id](self.visit(node.args[0]))
        return pd.Series(value, index=self.frame.index) if not isinstance(value, pd.Series) and np.ndim(value) else value

    def _condition(self, node: ast.AST, value=None):
        value = self.visit(node) if value is None else value
        if not isinstance(value, pd.Series) or not pd.api.types.is_bool_dtype(value.dtype):
            raise TypeError(f"{ast.unparse(node)} is not a condition; and/or/not join comparisons")
        return value.fillna(False).astype(bool)
