"""Safe YAML 1.2 loading that remembers where every value came from.

PyYAML speaks YAML 1.1, where `no` is a boolean and `1e-7` is a string. We keep its fast C parser but
resolve plain scalars with the YAML 1.2 core schema, refuse tags, anchors and aliases (no alias bombs),
refuse duplicate keys, and bound the size and nesting depth before the parser sees the text (libyaml's
composer recurses in C and crashes on very deep nesting). Values are converted to plain Python; the
node tree is kept so an error can name the line and column of any path into the document.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import yaml

from nnworked.errors import Issue, ScenarioError

MAX_BYTES = 32 * 1024 * 1024  # a 784-128-10 network written out in full is about 1 MB
MAX_DEPTH = 32

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The C parser with YAML 1.2 core-schema scalars."""


_Loader.yaml_implicit_resolvers = {}
_CORE_SCHEMA = [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
]
for _tag, _pattern, _first in _CORE_SCHEMA:
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))

_STR, _INT, _FLOAT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_BOOL, _NULL = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"
_SEQ, _MAP = "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"


def _scalar(node: yaml.ScalarNode) -> Any:
    tag, text = node.tag, node.value
    if tag == _FLOAT:
        low = text.lower()
        if low.endswith(".inf"):
            return -math.inf if low.startswith("-") else math.inf
        return math.nan if low == ".nan" else float(text)
    if tag == _INT:
        return _integer(node, text)
    if tag == _STR:
        return text
    if tag == _BOOL:
        return text.lower() == "true"
    if tag == _NULL:
        return None
    raise _Refused(node, "tags are not allowed", f"the tag {tag}")


def _integer(node: yaml.ScalarNode, text: str) -> int:
    """An integer that a float can hold: every number is computed as a float, and Python refuses to read
    integers of more than 4,300 digits at all; either would otherwise surface as a traceback."""
    digits = len(text.lstrip("+-"))
    try:
        value = int(text, 0) if text[:2] in ("0o", "0x") else int(text)
        float(value)
    except (OverflowError, ValueError):
        raise _Refused(node, "this integer is too large to compute with", f"an integer of {digits} digits",
                       "write it in scientific notation (e.g. 1.5e30); the largest usable number is about 1.8e308",
                       expected="a number below about 1.8e308") from None
    return value


class _Refused(Exception):
    def __init__(self, node: yaml.Node, message: str, given: str, hint: str = "", expected: str = "a plain value"):
        self.node, self.message, self.given, self.hint, self.expected = node, message, given, hint, expected


