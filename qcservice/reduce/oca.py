"""The pipeline's own Data Organizer rules (``muse.oca``): classification and association.

cpl-plugin-muse ships ``gasgano/config/muse.oca``, the rules ESO's on-line pipeline
uses to classify frames (``if DPR.CATG == "CALIB" and DPR.TYPE == "BIAS" ... then
{ DO.CATG = "BIAS"; }``), to trigger recipes (``select execute(muse_bias) from
inputFiles where ... DO.CATG == "BIAS"``) and to pick each recipe's calibrations
(``action muse_flat { minRet = 1; maxRet = 1; select file as MASTER_BIAS from
calibFiles where DO.CATG == "MASTER_BIAS" and inputFile.INSTRUME==INSTRUME ...}``).
This module reads that file instead of restating its rules.

An OCA key ``DPR.CATG`` is the FITS keyword ``ESO DPR CATG``; a key without a dot
(``INSTRUME``) is itself. A key missing from a header is ``None``; two missing values
are equal (our headers lack e.g. ``INS.OPTI2.NAME``). ``maxRet = 0`` marks a
calibration the operational rules leave out (MUSE's darks and bad-pixel tables).
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from qcservice.errors import MusedcError

OCA_GLOB = "/usr/share/cpl-plugins/muse-*/gasgano/config/muse.oca"
_TOKEN = re.compile(r'\s*(?:(?P<str>"[^"]*")|(?P<num>-?\d+\.?\d*)|'
                    r'(?P<op>==|!=|<=|>=|[()<>])|(?P<name>[A-Za-z_][\w.\-]*))')


class OcaError(MusedcError, ValueError):
    """The rule file cannot be read or holds something this reader does not know."""


def fits_key(oca_key: str) -> str:
    """``DPR.CATG`` -> ``ESO DPR CATG``; ``INSTRUME`` -> ``INSTRUME``."""
    return "ESO " + oca_key.replace(".", " ") if "." in oca_key else oca_key


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text.rstrip()):
        m = _TOKEN.match(text, pos)
        if not m:
            raise OcaError(f"cannot read OCA expression at {text[pos:pos + 30]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class Expr:
    """A parsed condition; ``evaluate(frame, input_frame)`` with OCA-keyed lookups."""

    def __init__(self, text: str) -> None:
        self.text = " ".join(text.split())
        self._toks = _tokens(text)
        self._i = 0
        self.tree = self._or()
        if self._i != len(self._toks):
            raise OcaError(f"trailing text in OCA expression {self.text!r}")

    def _peek(self) -> str | None:
        return self._toks[self._i][1] if self._i < len(self._toks) else None

    def _next(self) -> tuple[str, str]:
        tok = self._toks[self._i]
        self._i += 1
        return tok

    def _or(self) -> tuple:
        return self._chain("or", self._and)

    def _and(self) -> tuple:
        return self._chain("and", self._atom)

    def _chain(self, op: str, operand) -> tuple:
        """``operand (op operand)*``, left-associative."""
        node = operand()
        while self._peek() == op:
            self._next()
            node = (op, node, operand())
        return node

    def _atom(self) -> tuple:
        if self._peek() == "(":
            self._next()
            node = self._or()
            if self._next()[1] != ")":
                raise OcaError(f"unbalanced parentheses in {self.text!r}")
            return node
        left = self._operand()
        if self._peek() in ("==", "!=", "<", "<=", ">", ">=", "like", "regexp"):
            return (self._next()[1], left, self._operand())
        return ("truth", left)

    def _operand(self) -> tuple:
        kind, value = self._next()
        if kind == "str":
            return ("lit", value[1:-1])
        if kind == "num":
            return ("lit", float(value))
        if kind == "name":
            return ("key", value)
        raise OcaError(f"unexpected {value!r} in OCA expression {self.text!r}")

    def evaluate(self, frame: dict, input_frame: dict | None = None) -> bool:
        return bool(_eval(self.tree, frame, input_frame or {}))


def _value(node: tuple, frame: dict, input_frame: dict):
    if node[0] == "lit":
        return node[1]
    key = node[1]
    if key.startswith("inputFile."):
        return lookup(input_frame, key.removeprefix("inputFile."))
    return lookup(frame, key)


def lookup(frame: dict, oca_key: str):
    """An OCA key's value in ``frame`` (a header dict, plus derived OCA keys)."""
    if oca_key in frame:
        return frame[oca_key]
    value = frame.get(fits_key(oca_key))
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _like(value, pattern: str) -> bool:
    if value is None:
        return False
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, str(value), re.DOTALL) is not None


_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _eval(node: tuple, frame: dict, input_frame: dict):
    op = node[0]
    if op in ("and", "or"):
        left = _eval(node[1], frame, input_frame)
        if (op == "and") != bool(left):
            return left
        return _eval(node[2], frame, input_frame)
    if op == "truth":
        return bool(_value(node[1], frame, input_frame))
    a, b = _value(node[1], frame, input_frame), _value(node[2], frame, input_frame)
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "like":
        return _like(a, str(b))
    if op in _ORDER:
        try:
            return _ORDER[op](float(a), float(b))
        except (TypeError, ValueError):
            return False
    return a is not None and re.search(str(b), str(a)) is not None


