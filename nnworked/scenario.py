"""A scenario file, validated into a frozen Scenario, or a ScenarioError that lists every problem.

Each check says where (file:line:col and the path into the YAML), what was expected, what was given,
and, where one helps, a hint. Shapes are checked against each other, not only one by one.
"""

from __future__ import annotations

import math
import os
from typing import NamedTuple
from typing import Any

import numpy as np

from nnworked.engine.activations import ACTIVATIONS, DEFAULT_LEAKY_SLOPE
from nnworked.engine.losses import LOSSES, LossSpec
from nnworked.engine.optimizers import LIMITS as OPTIMIZER_LIMITS
from nnworked.engine.optimizers import OPTIMIZERS, OptimizerSpec
from nnworked.errors import Issue, ScenarioError
from nnworked.limits import MAX_PRECISION, MAX_STEPS
from nnworked.yamlsource import Document, load_file

TOP_KEYS = ["title", "description", "input_names", "inputs", "targets", "layers", "loss", "learning_rate",
            "optimizer", "steps", "freeze", "precision", "rounding", "layout", "exercise", "matmul"]
LAYOUTS = ["standard", "ai-by-hand"]
ROUNDINGS = ["exact", "carry"]
REVEALS = ["guided", "none"]  # an exercise sheet's policy (exercise.REVEALS); kept here so loading needs no renderer
LAYER_KEYS = ["weights", "bias", "activation", "name"]
LOSS_KEYS = ["name", "scale", "outputs", "batch"]


# Records are NamedTuples (immutable) rather than frozen dataclasses: defining a dataclass generates and
# compiles its methods at import, which costs a command that should start in a few milliseconds.
class Layer(NamedTuple):
    weights: np.ndarray  # (units, inputs): one row per neuron
    bias: np.ndarray | None  # (units,)
    activation: str = "linear"
    slope: float = DEFAULT_LEAKY_SLOPE  # leaky_relu only
    name: str | None = None

    @property
    def units(self) -> int:
        return self.weights.shape[0]


class Matmul(NamedTuple):
    a: np.ndarray
    b: np.ndarray


class Scenario(NamedTuple):
    title: str
    source: str
    description: str = ""
    inputs: np.ndarray = np.zeros((0, 0))  # (examples, features)
    targets: np.ndarray | None = None  # (examples, outputs); class indices already one-hot
    layers: tuple[Layer, ...] = ()
    loss: LossSpec | None = None
    learning_rate: float | None = None
    optimizer: OptimizerSpec = OptimizerSpec()
    steps: int = 1
    freeze: frozenset[str] = frozenset()
    precision: int = 4
    rounding: str = "exact"
    layout: str = "standard"  # how the walkthrough is arranged unless the reader asks otherwise
    blanks: tuple[str, ...] = ()  # an exercise's blanks, as `nnworked generate` records them in a variant
    variant: str = ""  # and its id, printed on the sheet and its key
    reveal: str = ""  # and its policy (guided, none), when the variant records one
    input_names: tuple[str, ...] | None = None
    matmul: Matmul | None = None

    @property
    def trains(self) -> bool:
        return self.targets is not None and self.learning_rate is not None

    def parameter_counts(self) -> list[int]:
        """Per layer: one weight per input for every neuron, plus its bias."""
        return [layer.weights.size + (layer.bias.size if layer.bias is not None else 0) for layer in self.layers]

    def with_options(self, **options: Any) -> "Scenario":
        """Command-line options override the file's own settings (None means not given)."""
        return self._replace(**{k: v for k, v in options.items() if v is not None})


def parameter_names(layers: tuple[Layer, ...] | list[Layer]) -> list[str]:
    names = []
    for k, layer in enumerate(layers, start=1):
        names.append(f"W{k}")
        if layer.bias is not None:
            names.append(f"b{k}")
    return names


# ---- loading ----------------------------------------------------------------------------------------

def load(path: str) -> Scenario:
    """Read and validate a scenario file; raise ScenarioError with every problem found."""
    return from_document(load_file(path))