@dataclass
class Document:
    """Plain data loaded from YAML plus the node tree, for error positions."""

    data: Any
    file: str
    root: yaml.Node | None

    def position(self, path: tuple) -> tuple[int, int]:
        """1-based line and column of the value at `path` (or of its nearest existing parent)."""
        node = self.root
        for key in path:
            child = None
            if isinstance(node, yaml.MappingNode):
                child = next((v for k, v in node.value if k.value == key), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                child = node.value[key]
            if child is None:
                break
            node = child
        if node is None:
            return 1, 1
        return node.start_mark.line + 1, node.start_mark.column + 1

    def key_position(self, path: tuple) -> tuple[int, int]:
        """Where the key that ends `path` is written (for unknown or duplicate keys)."""
        parent = self.root
        for key in path[:-1]:
            if isinstance(parent, yaml.MappingNode):
                parent = next((v for k, v in parent.value if k.value == key), parent)
            elif isinstance(parent, yaml.SequenceNode) and isinstance(key, int) and key < len(parent.value):
                parent = parent.value[key]
        if isinstance(parent, yaml.MappingNode):
            for k, _ in parent.value:
                if k.value == path[-1]:
                    return k.start_mark.line + 1, k.start_mark.column + 1
        return self.position(path)

    def issue(self, path: tuple, message: str, expected: str = "", given: str = "", hint: str = "",
              at_key: bool = False) -> Issue:
        line, col = self.key_position(path) if at_key else self.position(path)
        return Issue(self.file, line, col, format_path(path), message, expected, given, hint)


def format_path(path: tuple) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text


def _depth_bound(text: str) -> int:
    """An upper bound on the nesting depth, cheap enough for megabyte files.

    Flow brackets are counted with their running sum; block nesting needs indentation or an
    indicator (`- `, `? `, `: `) on the line. Quoted brackets can only inflate the bound, and an
    inflated bound just sends the file to the exact check in `_exact_depth`.
    """
    flow = depth = 0
    for char in re.findall(r"[\[\]{}]", text):
        depth += 1 if char in "[{" else -1
        flow = max(flow, depth)
    block = 0
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        indicators = stripped.count("- ") + stripped.count(": ") + stripped.count("? ")
        block = max(block, (len(line) - len(stripped)) // 2 + indicators)
    return flow + block


def _deepest(events) -> tuple[int, yaml.Mark | None]:  # noqa: ANN001
    """The deepest nesting among `events`, stopping at the first level past MAX_DEPTH (with its mark)."""
    depth = deepest = 0
    for event in events:
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth, event.start_mark
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1
    return deepest, None


def _exact_depth(text: str) -> tuple[int, yaml.Mark | None]:
    try:
        return _deepest(yaml.parse(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" not in str(exc.problem) or exc.problem_mark is None:
            raise
        # libyaml (as bundled since PyYAML 6.0.4) refuses 1,000 levels itself, and reads every opening
        # bracket ahead before it yields the first event. The pure-Python parser has no such limit; given
        # the text up to libyaml's mark it yields the events that place the first level too many.
        prefix = text[: exc.problem_mark.index + 1]
        try:
            return _deepest(yaml.parse(prefix, Loader=yaml.SafeLoader))
        except yaml.YAMLError:
            return MAX_DEPTH + 1, exc.problem_mark


class _Reading:
    """The text as a stream the C parser reads in pieces, so that a large file's reading can show a bar."""

    def __init__(self, text: str, advance):  # noqa: ANN001
        self.text, self.at, self.advance = text, 0, advance

    def read(self, size: int = -1) -> str:
        end = len(self.text) if size is None or size < 0 else self.at + size
        piece, self.at = self.text[self.at:end], min(end, len(self.text))
        self.advance(self.at)
        return piece


def _compose(text: str) -> yaml.Node | None:
    """The node tree; a file of more than a megabyte is read with a bar (on a terminal, after a second)."""
    if len(text) < 1_000_000:
        return yaml.compose(text, Loader=_Loader)
    from nnworked import progress

    with progress.bar(len(text), "Reading the YAML") as advance:
        return yaml.compose(_Reading(text, advance), Loader=_Loader)


def load_text(text: str, file: str) -> Document:
    """Parse YAML text safely; raise ScenarioError listing every problem found."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ScenarioError([Issue(file, 1, 1, "", "the file is too large",
                                   f"at most {MAX_BYTES // (1024 * 1024)} MB", f"{len(text):,} characters")])
    try:
        if _depth_bound(text) > MAX_DEPTH:
            deepest, mark = _exact_depth(text)
            if mark is not None:
                raise ScenarioError([Issue(file, mark.line + 1, mark.column + 1, "", "the nesting is too deep",
                                           f"at most {MAX_DEPTH} levels", f"more than {MAX_DEPTH}")])
        root = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        if exc.context and exc.context_mark and exc.problem:
            problem += f" ({exc.context} that starts at line {exc.context_mark.line + 1}, " \
                       f"column {exc.context_mark.column + 1})"
        raise ScenarioError([Issue(file, line, col, "", f"this is not valid YAML: {problem}",
                                   hint="check the indentation and the brackets just before this point")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Issue(file, 1, 1, "", f"this is not valid YAML: {exc}")]) from None
    doc = Document(None, file, root)
    if root is None:
        return doc
    issues: list[Issue] = []
    seen: set[int] = set()

    def convert(node: yaml.Node, path: tuple) -> Any:
        if id(node) in seen:
            issues.append(doc.issue(path, "anchors and aliases are not allowed", "the value written out",
                                    "an alias (*name)", "repeat the value instead of referring to it", at_key=True))
            return None
        seen.add(id(node))
        try:
            if isinstance(node, yaml.ScalarNode):
                return _scalar(node)
            if node.tag not in (_SEQ, _MAP):
                raise _Refused(node, "tags are not allowed", f"the tag {node.tag}")
        except _Refused as refused:
            issues.append(doc.issue(path, refused.message, refused.expected, refused.given,
                                    hint=refused.hint
                                    or "remove the !tag; nnworked reads plain numbers, text, lists and mappings"))
            return None
        if isinstance(node, yaml.SequenceNode):
            return [convert(child, path + (i,)) for i, child in enumerate(node.value)]
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                issues.append(doc.issue(path, "a key must be plain text", given="a list or mapping as a key"))
                continue
            key = key_node.value
            if key in result:
                first = next(k for k, _ in node.value if k.value == key)
                issues.append(Issue(file, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                    format_path(path + (key,)), f"the key '{key}' appears twice",
                                    "each key once", f"a second '{key}'",
                                    f"the first is on line {first.start_mark.line + 1}; keep one"))
                continue
            result[key] = convert(value_node, path + (key,))
        return result

    doc.data = convert(root, ())
    if issues:
        raise ScenarioError(issues)
    return doc


def load_file(path: str) -> Document:
    import os

    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            raise ScenarioError([Issue(path, 1, 1, "", "the file is too large",
                                       f"at most {MAX_BYTES // (1024 * 1024)} MB", f"{size:,} bytes")])
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except UnicodeDecodeError as exc:
        raise ScenarioError([Issue(path, 1, 1, "", "the file is not UTF-8 text", given=str(exc.reason))]) from None
    except OSError as exc:
        raise ScenarioError([Issue(path, 1, 1, "", f"cannot read the file: {exc.strerror}")]) from None
    return load_text(text, path)