@dataclass(frozen=True)
class Selection:
    """``select file as TAG from calibFiles where EXPR`` with its minRet/maxRet."""

    tag: str
    where: Expr
    min_ret: int
    max_ret: int

    @property
    def used(self) -> bool:
        return self.max_ret != 0


PER_TASK_OPTIONS = ("--nifu", "--merge")


@dataclass
class Rules:
    """Classification rules, recipe triggers (DO.CATG -> action) and actions."""

    classify: list[tuple[Expr, list[tuple[str, Expr]]]] = field(default_factory=list)
    triggers: dict[str, str] = field(default_factory=dict)    # DO.CATG -> action name
    recipes: dict[str, str] = field(default_factory=dict)     # action -> recipe
    params: dict[str, list[str]] = field(default_factory=dict)  # action -> its options
    selections: dict[str, list[Selection]] = field(default_factory=dict)

    def classify_frame(self, header: dict) -> dict:
        """The header plus the OCA keys the rules set (``DO.CATG`` ...); last rule wins."""
        frame = dict(header)
        for cond, assignments in self.classify:
            if cond.evaluate(frame):
                for key, expr in assignments:
                    tree = expr.tree
                    frame[key] = tree[1][1] if tree[0] == "truth" and tree[1][0] == "lit" \
                        else expr.evaluate(frame)
        return frame


def _strip_comments(text: str) -> str:
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def parse(text: str) -> Rules:
    """Read an OCA file's text."""
    text = _strip_comments(text)
    rules = Rules()
    for m in re.finditer(r"\bif\s+(.*?)\s+then\s*\{(.*?)\}", text, re.S):
        assigns = [(k.strip(), Expr(v)) for k, v in
                   re.findall(r"([\w.]+)\s*=\s*([^;]+);", m.group(2))]
        rules.classify.append((Expr(m.group(1)), assigns))
    for m in re.finditer(r"select\s+execute\((\w+)\)\s+from\s+inputFiles\s+where(.*?);",
                         text, re.S):
        for catg in re.findall(r'DO\.CATG\s*==\s*"(\w+)"', m.group(2)):
            rules.triggers.setdefault(catg, m.group(1))
    for m in re.finditer(r"\baction\s+(\w+)\s*\{(.*?)\n\}", text, re.S):
        name, body = m.group(1), m.group(2)
        recipe = re.search(r'\brecipe\s+(\w+)\s*(?:\{\s*"([^"]*)"\s*;?\s*\})?', body)
        if recipe:
            rules.recipes[name] = recipe.group(1)
            # ESO's online options, but for the IFU choice: a task here is one IFU
            rules.params[name] = [o for o in (recipe.group(2) or "").split()
                                  if not o.startswith(PER_TASK_OPTIONS)]
        min_ret, max_ret, selections = 1, 1, []
        for stmt in body.split(";"):
            stmt = " ".join(stmt.split())
            if s := re.fullmatch(r"(minRet|maxRet) = (\d+)", stmt):
                min_ret, max_ret = ((int(s.group(2)), max_ret) if s.group(1) == "minRet"
                                    else (min_ret, int(s.group(2))))
            elif s := re.fullmatch(r"select file as (\w+) from calibFiles where (.*)", stmt):
                selections.append(Selection(s.group(1), Expr(s.group(2)), min_ret, max_ret))
        rules.selections[name] = selections
    return rules


# ESO's rules stop at muse_scipost, one cube per exposure (muse.oca: the rest is "too
# heavy" for on-line processing). The offline step, in the same language: the reduced
# pixel tables of an OB's exposures combined into one cube (muse_exp_combine's manual:
# PIXTABLE_REDUCED, >= 2; FILTER_LIST optional).
OFFLINE_RULES = """
if PRO.CATG == "PIXTABLE_REDUCED" then
{
    DO.CATG = "PIXTABLE_REDUCED";
}

select execute(muse_exp_combine) from inputFiles
    where SIG.TEMPLATE == 1 and DO.CATG == "PIXTABLE_REDUCED";

action muse_exp_combine
{
    minRet = 0; maxRet = 1;
    select file as FILTER_LIST from calibFiles where DO.CATG == "FILTER_LIST"
        and inputFile.INSTRUME==INSTRUME;

    recipe muse_exp_combine {"--filter=white,Johnson_V,Cousins_R,Cousins_I";}
}
"""


@cache
def default_rules() -> Rules:
    """The rules of the installed pipeline (Debian cpl-plugin-muse), and ours after."""
    found = sorted(Path("/").glob(OCA_GLOB.lstrip("/")))
    if not found:
        raise OcaError(f"no MUSE OCA rule file ({OCA_GLOB}): install cpl-plugin-muse")
    return parse(found[-1].read_text() + OFFLINE_RULES)
