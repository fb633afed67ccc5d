"""`--format pytorch`: a runnable Python script that rebuilds the scenario in PyTorch (float64) and prints
its loss at every step, every gradient of the first step and the parameters after training, each by
nnworked's name, so a student can set the walkthrough beside the framework they will use.

Every torch class comes from the rule that names it as its counterpart (an activation's and a loss's
`torch_module`, an optimizer's `torch_class`); the numbers are the scenario's own, written exactly. Text
from the scenario reaches the script only inside comments, through `printable` (no newline can end one).
"""

from __future__ import annotations

from typing import Any

from nnworked.errors import NnworkedError
from nnworked.render.numbers import fmt, literal
from nnworked.render.settings import Settings
from nnworked.rules.activations import ACTIVATIONS
from nnworked.rules.layers import LAYERS
from nnworked.scenario import Scenario
from nnworked.text import printable
from nnworked.trace import Trace

# the model of a scenario where a layer adds an earlier layer's output (a residual): nn.Sequential passes each
# module only the previous one's output
NETWORK = '''class Network(nn.Sequential):
    """nn.Sequential, except that a module with a `source` (a residual connection) is also given the output
    of that earlier layer; every module's output is kept."""

    def __init__(self, ends, *modules):
        super().__init__(*modules)
        self.ends = ends  # ends[k]: how many modules have run after layer k (ends[0] = 0: the inputs)

    def outputs(self, x):
        """The inputs, then each module's output in turn."""
        out = [x]
        for module in self:
            x = module(x, out[self.ends[module.source]]) if hasattr(module, "source") else module(x)
            out.append(x)
        return out

    def forward(self, x):
        return self.outputs(x)[-1]
'''

RUN = "# Run it where PyTorch is installed (pip install torch): python {file}"


def render(trace: Trace, settings: Settings) -> str:
    s = trace.scenario
    body = _matmul(s) if s.matmul is not None else _network(trace)
    return "\n".join([*_header(trace), "", "import torch", "from torch import nn", "",
                      "torch.set_default_dtype(torch.float64)  # nnworked computes in float64 too", "", *body]) + "\n"


def _comment(text: str) -> str:
    return "# " + printable(text)


def _header(trace: Trace) -> list[str]:
    s = trace.scenario
    lines = [_comment(f"{s.title}: the same computation in PyTorch."),
             "# Written by nnworked (--format pytorch); run it where PyTorch is installed (pip install torch).",
             "# It prints each value by nnworked's name (W1, b1, …), to set beside the walkthrough."]
    if s.rounding == "carry":
        lines.append("# The walkthrough rounds every shown intermediate (rounding: carry); PyTorch does not, so "
                     "last digits can differ.")
    if trace.steps and trace.steps[0].loss is not None:
        said = f"# nnworked's walkthrough: loss {fmt(trace.steps[0].loss.value, trace.precision)} at step 1"
        if trace.final is not None and trace.final[1] is not None:
            said += f", {fmt(trace.final[1].value, trace.precision)} after training"
        lines.append(said + ".")
    return lines


def _matmul(s: Scenario) -> list[str]:
    assert s.matmul is not None
    return [f"A = torch.tensor({literal(s.matmul.a)})", f"B = torch.tensor({literal(s.matmul.b)})",
            'print("C =", (A @ B).tolist())']


def _module(rule: Any, slope: float) -> str:
    if rule.torch_module is None:
        raise NnworkedError(f"the {rule.label} activation has no torch.nn counterpart: nnworked cannot write it "
                            "in PyTorch")
    arguments = ", ".join(f"{k}={literal(v)}" for k, v in rule.torch_arguments(slope).items())
    return f"nn.{rule.torch_module}({arguments})"