def from_document(doc: Document) -> Scenario:
    checker = _Checker(doc)
    scenario = checker.scenario()
    if checker.issues:
        raise ScenarioError(checker.issues)
    assert scenario is not None
    return scenario


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"the text '{value}'" if len(value) < 40 else "a piece of text"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _suggest(word: str, choices: list[str]) -> str:
    import difflib  # only a file with a mistake in it needs suggestions

    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


class _Checker:
    """Walks the document once, collecting issues instead of stopping at the first."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.issues: list[Issue] = []

    def add(self, path: tuple, message: str, expected: str = "", given: str = "", hint: str = "",
            at_key: bool = False) -> None:
        self.issues.append(self.doc.issue(path, message, expected, given, hint, at_key))

    # -- primitive checks --

    def keys(self, mapping: dict, allowed: list[str], path: tuple, what: str) -> None:
        for key in mapping:
            if key not in allowed:
                hint = _suggest(key, allowed) or f"{what} takes: {', '.join(allowed)}"
                self.add(path + (key,), f"unknown key '{key}'", f"one of {', '.join(allowed)}", f"'{key}'",
                         hint, at_key=True)

    def number(self, value: Any, path: tuple, what: str, positive: bool = False) -> float | None:
        if not _is_number(value) or not math.isfinite(value):
            self.add(path, f"{what} must be a number", "a finite number", _describe(value),
                     "write numbers plainly, such as 0.1 or 1e-7" if isinstance(value, str) else "")
            return None
        if positive and value <= 0:
            self.add(path, f"{what} must be positive", "a number above 0", repr(value))
            return None
        return float(value)

    def integer(self, value: Any, path: tuple, what: str, low: int, high: int) -> int | None:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.add(path, f"{what} must be a whole number from {low} to {high}", f"{low} to {high}",
                     _describe(value))
            return None
        return value

    def choice(self, value: Any, choices: list[str], path: tuple, what: str) -> str | None:
        if not isinstance(value, str) or value not in choices:
            hint = _suggest(value, choices) if isinstance(value, str) else ""
            self.add(path, f"unknown {what}", f"one of {', '.join(choices)}", _describe(value),
                     hint or f"choose from: {', '.join(choices)}")
            return None
        return value

    def matrix(self, value: Any, path: tuple, what: str, flat_is_row: bool = True) -> np.ndarray | None:
        """A rectangular list of lists of finite numbers; a flat list is one row."""
        if isinstance(value, list) and value and not any(isinstance(v, list) for v in value) and flat_is_row:
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(r, list) and r for r in value):
            self.add(path, f"{what} must be a list of rows of numbers", "for example [[0.1, 0.2], [0.3, 0.4]]",
                     _describe(value))
            return None
        nested = next(((i, j) for i, row in enumerate(value) for j, v in enumerate(row) if isinstance(v, list)), None)
        if nested is not None:  # numpy would make a third dimension of it, which no layer takes
            i, j = nested
            self.add(path + nested, f"each row of {what} must hold numbers, not lists", "a number",
                     f"{_describe(value[i][j])} in row {i + 1}",
                     "one pair of brackets per row: [[1], [0]], not [[[1]], [[0]]]")
            return None
        widths = {len(r) for r in value}
        if len(widths) > 1:
            short = min(range(len(value)), key=lambda i: len(value[i]))
            self.add(path + (short,), f"the rows of {what} have different lengths",
                     f"{len(value[0])} numbers in every row", f"{len(value[short])} in row {short + 1}",
                     "every row needs one number per column")
            return None
        return self._numbers(value, path, what)

    def vector(self, value: Any, path: tuple, what: str) -> np.ndarray | None:
        if _is_number(value):
            value = [value]
        if not isinstance(value, list) or not value or any(isinstance(v, list) for v in value):
            self.add(path, f"{what} must be a list of numbers", "for example [0.1, 0.2]", _describe(value))
            return None
        return self._numbers(value, path, what)

    def _numbers(self, value: list, path: tuple, what: str) -> np.ndarray | None:
        rows = value if isinstance(value[0], list) else [value]
        bad = [(i, j, v) for i, row in enumerate(rows) for j, v in enumerate(row)
               if not _is_number(v) or not math.isfinite(v)] if not self._all_numbers(value) else []
        for i, j, v in bad[:5]:
            where = path + ((i, j) if isinstance(value[0], list) else (j,))
            self.add(where, f"every entry of {what} must be a number", "a finite number", _describe(v))
        if bad:
            return None
        return np.array(value, dtype=float)

    @staticmethod
    def _all_numbers(value: list) -> bool:
        # the common case, fast: numpy accepts it and there is no boolean or non-finite value in it
        try:
            array = np.array(value, dtype=float)
        except (TypeError, ValueError):
            return False
        flat = value if not isinstance(value[0], list) else [v for row in value for v in row]
        return bool(np.all(np.isfinite(array))) and not any(type(v) is bool for v in flat)

    # -- the scenario --

    def scenario(self) -> Scenario | None:
        data, doc = self.doc.data, self.doc
        if not isinstance(data, dict):
            self.add((), "a scenario must be a mapping of keys to values", "title:, inputs:, layers:, …",
                     _describe(data), "see `nnworked run spam --format markdown` or the README for an example")
            return None
        self.keys(data, TOP_KEYS, (), "a scenario")
        title = data.get("title", os.path.splitext(os.path.basename(doc.file))[0])
        if not isinstance(title, str):
            self.add(("title",), "the title must be text", "text", _describe(title))
            title = str(title)
        description = data.get("description")
        description = "" if description is None else description  # `description:` left empty
        if not isinstance(description, str):
            self.add(("description",), "the description must be text", "text", _describe(description))
            description = ""
        precision = self.integer(data.get("precision", 4), ("precision",), "precision", 0, MAX_PRECISION)
        rounding = self.choice(data.get("rounding", "exact"), ROUNDINGS, ("rounding",), "rounding")
        layout = self.choice(data.get("layout", "standard"), LAYOUTS, ("layout",), "layout")
        blanks, variant, reveal = self.exercise(data.get("exercise"))
        common = dict(title=title, source=doc.file, description=description.strip(),
                      precision=precision if precision is not None else 4, rounding=rounding or "exact",
                      layout=layout or "standard", blanks=blanks, variant=variant, reveal=reveal)
        if "matmul" in data:
            return self.matmul_scenario(data, common)
        for key in ("inputs", "layers"):
            if key not in data:
                self.add((), f"the scenario has no '{key}'", f"a '{key}' key", "none",
                         "a network scenario needs inputs and layers; a matrix product needs only 'matmul'")
        inputs = self.matrix(data["inputs"], ("inputs",), "inputs") if "inputs" in data else None
        layers = self.layers(data["layers"], inputs) if "layers" in data else None
        targets = self.targets(data, inputs, layers)
        loss = self.loss(data, layers, targets)
        learning_rate = None
        if "learning_rate" in data:
            learning_rate = self.number(data["learning_rate"], ("learning_rate",), "the learning rate", True)
            if "targets" not in data:
                self.add(("learning_rate",), "a learning rate without targets has nothing to learn from",
                         "targets: beside learning_rate", "no targets",
                         "add targets, or remove learning_rate for a forward pass only")
        optimizer = self.optimizer(data.get("optimizer", "sgd"))
        steps = self.integer(data.get("steps", 1), ("steps",), "steps", 1, MAX_STEPS) or 1
        if steps > 1 and "learning_rate" not in data and "steps" in data:
            self.add(("steps",), "several steps need a learning rate", "learning_rate: beside steps", "none")
        freeze = self.freeze(data.get("freeze", []), layers)
        input_names = self.input_names(data.get("input_names"), inputs)
        if inputs is None or layers is None:
            return None
        return Scenario(**common, inputs=inputs, targets=targets, layers=tuple(layers), loss=loss,
                        learning_rate=learning_rate, optimizer=optimizer or OptimizerSpec(), steps=steps,
                        freeze=freeze, input_names=input_names)

    def matmul_scenario(self, data: dict, common: dict) -> Scenario | None:
        for key in data:
            if key not in ("title", "description", "precision", "rounding", "layout", "exercise", "matmul") and \
                    key in TOP_KEYS:
                self.add((key,), f"'{key}' does not go with 'matmul'", "only title, description, precision, "
                         "rounding beside matmul", f"'{key}'", "a matrix product has no network", at_key=True)
        spec = data["matmul"]
        if not isinstance(spec, dict):
            self.add(("matmul",), "matmul must be a mapping with A and B", "A: [[…]] and B: [[…]]", _describe(spec))
            return None
        self.keys(spec, ["A", "B"], ("matmul",), "matmul")
        matrices = {}
        for name in ("A", "B"):
            if name not in spec:
                self.add(("matmul",), f"matmul has no {name}", f"{name}: a matrix", "none")
            else:
                matrices[name] = self.matrix(spec[name], ("matmul", name), name)
        a, b = matrices.get("A"), matrices.get("B")
        if a is None or b is None:
            return None
        if a.shape[1] != b.shape[0]:
            self.add(("matmul", "B"), "the inner dimensions do not match",
                     f"B with {a.shape[1]} rows (A is {a.shape[0]}×{a.shape[1]})",
                     f"B is {b.shape[0]}×{b.shape[1]}", "A·B needs as many columns in A as rows in B")
            return None
        return Scenario(**common, matmul=Matmul(a, b))

    def exercise(self, value: Any) -> tuple[tuple[str, ...], str, str]:
        """`exercise: {variant: v-1a2b3c, blanks: [z1[0], a1[0]], reveal: none}`: what a generated variant asks,
        and what its sheet shows of the values computed from the blanks (guided unless it says)."""
        if value is None:
            return (), "", ""
        path = ("exercise",)
        if not isinstance(value, dict):
            self.add(path, "exercise must be a mapping", "variant: and blanks:", _describe(value))
            return (), "", ""
        self.keys(value, ["variant", "blanks", "reveal"], path, "an exercise")
        blanks = value.get("blanks", [])
        if not isinstance(blanks, list) or not all(isinstance(b, str) for b in blanks):
            self.add(path + ("blanks",), "blanks must be a list of value names", "for example [z1[0], dW2[0,1]]",
                     _describe(blanks))
            blanks = []
        variant = value.get("variant", "")
        if not isinstance(variant, str):
            self.add(path + ("variant",), "the variant must be text", "for example v-1a2b3c", _describe(variant))
            variant = ""
        reveal = self.choice(value.get("reveal", "guided"), REVEALS, path + ("reveal",), "reveal") or ""
        return tuple(blanks), variant, reveal

    def layers(self, value: Any, inputs: np.ndarray | None) -> list[Layer] | None:
        if not isinstance(value, list) or not value:
            self.add(("layers",), "layers must be a list with one entry per layer",
                     "- weights: [[…]]", _describe(value))
            return None
        layers: list[Layer] = []
        width = inputs.shape[1] if inputs is not None else None
        previous = "the inputs"
        for k, spec in enumerate(value):
            path = ("layers", k)
            if not isinstance(spec, dict):
                self.add(path, "each layer must be a mapping", "weights:, bias:, activation:", _describe(spec))
                return None
            self.keys(spec, LAYER_KEYS, path, "a layer")
            if "weights" not in spec:
                self.add(path, f"layer {k + 1} has no weights", "weights: one row per neuron", "none")
                return None
            weights = self.matrix(spec["weights"], path + ("weights",), f"the weights of layer {k + 1}")
            if weights is None:
                return None
            if width is not None and weights.shape[1] != width:
                hint = ("it looks transposed: write one row per neuron, one column per input"
                        if weights.shape[0] == width else f"layer {k + 1} takes {width} inputs from {previous}")
                self.add(path + ("weights",), f"the weights of layer {k + 1} do not fit {previous}",
                         f"{width} columns (one per input)", f"{weights.shape[1]} columns "
                         f"({weights.shape[0]}×{weights.shape[1]})", hint)
            bias = None
            if "bias" in spec:
                bias = self.vector(spec["bias"], path + ("bias",), f"the bias of layer {k + 1}")
                if bias is not None and bias.shape[0] != weights.shape[0]:
                    self.add(path + ("bias",), f"the bias of layer {k + 1} does not fit its weights",
                             f"{weights.shape[0]} numbers (one per neuron)", f"{bias.shape[0]}")
                    bias = None
            activation, slope = self.activation(spec.get("activation", "linear"), path + ("activation",))
            name = spec.get("name")
            if name is not None and not isinstance(name, str):
                self.add(path + ("name",), "a layer name must be text", "text", _describe(name))
                name = None
            layers.append(Layer(weights, bias, activation or "linear", slope, name))
            width, previous = weights.shape[0], f"layer {k + 1}"
        return layers

    def activation(self, value: Any, path: tuple) -> tuple[str | None, float]:
        slope = DEFAULT_LEAKY_SLOPE
        if isinstance(value, dict):
            self.keys(value, ["name", "slope"], path, "an activation")
            if "slope" in value:
                given = self.number(value["slope"], path + ("slope",), "the slope")
                slope = given if given is not None else DEFAULT_LEAKY_SLOPE  # 0 is a slope: leaky ReLU becomes ReLU
                rule = ACTIVATIONS.get(value.get("name"))  # type: ignore[arg-type]
                if rule is None or not rule.has_slope:
                    with_slope = [r.name for r in ACTIVATIONS.values() if r.has_slope]
                    self.add(path + ("slope",), f"only {' and '.join(with_slope)} has a slope",
                             " or ".join(f"name: {r}" for r in with_slope), _describe(value.get("name")))
            value = value.get("name")
            path = path + ("name",)
        return self.choice(value, ACTIVATIONS.names(), path, "activation"), slope

    def targets(self, data: dict, inputs: np.ndarray | None, layers: list[Layer] | None) -> np.ndarray | None:
        if "targets" not in data:
            return None
        value = data["targets"]
        if _is_number(value):
            value = [value]
        targets = self.matrix(value, ("targets",), "targets")
        if targets is None or inputs is None or layers is None:
            return None
        if targets.shape[0] != inputs.shape[0]:
            flat = isinstance(value, list) and not any(isinstance(v, list) for v in value)
            self.add(("targets",), "there are not as many targets as examples",
                     f"{_count(inputs.shape[0], 'row')} (one per example in inputs)",
                     _count(targets.shape[0], "row"), "a flat list is one example: write one row per example, "
                     "such as [[1], [0]]" if flat and len(value) == inputs.shape[0] else "")
            return None
        units = layers[-1].units
        loss = data.get("loss")
        loss_name = loss.get("name") if isinstance(loss, dict) else loss
        loss_rule = LOSSES.get(loss_name) if isinstance(loss_name, str) else None
        if targets.shape[1] == 1 and units > 1 and loss_rule is not None and loss_rule.accepts_class_index:
            classes = targets[:, 0]
            if np.all(np.equal(np.mod(classes, 1), 0)) and np.all((classes >= 0) & (classes < units)):
                return np.eye(units)[classes.astype(int)]
            self.add(("targets",), "a class index must be a whole number from 0 to the number of classes − 1",
                     f"0 to {units - 1}", f"{classes.tolist()}")
            return None
        if targets.shape[1] != units:
            by_index = " or ".join(r.name for r in LOSSES.values() if r.accepts_class_index)
            hint = f"for {by_index} a row may also be one class index, such as [1]" if units > 1 and by_index else ""
            self.add(("targets",), "the targets do not fit the output layer",
                     f"{units} number{'s' if units != 1 else ''} per row (one per output)",
                     f"{targets.shape[1]} per row", hint)
            return None
        return targets

    def loss(self, data: dict, layers: list[Layer] | None, targets: np.ndarray | None) -> LossSpec | None:
        if "loss" not in data:
            if "targets" in data:
                output = layers[-1].activation if layers else "linear"
                guess = next((r.name for r in LOSSES.values() if r.output_activation == output), "mse")
                self.add((), "targets are given but no loss", "a loss: key", "none", f"for a {output} output, "
                         f"'loss: {guess}' is usual")
            return None
        value, path = data["loss"], ("loss",)
        options: dict[str, Any] = {}
        if isinstance(value, dict):
            self.keys(value, LOSS_KEYS, path, "a loss")
            options = {k: v for k, v in value.items() if k != "name"}
            value, name_path = value.get("name"), path + ("name",)
        else:
            name_path = path
        name = self.choice(value, LOSSES.names(), name_path, "loss")
        if name is None:
            return None
        scale = 1.0
        if "scale" in options:
            scale = self.number(options["scale"], path + ("scale",), "the scale", True) or 1.0
        reductions = {}
        for key in ("outputs", "batch"):
            if key in options:
                reductions[key] = self.choice(options[key], ["mean", "sum"], path + (key,), f"{key} reduction")
        if "targets" not in data:
            self.add(path, "a loss needs targets", "targets: beside loss", "no targets",
                     "add targets, or remove the loss for a forward pass only")
        info = LOSSES[name]
        if layers and info.output_activation and layers[-1].activation != info.output_activation:
            self.add(("layers", len(layers) - 1, "activation"),
                     f"{name} needs a {info.output_activation} output layer", info.output_activation,
                     layers[-1].activation, f"set the last layer's activation to {info.output_activation}")
        if targets is not None:
            for message, expected, given in info.target_problems(targets):
                self.add(("targets",), message, expected, given)
        return LossSpec(name, scale, **{k: v for k, v in reductions.items() if v})

    def optimizer(self, value: Any) -> OptimizerSpec | None:
        path: tuple = ("optimizer",)
        params: dict[str, float] = {}
        if isinstance(value, dict):
            raw = dict(value)
            value = raw.pop("name", None)
            name = self.choice(value, OPTIMIZERS.names(), path + ("name",), "optimizer")
            if name is None:
                return None
            allowed = list(OPTIMIZERS[name].defaults)
            self.keys(raw, ["name", *allowed], path, f"the {name} optimizer")
            for key, v in raw.items():
                if key in allowed:
                    number = self.setting(v, path + (key,), key, OPTIMIZERS[name].defaults[key])
                    if number is not None:
                        params[key] = number
            return OptimizerSpec(name, params)
        name = self.choice(value, OPTIMIZERS.names(), path, "optimizer")
        return OptimizerSpec(name) if name else None

    def setting(self, value: Any, path: tuple, key: str, default: float) -> float | None:
        """An optimizer setting within its limits (0 included where it means something)."""
        number = self.number(value, path, key)
        if number is None:
            return None
        low, high, low_allowed = OPTIMIZER_LIMITS[key]
        if number < low or (number == low and not low_allowed) or number >= high:
            bound = f"{low:g} ≤ {key} < {high:g}" if math.isfinite(high) else \
                f"{key} {'≥' if low_allowed else '>'} {low:g}"
            self.add(path, f"{key} is out of range", bound, repr(value), f"the default is {default:g}")
            return None
        return number

    def freeze(self, value: Any, layers: list[Layer] | None) -> frozenset[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.add(("freeze",), "freeze must be a list of parameter names", "for example [b1, b2]",
                     _describe(value))
            return frozenset()
        names = parameter_names(layers) if layers else []
        for i, item in enumerate(value):
            if layers and item not in names:
                self.add(("freeze", i), f"there is no parameter '{item}'", f"one of {', '.join(names)}",
                         _describe(item), _suggest(str(item), names) or
                         "parameters are named by layer, counting from 1: W1, b1, W2, …")
        return frozenset(v for v in value if isinstance(v, str))

    def input_names(self, value: Any, inputs: np.ndarray | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(("input_names",), "input_names must be a list of names", "for example [x₁, x₂]",
                     _describe(value))
            return None
        if inputs is not None and len(value) != inputs.shape[1]:
            self.add(("input_names",), "there is not one name per input", f"{inputs.shape[1]} names",
                     f"{len(value)}")
            return None
        return tuple(value)
