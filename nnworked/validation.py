"""Checking a scenario file: every problem at once, each with where it is (file:line:col and the path into
the YAML), what was expected, what was given and, where one helps, a hint. Shapes are checked against each
other, not only one by one."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from nnworked.engine.activations import ACTIVATIONS, DEFAULT_LEAKY_SLOPE
from nnworked.engine.losses import LOSSES, LossSpec
from nnworked.engine.optimizers import LIMITS as OPTIMIZER_LIMITS
from nnworked.engine.optimizers import OPTIMIZERS, OptimizerSpec

from nnworked.limits import MAX_PRECISION, MAX_STEPS, MIN_PRECISION
from nnworked.engine.backend import rows
from nnworked.rules.layers import LAYERS
from nnworked.rules.layers.sequence import is_sequence, parse_sequences
from nnworked.scenario import (LAYOUTS, LOSS_KEYS, REVEALS, ROUNDINGS, TOP_KEYS, Layer, Matmul,
                               Scenario, parameter_names)
from nnworked.text import printable
from nnworked.values import ValueChecker, count, describe, is_number, suggest


class Checker(ValueChecker):
    """Walks a scenario document once, collecting issues instead of stopping at the first."""

    def scenario(self) -> Scenario | None:
        data, doc = self.doc.data, self.doc
        if not isinstance(data, dict):
            self.add((), "a scenario must be a mapping of keys to values", "title:, inputs:, layers:, …",
                     describe(data), "see `nnworked run spam --format markdown` or the README for an example")
            return None
        self.keys(data, TOP_KEYS, (), "a scenario")
        title = data.get("title", os.path.splitext(os.path.basename(doc.file))[0])
        if not isinstance(title, str):
            self.add(("title",), "the title must be text", "text", describe(title))
            title = str(title)
        description = data.get("description")
        description = "" if description is None else description  # `description:` left empty
        if not isinstance(description, str):
            self.add(("description",), "the description must be text", "text", describe(description))
            description = ""
        precision = self.integer(data.get("precision", 4), ("precision",), "precision", MIN_PRECISION, MAX_PRECISION)
        rounding = self.choice(data.get("rounding", "exact"), ROUNDINGS, ("rounding",), "rounding")
        layout = self.choice(data.get("layout", "standard"), LAYOUTS, ("layout",), "layout")
        blanks, variant, reveal = self.exercise(data.get("exercise"))
        # text from the file is untrusted: control and bidi characters become visible escapes here, once,
        # so that no format and no terminal ever receives them
        common = dict(title=printable(title), source=doc.file, description=printable(description.strip(), newlines=True),
                      precision=precision if precision is not None else 4, rounding=rounding or "exact",
                      layout=layout or "standard", blanks=blanks, variant=variant, reveal=reveal)
        if "matmul" in data:
            return self.matmul_scenario(data, common)
        for key in ("inputs", "layers"):
            if key not in data:
                self.add((), f"the scenario has no '{key}'", f"a '{key}' key", "none",
                         "a network scenario needs inputs and layers; a matrix product needs only 'matmul'")
        inputs = self.first_layer(data.get("layers")).parse_inputs(self, data["inputs"]) if "inputs" in data else None
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
            self.add(("matmul",), "matmul must be a mapping with A and B", "A: [[…]] and B: [[…]]", describe(spec))
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
            self.add(path, "exercise must be a mapping", "variant: and blanks:", describe(value))
            return (), "", ""
        self.keys(value, ["variant", "blanks", "reveal"], path, "an exercise")
        blanks = value.get("blanks", [])
        if not isinstance(blanks, list) or not all(isinstance(b, str) for b in blanks):
            self.add(path + ("blanks",), "blanks must be a list of value names", "for example [z1[0], dW2[0,1]]",
                     describe(blanks))
            blanks = []
        variant = value.get("variant", "")
        if not isinstance(variant, str):
            self.add(path + ("variant",), "the variant must be text", "for example v-1a2b3c", describe(variant))
            variant = ""
        reveal = self.choice(value.get("reveal", "guided"), REVEALS, path + ("reveal",), "reveal") or ""
        return tuple(blanks), variant, reveal

    @staticmethod
    def first_layer(value: Any):  # noqa: ANN205
        """The rule of the first layer, which says how the inputs are written (dense when unclear: the
        layers' own problems are reported where they are checked)."""
        first = value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else {}
        kind = first.get("type", "dense")
        return LAYERS[kind] if kind in LAYERS else LAYERS["dense"]

    def layers(self, value: Any, inputs: np.ndarray | None) -> list[Layer] | None:
        if not isinstance(value, list) or not value:
            self.add(("layers",), "layers must be a list with one entry per layer",
                     "- weights: [[…]]", describe(value))
            return None
        layers: list[Layer] = []
        shape = inputs.shape[1:] if inputs is not None else None  # what one example is, as the next layer sees it
        previous = "the inputs"
        self.examples = inputs.shape[0] if inputs is not None else None  # a dropout mask gives one row per example
        self.outputs: list[tuple[str | None, tuple | None]] = [("input", shape)]  # by layer: a residual's source
        for k, spec in enumerate(value):
            path = ("layers", k)
            if not isinstance(spec, dict):
                self.add(path, "each layer must be a mapping", "weights:, bias:, activation:", describe(spec))
                return None
            kind = self.choice(spec.get("type", "dense"), LAYERS.names(), path + ("type",), "layer type")
            if kind is None:
                return None
            rule = LAYERS[kind]
            self.keys(spec, ["type", *rule.keys], path, f"a {kind} layer")
            parsed = rule.parse(self, spec, path, k + 1, shape, previous)
            if parsed is None:
                return None
            layer, shape = parsed
            layers.append(layer)
            self.outputs.append((layer.name, shape))
            previous = f"layer {k + 1}"
        if not rule.output:
            self.add(("layers", len(value) - 1, "type"), f"a {rule.name} layer cannot be the last layer",
                     "a dense or conv2d layer last (the loss's gradient starts from its activation)", rule.name,
                     "add a dense layer after it")
            return None
        self.output_shape = shape
        return layers

    def layer_name(self, name: Any, path: tuple) -> str | None:
        """A layer's `name:` (text from the file: untrusted, made printable)."""
        if name is not None and not isinstance(name, str):
            self.add(path, "a layer name must be text", "text", describe(name))
            return None
        return None if name is None else printable(name)

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
                             " or ".join(f"name: {r}" for r in with_slope), describe(value.get("name")))
            value = value.get("name")
            path = path + ("name",)
        return self.choice(value, ACTIVATIONS.names(), path, "activation"), slope

    def targets(self, data: dict, inputs: np.ndarray | None, layers: list[Layer] | None) -> np.ndarray | None:
        if "targets" not in data:
            return None
        value = data["targets"]
        if layers is not None and is_sequence(getattr(self, "output_shape", None)):
            return self.sequence_targets(data, value, inputs)
        if inputs is not None and inputs.ndim == 3 and layers is None:
            return None  # sequences, and a layer's problem (reported) hides whether targets are per position
        if is_number(value):
            value = [value]
        targets = self.matrix(value, ("targets",), "targets")
        if targets is None or inputs is None or layers is None:
            return None
        if targets.shape[0] != inputs.shape[0]:
            flat = isinstance(value, list) and not any(isinstance(v, list) for v in value)
            self.add(("targets",), "there are not as many targets as examples",
                     f"{count(inputs.shape[0], 'row')} (one per example in inputs)",
                     count(targets.shape[0], "row"), "a flat list is one example: write one row per example, "
                     "such as [[1], [0]]" if flat and len(value) == inputs.shape[0] else "")
            return None
        if self.output_shape is not None and len(self.output_shape) != 1:
            self.add(("targets",), "the last layer's output is not a vector of outputs",
                     "a last layer with one number per output (flatten, then a dense layer)",
                     "×".join(map(str, self.output_shape)) + " per example", "add a flatten layer and a dense layer")
            return None
        if self.output_shape is None:  # a layer's input was unknown: reported there
            return None
        units = self.output_shape[0]
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

    def sequence_targets(self, data: dict, value: Any, inputs: np.ndarray | None) -> np.ndarray | None:
        """Targets at every position, [example][position][output] (a 2-D list is one sequence), when the last
        layer gives a sequence; a row of one class index becomes one-hot as for vectors."""
        targets = parse_sequences(self, value, "targets")
        if targets is None or inputs is None:
            return None
        positions, units = self.output_shape
        examples = inputs.shape[0]
        if targets.shape[:2] != (examples, positions):
            self.add(("targets",), "the targets do not give one row per position of each example",
                     f"{examples}×{positions}×… ({count(examples, 'example')}, {count(positions, 'position')} "
                     "each: [example][position][output])", "×".join(map(str, targets.shape)),
                     "the last sequence layer returns the sequence: a target at every position (with return: last, "
                     "one row per example)")
            return None
        loss = data.get("loss")
        loss_name = loss.get("name") if isinstance(loss, dict) else loss
        loss_rule = LOSSES.get(loss_name) if isinstance(loss_name, str) else None
        if targets.shape[2] == 1 and units > 1 and loss_rule is not None and loss_rule.accepts_class_index:
            classes = targets[..., 0]
            if np.all(np.equal(np.mod(classes, 1), 0)) and np.all((classes >= 0) & (classes < units)):
                return np.eye(units)[classes.astype(int)]
            self.add(("targets",), "a class index must be a whole number from 0 to the number of classes − 1",
                     f"0 to {units - 1}", f"{classes.tolist()}")
            return None
        if targets.shape[2] != units:
            self.add(("targets",), "the targets do not fit the output layer",
                     f"{units} number{'s' if units != 1 else ''} per position (one per output)",
                     f"{targets.shape[2]} per position")
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
            for message, expected, given in info.target_problems(rows(targets)):
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
                     describe(value))
            return frozenset()
        names = parameter_names(layers) if layers else []
        for i, item in enumerate(value):
            if layers and item not in names:
                self.add(("freeze", i), f"there is no parameter '{item}'", f"one of {', '.join(names)}",
                         describe(item), suggest(str(item), names) or
                         "parameters are named by layer, counting from 1: W1, b1, W2, …")
        return frozenset(v for v in value if isinstance(v, str))

    def input_names(self, value: Any, inputs: np.ndarray | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(("input_names",), "input_names must be a list of names", "for example [x₁, x₂]",
                     describe(value))
            return None
        if inputs is not None and len(value) != inputs.shape[1]:
            self.add(("input_names",), "there is not one name per input", f"{inputs.shape[1]} names",
                     f"{len(value)}")
            return None
        return tuple(printable(name) for name in value)