def _network(trace: Trace) -> list[str]:
    s = trace.scenario
    loss_rule = s.loss.rule if s.loss is not None else None
    each = {4: "one image per example", 3: "one sequence per example"}.get(s.inputs.ndim, "one row per example")
    lines = [f"# the inputs, {each}" + (", and the targets" if s.targets is not None else ""),
             f"x = torch.tensor({literal(s.inputs)})"]
    if s.targets is not None and s.targets.ndim == 3:  # the loss is taken at every position: one row each
        lines += ["# (the targets one row per position of each example, as the loss takes them)",
                  f"y = torch.tensor({literal(s.targets.reshape(-1, s.targets.shape[-1]))})"]
    elif s.targets is not None:
        lines.append(f"y = torch.tensor({literal(s.targets)})")
    modules, outputs, parameters, loading = [], [], [], []
    helpers: list[str] = []  # the small nn.Module classes the layers need where torch.nn has none
    ends = [0]  # ends[k]: how many modules the model has applied after layer k (0: the inputs)
    skips = False  # a layer adds an earlier layer's output: the model is a Network, not an nn.Sequential
    rows: dict[str, tuple[int, int]] = {}  # parameters that are a block of rows of a torch tensor they share
    holders: dict[str, str] = {}  # each parameter's torch tensor, as the script names it
    extra: list[tuple[str, int, str]] = []  # (name, module, method): a value the module's method computes
    for k, layer in enumerate(s.layers, 1):
        layer_rule, rule = LAYERS[layer.type], ACTIVATIONS[layer.activation]
        named = f" ({layer.name})" if layer.name else ""
        try:
            script = layer_rule.torch_script(k, layer)
        except NotImplementedError:
            raise NnworkedError(f"a {layer_rule.name} layer has no torch.nn counterpart: nnworked cannot write it in "
                                "PyTorch") from None
        helper = layer_rule.torch_helper(layer)
        if helper and helper not in helpers:
            helpers.append(helper)
        skips = skips or layer_rule.source(layer) is not None
        what = f"{rule.label}, {rule.formula}" if layer_rule.activated else layer_rule.summary(layer)
        lines.append(_comment(f"layer {k}{named}: {what}"))
        if layer_rule.torch_note(layer):
            lines.append(_comment(layer_rule.torch_note(layer)))
        linear = len(modules)
        modules.append(script)
        blocks = layer_rule.torch_rows(k, layer)
        for name, value in layer_rule.parameters(k, layer).items():
            holders[name] = f"model[{linear}].{layer_rule.torch_names(k)[name]}"
            block = f"[{blocks[name][0]}:{blocks[name][1]}]" if name in blocks else ""
            loading.append(f"    {holders[name]}{block}.copy_(torch.tensor({literal(value)}))")
            parameters.append(f'"{name}": {holders[name]}')
        rows.update(blocks)
        extra += [(name, linear, method) for name, method in layer_rule.torch_outputs(k).items()]
        if not layer_rule.activated:  # pooling, flatten: the module's output is the layer's
            outputs.append((f"a{k}", linear + 1))
            ends.append(len(modules))
            continue
        outputs.append((f"z{k}", linear + 1))
        applied_by_loss = (k == len(s.layers) and loss_rule is not None and loss_rule.torch_applies_output_activation
                           and layer.activation == loss_rule.output_activation)
        if rule.identity:
            outputs.append((f"a{k}", linear + 1))
        elif applied_by_loss:  # the loss applies it to the scores itself: the model ends without it
            outputs.append((f"a{k}", f"{_module(rule, layer.slope)}(model(x))"))
        else:
            modules.append(_module(rule, layer.slope))
            outputs.append((f"a{k}", len(modules)))
        ends.append(len(modules))
    # a prefix of an nn.Sequential computes a layer's output; a Network keeps each module's output instead
    prefix = "model.outputs(x)[{}]" if skips else "model[:{}](x)"
    outputs += [(name, f"model[{linear}].{method}({prefix.format(linear)})") for name, linear, method in extra]
    outputs.sort(key=lambda item: _forward_order(s, item[0]))
    outputs_text = [f'"{name}": ' + (prefix.format(value) if isinstance(value, int) else value)
                    for name, value in outputs]
    built = [f"model = Network({ends}," if skips else "model = nn.Sequential("]
    lines += [*built, *(f"    {m}," for m in modules), ")",
              "with torch.no_grad():  # the scenario's weights and biases", *loading,
              "parameters = {" + ", ".join(parameters) + "}", *_blocks(rows), "",
              "", "def layer_outputs(x):", '    """Each layer\'s z and a, by nnworked\'s names."""',
              "    return {" + ", ".join(outputs_text) + "}", "", ""]
    lines += _loss(s, trace.precision) + _optimizer(s, holders if rows else None) + _steps(trace, bool(rows))
    classes = helpers + ([NETWORK] if skips else [])
    return [line for text in classes for line in [*text.rstrip("\n").split("\n"), "", ""]] + lines


def _loss(s: Scenario, p: Any) -> list[str]:
    spec = s.loss
    if spec is None or s.targets is None:
        return []
    rule = spec.rule
    if rule.torch_module is None:
        raise NnworkedError(f"the {rule.label} loss has no torch.nn counterpart: nnworked cannot write it in PyTorch")
    over_outputs = "mean" if rule.averages_over_outputs and spec.outputs == "mean" else "sum"
    units = s.targets.shape[-1]
    # a sequence's output (examples, positions, outputs) as the rows the targets are written in
    output = "output.reshape(len(y), -1)" if s.targets.ndim == 3 else "output"
    lines = [_comment(f"loss: {rule.label}, {rule.formula}, so {rule.gradient_formula}"),
             _comment(f"over the outputs: the {over_outputs}; over the batch: the {spec.batch}"
                      + (f"; scaled by {fmt(spec.scale, p, given=True)}" if spec.scale != 1 else ""))]
    if spec.scale == 1 and (units == 1 or not rule.averages_over_outputs or over_outputs == spec.batch):
        # torch's reduction "mean" averages over every output of every example, "sum" sums them
        lines += [f'loss_fn = nn.{rule.torch_module}(reduction="{spec.batch}")', "", "",
                  "def loss_of(output):", f"    return loss_fn({output}, y)", "", ""]
        return lines
    scale = "" if spec.scale == 1 else f"{literal(spec.scale)} * "
    return lines + [f'element_loss = nn.{rule.torch_module}(reduction="none")  # each term, reduced below', "", "",
                    "def loss_of(output):",
                    f"    per_example = element_loss({output}, y).reshape(len(y), -1).{over_outputs}(dim=1)",
                    f"    return {scale}per_example.{spec.batch}()", "", ""]


def _optimizer(s: Scenario, holders: dict[str, str] | None = None) -> list[str]:
    """`holders`: each parameter's torch tensor, when some share one (then each tensor is given once)."""
    if not s.trains:
        return []
    names = [n for n in _parameter_names(s) if n not in s.freeze]
    if not names:
        return ["# every parameter is frozen: no optimizer", ""]
    rule = s.optimizer.rule
    if rule.torch_class is None:
        raise NnworkedError(f"the {rule.name} optimizer has no torch.optim counterpart: nnworked cannot write it "
                            "in PyTorch")
    assert s.learning_rate is not None
    arguments = "".join(f", {k}={literal(v)}" for k, v in rule.torch_arguments(s.optimizer.get).items())
    lines = [f"# {', '.join(sorted(s.freeze))} frozen: never updated"] if s.freeze else []
    chosen = ", ".join(map(_quoted, names))
    if holders is None:
        return lines + [f"optimizer = torch.optim.{rule.torch_class}([parameters[name] for name in [{chosen}]], "
                        f"lr={literal(s.learning_rate)}{arguments})", "", ""]
    for holder in set(holders.values()):
        sharing = sorted(name for name, held in holders.items() if held == holder)
        if len({name in s.freeze for name in sharing}) > 1:
            raise NnworkedError(f"{', '.join(sharing)} share one torch tensor ({holder.split('.', 1)[1]}), which an "
                                "optimizer updates whole: freeze all of them or none to write this scenario in PyTorch")
    return lines + ["# each torch tensor once, though it holds several of nnworked's parameters",
                    f"optimizer = torch.optim.{rule.torch_class}(list(dict.fromkeys(parameters[name] for name in "
                    f"[{chosen}])), lr={literal(s.learning_rate)}{arguments})", "", ""]


def _quoted(name: str) -> str:
    return f'"{name}"'  # W1, b1: names nnworked makes, never the scenario's text


def _parameter_names(s: Scenario) -> list[str]:
    from nnworked.scenario import parameter_names

    return parameter_names(s.layers)


def _blocks(rows: dict[str, tuple[int, int]]) -> list[str]:
    """Where parameters share a torch tensor, which rows of it each one is, and a function that takes them."""
    if not rows:
        return []
    return ["# nn.LSTM stacks its four gates, nn.MultiheadAttention W_Q, W_K and W_V, each in one tensor: each of "
            "these parameters is a block of its rows",
            "rows = {" + ", ".join(f'"{name}": slice({a}, {b})' for name, (a, b) in rows.items()) + "}", "", "",
            "def part(name, tensor):",
            '    """The rows of `tensor` (a parameter or its gradient) that hold nnworked\'s parameter `name`."""',
            "    return tensor[rows[name]] if name in rows else tensor"]


def _forward_order(s: Scenario, name: str) -> tuple[int, int]:
    """z before a in each layer, the layers in turn: the order the walkthrough's forward pass gives them."""
    from nnworked.quantities import parse

    parsed = parse(name)
    return parsed.layer, 0 if parsed.kind == "z" else 1


def _steps(trace: Trace, blocks: bool = False) -> list[str]:
    """`blocks`: some parameters are rows of a shared tensor, taken by `part`."""
    s = trace.scenario
    show = ["def show(name, value):",
            '    print(name, "=", value.detach().tolist() if isinstance(value, torch.Tensor) else value)', "", ""]
    forward = ["for name, value in layer_outputs(x).items():", "    show(name, value)"]
    if s.targets is None or s.loss is None:
        return show + forward
    step = ["output = model(x)", "if step == 1:", *("    " + line for line in forward), "loss = loss_of(output)",
            "loss.backward()", 'show(f"loss at step {step}", loss.item())', "if step == 1:",
            "    for name, value in parameters.items():",
            '        show(f"∂L/∂{name}", part(name, value.grad))' if blocks else '        show(f"∂L/∂{name}", value.grad)']
    if not s.trains:
        return show + ["step = 1", *step]
    stepping = any(n not in s.freeze for n in _parameter_names(s))
    body = (["optimizer.zero_grad()"] if stepping else []) + step + (["optimizer.step()"] if stepping else [])
    return show + [f"STEPS = {s.steps}", "for step in range(1, STEPS + 1):", *("    " + line for line in body),
                   "for name, value in parameters.items():",
                   '    show(f"{name} after step {STEPS}", part(name, value))' if blocks else
                   '    show(f"{name} after step {STEPS}", value)',
                   'show("loss after training", loss_of(model(x)).item())']
