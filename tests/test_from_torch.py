"""`nnworked.from_torch`: a PyTorch model's scenario, solved by nnworked, gives PyTorch's own loss,
gradients and updated parameters (float64, to 1e-12); what nnworked cannot represent is refused, saying
what and why."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import nnworked
from nnworked.errors import NnworkedError

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch)")
nn = torch.nn


def _tensor(values: Any) -> Any:
    return torch.tensor(values, dtype=torch.float64)


def _model(*modules: Any, seed: int = 0) -> Any:
    torch.manual_seed(seed)
    return nn.Sequential(*modules).double()


def _spam_like() -> tuple:
    model = _model(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Sigmoid())
    x, y = _tensor([[0.5, 0.3], [0.1, -0.2], [-0.4, 0.9]]), _tensor([[1.0], [0.0], [1.0]])
    return model, x, y, nn.BCELoss(), lambda params: torch.optim.Adam(params, lr=0.1), 3


def _classes_momentum() -> tuple:
    model = _model(nn.Linear(3, 4, bias=False), nn.Tanh(), nn.Linear(4, 3), seed=1)
    x, y = _tensor([[1.0, -0.5, 0.2], [0.3, 0.8, -1.1]]), torch.tensor([2, 0])
    return (model, x, y, nn.CrossEntropyLoss(reduction="sum"),
            lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=0.01), 2)


def _leaky_rmsprop() -> tuple:
    model = _model(nn.Linear(2, 3), nn.LeakyReLU(0.2), nn.Linear(3, 2), seed=2)
    x, y = _tensor([[0.5, -1.5], [2.0, 0.25]]), _tensor([[0.3, -0.7], [1.0, 0.5]])
    return (model, x, y, nn.MSELoss(reduction="sum"),
            lambda params: torch.optim.RMSprop(params, lr=0.01, alpha=0.95, eps=1e-6), 2)


def _probabilities_sgd() -> tuple:
    model = _model(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 3), seed=3)
    x = _tensor([[0.2, 0.4], [-0.6, 0.1], [0.9, -0.3]])
    y = _tensor([[0.2, 0.8, 0.0], [1.0, 0.0, 0.0], [0.25, 0.25, 0.5]])
    return model, x, y, nn.CrossEntropyLoss(), lambda params: torch.optim.SGD(params, lr=0.5), 2


def _mse_adam_decay() -> tuple:
    model = _model(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 2), nn.Softmax(dim=-1), seed=4)
    x, y = _tensor([[0.1, 0.2, 0.3], [-0.3, 0.5, 0.7]]), _tensor([[0.0, 1.0], [1.0, 0.0]])
    return (model, x, y, nn.MSELoss(),
            lambda params: torch.optim.Adam(params, lr=0.02, betas=(0.8, 0.99), eps=1e-7, weight_decay=0.1), 3)


def _cnn_adam() -> tuple:
    model = _model(nn.Conv2d(2, 3, 3, stride=1, padding=1), nn.Tanh(), nn.MaxPool2d(2), nn.Conv2d(3, 2, 2, stride=2),
                   nn.AvgPool2d(1), nn.Flatten(), nn.Linear(2, 3), seed=5)
    torch.manual_seed(6)
    x, y = torch.randn(2, 2, 4, 4, dtype=torch.float64), torch.tensor([1, 2])
    return model, x, y, nn.CrossEntropyLoss(), lambda params: torch.optim.Adam(params, lr=0.05), 2


def _norms_adam() -> tuple:
    model = _model(nn.Linear(3, 4), nn.Tanh(), nn.BatchNorm1d(4), nn.LayerNorm(4, eps=1e-3), nn.Linear(4, 2),
                   nn.Sigmoid(), seed=7)
    with torch.no_grad():  # γ and β away from their ones and zeros, so that a mix-up shows
        for norm in (model[2], model[3]):
            norm.weight.copy_(torch.rand(4, dtype=torch.float64) + 0.5)
            norm.bias.copy_(torch.rand(4, dtype=torch.float64) - 0.5)
    torch.manual_seed(8)
    x, y = torch.randn(5, 3, dtype=torch.float64), torch.rand(5, 2, dtype=torch.float64)
    return model, x, y, nn.BCELoss(), lambda params: torch.optim.Adam(params, lr=0.05), 2


MODELS: dict[str, Callable[[], tuple]] = {
    "relu-sigmoid, BCELoss, Adam": _spam_like,
    "tanh without bias, CrossEntropyLoss(sum) on class indices, SGD momentum + weight decay": _classes_momentum,
    "leaky ReLU 0.2, MSELoss(sum) on two outputs, RMSprop": _leaky_rmsprop,
    "CrossEntropyLoss on probabilities, plain SGD": _probabilities_sgd,
    "softmax output, MSELoss(mean), Adam with its betas and weight decay": _mse_adam_decay,
    "conv2d (padding), tanh, max pool, strided conv2d, avg pool, flatten, CrossEntropyLoss, Adam": _cnn_adam,
    "tanh, BatchNorm1d (training mode), LayerNorm (eps 1e-3), sigmoid, BCELoss, Adam": _norms_adam,
}


def _torch_run(model: Any, x: Any, y: Any, loss_fn: Any, optimizer: Any, steps: int) -> tuple:
    """PyTorch's own training loop: each step's loss, step 1's gradients, the parameters at the end."""
    names = _names(model)
    losses, gradients = [], {}
    for step in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        losses.append(float(loss.detach()))
        if step == 0:
            gradients = {name: p.grad.numpy().copy() for name, p in names.items() if p.grad is not None}
        optimizer.step()
    return losses, gradients, {name: p.detach().numpy().copy() for name, p in names.items()}


def _names(model: Any) -> dict[str, Any]:
    """W1, b1, K2, … as nnworked names them, counted by hand: every module but an activation is a layer."""
    layers = [m for m in model if isinstance(m, (nn.Linear, nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.Flatten,
                                                 nn.BatchNorm1d, nn.LayerNorm))]
    out = {}
    for k, layer in enumerate(layers, 1):
        if isinstance(layer, (nn.BatchNorm1d, nn.LayerNorm)):
            out[f"gamma{k}"], out[f"beta{k}"] = layer.weight, layer.bias
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            out[f"{'W' if isinstance(layer, nn.Linear) else 'K'}{k}"] = layer.weight
            if layer.bias is not None:
                out[f"b{k}"] = layer.bias
    return out


@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS.keys())
def test_from_torch_then_solve_gives_pytorchs_gradients_and_updates(make: Callable[[], tuple]) -> None:
    model, x, y, loss_fn, make_optimizer, steps = make()
    optimizer = make_optimizer(model.parameters())
    scenario = nnworked.from_torch(model, x, y, loss_fn, optimizer, steps=steps)
    data = nnworked.run(scenario).data  # read before PyTorch trains the same model
    losses, gradients, parameters = _torch_run(model, x, y, loss_fn, optimizer, steps)

    assert len(data["steps"]) == steps
    assert [s["loss"] for s in data["steps"]] == pytest.approx(losses, rel=1e-12, abs=1e-12)
    assert set(gradients) == set(_names(model))
    for name, grad in gradients.items():
        np.testing.assert_allclose(np.array(data["steps"][0]["gradients"][name]), grad, rtol=1e-12, atol=1e-12)
    for name, value in parameters.items():
        np.testing.assert_allclose(np.array(data["steps"][-1]["parameters"][name]), value, rtol=1e-12, atol=1e-12)


def test_a_parameter_left_out_of_the_optimizer_is_frozen() -> None:
    model, x, y, loss_fn, _, _ = _spam_like()
    optimizer = torch.optim.SGD([model[0].weight, model[2].weight, model[2].bias], lr=0.1)
    scenario = nnworked.from_torch(model, x, y, loss_fn, optimizer)
    assert scenario.freeze == frozenset({"b1"})
    before = model[0].bias.detach().numpy().copy()
    data = nnworked.run(scenario).data
    _, _, parameters = _torch_run(model, x, y, loss_fn, optimizer, 1)
    np.testing.assert_array_equal(data["steps"][0]["parameters"]["b1"], before)
    np.testing.assert_allclose(np.array(data["steps"][0]["parameters"]["W1"]), parameters["W1"], rtol=1e-12, atol=1e-12)


def test_what_from_torch_reads_becomes_the_scenario() -> None:
    model, x, y, loss_fn, make_optimizer, _ = _leaky_rmsprop()
    scenario = nnworked.from_torch(model, x, y, loss_fn, make_optimizer(model.parameters()), steps=2)
    assert scenario.title == "A PyTorch 2-3-2 network (MSELoss, RMSprop)"
    assert [(layer.activation, layer.slope) for layer in scenario.layers][0] == ("leaky_relu", 0.2)
    assert scenario.layers[1].activation == "linear"
    assert tuple(scenario.loss) == ("mse", 1.0, "sum", "sum")
    assert scenario.optimizer.name == "rmsprop"
    assert scenario.optimizer.params == {"rho": 0.95, "epsilon": 1e-6, "weight_decay": 0.0}
    assert scenario.learning_rate == 0.01 and scenario.steps == 2
    np.testing.assert_array_equal(scenario.layers[0].weights, model[0].weight.detach().numpy())
    np.testing.assert_array_equal(scenario.inputs, x.numpy())


def test_cross_entropy_puts_softmax_on_the_output_layer_and_one_hot_targets() -> None:
    model, x, y, loss_fn, _, _ = _classes_momentum()
    scenario = nnworked.from_torch(model, x, y, loss_fn)
    assert scenario.layers[-1].activation == "softmax" and scenario.layers[0].bias is None
    np.testing.assert_array_equal(scenario.targets, [[0, 0, 1], [1, 0, 0]])
    assert not scenario.trains  # no optimizer: the loss and gradients only


def test_a_forward_pass_alone_and_a_single_linear_layer() -> None:
    torch.manual_seed(5)
    linear = nn.Linear(2, 1).double()
    scenario = nnworked.from_torch(linear, [0.5, -0.25])
    assert scenario.targets is None and scenario.inputs.shape == (1, 2)
    expected = float(linear(_tensor([0.5, -0.25])).detach())
    assert nnworked.run(scenario).data["steps"][0]["forward"]["a1"] == [[pytest.approx(expected, abs=1e-15)]]


def test_a_float32_model_is_read_as_its_float32_values() -> None:
    torch.manual_seed(6)
    model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    scenario = nnworked.from_torch(model, torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0]]), nn.BCELoss())
    assert scenario.layers[0].weights.dtype == np.float64
    np.testing.assert_array_equal(scenario.layers[0].weights, model[0].weight.detach().double().numpy())


class Custom(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, x: Any) -> Any:
        return self.linear(x)


def _refused(call: Callable[[], Any]) -> str:
    with pytest.raises(NnworkedError) as raised:
        call()
    return str(raised.value)


X2, Y1 = _tensor([[0.5, 0.3]]), _tensor([[1.0]])


def test_what_nnworked_cannot_represent_is_refused_with_what_and_why() -> None:
    def net(*modules: Any) -> Any:
        return _model(nn.Linear(2, 2), *modules)

    assert _refused(lambda: nnworked.from_torch(Custom().double(), X2)) == (
        "from_torch reads an nn.Sequential of layers and activations, not Custom: nnworked cannot see "
        "the order a custom forward() applies its layers in; write the model as nn.Sequential(...) (a residual "
        "connection, which adds an earlier output, cannot be written in one, so from_torch cannot read it: write "
        "that network as a scenario file with a residual layer)")
    assert _refused(lambda: nnworked.from_torch(net(nn.Dropout(0.5)), X2)) == (
        "model[1] is nn.Dropout, which nnworked has no rule for: from_torch reads nn.Linear, nn.Conv2d, nn.MaxPool2d, "
        "nn.AvgPool2d, nn.Flatten, nn.BatchNorm1d, nn.LayerNorm, nn.RNN, nn.LSTM, nn.MultiheadAttention (each wrapped "
        "to pass on its output) and the activations nn.Identity, nn.ReLU, "
        "nn.LeakyReLU, nn.Sigmoid, nn.Tanh, "
        "nn.Softmax")
    images = _tensor(np.zeros((1, 1, 4, 4)))
    assert _refused(lambda: nnworked.from_torch(_model(nn.Conv2d(1, 1, 2), nn.MaxPool2d(2), nn.ReLU()), images)) == (
        "model[2] (ReLU) follows nn.MaxPool2d: nnworked applies an activation to a dense or conv2d layer's output")
    assert _refused(lambda: nnworked.from_torch(_model(nn.Conv2d(1, 1, 2, dilation=2)), images)) == (
        "model[0] (nn.Conv2d): nnworked reads nn.Conv2d with one stride and one zero padding for both sides, no "
        "dilation and one group")
    assert _refused(lambda: nnworked.from_torch(net(nn.Softmax(dim=0)), X2)) == (
        "model[1] (Softmax(dim=0)) does not compute nnworked's Softmax (dim=-1): nnworked cannot represent that "
        "setting")
    assert _refused(lambda: nnworked.from_torch(net(nn.ReLU(), nn.Tanh()), X2)) == (
        "model[2] (Tanh) follows another activation: nnworked gives each nn.Linear one activation; put an "
        "nn.Linear between them")
    assert _refused(lambda: nnworked.from_torch(_model(nn.ReLU(), nn.Linear(2, 1)), X2)) == (
        "model[0] (ReLU) comes before any nn.Linear: nnworked applies an activation to a layer's output, so the "
        "model must start with nn.Linear")
    assert _refused(lambda: nnworked.from_torch(net(), _tensor([[1.0, 2.0, 3.0]]))) == (
        "inputs of shape (1, 3) do not fit the first nn.Linear, which takes 2 features: give one row per "
        "example, shape (examples, 2)")


def test_norms_nnworked_cannot_represent_are_refused() -> None:
    def net(*modules: Any) -> Any:
        return _model(nn.Linear(2, 2), *modules, nn.Linear(2, 1))

    evaluating = net(nn.BatchNorm1d(2)).eval()
    assert _refused(lambda: nnworked.from_torch(evaluating, X2)) == (
        "model[1] (nn.BatchNorm1d): in eval mode nn.BatchNorm1d normalises with its running statistics, which "
        "nnworked does not represent: nnworked's batch_norm is training mode (the batch's own mean and "
        "variance); call model.train()")
    assert _refused(lambda: nnworked.from_torch(net(nn.BatchNorm1d(2, affine=False)), X2)) == (
        "model[1] (nn.BatchNorm1d): nnworked's batch_norm has a trained scale γ and shift β: build "
        "nn.BatchNorm1d with affine=True (the default)")
    assert _refused(lambda: nnworked.from_torch(net(nn.LayerNorm((1, 2))), X2)) == (
        "model[1] (nn.LayerNorm): normalized_shape=(1, 2): nnworked's layer_norm normalises each example over "
        "the last dimension only, nn.LayerNorm(features)")
    assert _refused(lambda: nnworked.from_torch(net(nn.LayerNorm(2, elementwise_affine=False)), X2)) == (
        "model[1] (nn.LayerNorm): nnworked's layer_norm has a trained scale γ and shift β per feature: build "
        "nn.LayerNorm with elementwise_affine=True and bias=True (the defaults)")
    ending = _model(nn.Linear(2, 2), nn.LayerNorm(2))
    assert _refused(lambda: nnworked.from_torch(ending, X2, _tensor([[1.0, 0.0]]), nn.MSELoss())) == (
        "the model ends in a layer_norm layer: nnworked's loss is taken of a dense layer's outputs; end the model "
        "with nn.Linear (and its activation)")


def test_reading_a_batch_norm_leaves_its_running_statistics_as_they_were() -> None:
    model, x, y, loss_fn, _, _ = _norms_adam()
    before = [b.clone() for b in model.buffers()]
    nnworked.from_torch(model, x, y, loss_fn)
    assert all(torch.equal(b, saved) for b, saved in zip(model.buffers(), before))


def test_losses_nnworked_cannot_represent_are_refused() -> None:
    softmaxed = _model(nn.Linear(2, 3), nn.Softmax(dim=-1))
    assert _refused(lambda: nnworked.from_torch(softmaxed, X2, torch.tensor([1]), nn.CrossEntropyLoss())) == (
        "nn.CrossEntropyLoss applies Softmax to the scores itself, and the model ends in nn.Softmax: PyTorch "
        "applies it twice, which nnworked does not represent; end the model with its nn.Linear")
    sigmoid = _model(nn.Linear(2, 1), nn.Sigmoid())
    assert _refused(lambda: nnworked.from_torch(sigmoid, X2, Y1, nn.MSELoss(reduction="none"))) == (
        "nn.MSELoss(reduction='none'): a training step needs one number; use reduction='mean' or 'sum'")
    assert _refused(lambda: nnworked.from_torch(sigmoid, X2, Y1, nn.L1Loss())) == (
        "nn.L1Loss has no nnworked loss rule: from_torch reads nn.MSELoss, nn.BCELoss, nn.CrossEntropyLoss")
    assert _refused(lambda: nnworked.from_torch(sigmoid, X2, Y1, nn.BCELoss(weight=_tensor([2.0])))) == (
        "nn.BCELoss has weight=tensor([2.], dtype=torch.float64): nnworked's Binary Cross-Entropy has no weight; "
        "leave it at its default")
    assert _refused(lambda: nnworked.from_torch(_model(nn.Linear(2, 1)), X2, Y1, nn.BCELoss())) == (
        "nn.BCELoss needs the model to end in nn.Sigmoid (nnworked's Binary Cross-Entropy is taken of Sigmoid "
        "outputs)")
    three = _tensor([[0.5, 0.3], [0.1, 0.2], [0.3, 0.3]])
    assert _refused(lambda: nnworked.from_torch(sigmoid, three, _tensor([1.0, 0.0, 1.0]), nn.BCELoss())) == (
        "targets of shape (3,) for outputs of shape (3, 1): PyTorch would broadcast them to (3, 3); give them "
        "shape (3, 1), as targets.view(-1, 1) does")
    assert _refused(lambda: nnworked.from_torch(softmaxed[:1], X2, torch.tensor([3]), nn.CrossEntropyLoss())) == (
        "class indices must be 0 … 2 for 3 outputs, given [3]")
    assert _refused(lambda: nnworked.from_torch(sigmoid, X2, Y1)) == (
        "give targets and loss_fn together (or neither, for the forward pass alone)")


def test_optimizers_nnworked_cannot_represent_are_refused() -> None:
    model = _model(nn.Linear(2, 1), nn.Sigmoid())

    def read(optimizer: Any) -> str:
        return _refused(lambda: nnworked.from_torch(model, X2, Y1, nn.BCELoss(), optimizer))

    params = list(model.parameters())
    assert read(torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True)) == (
        "torch.optim.SGD with nesterov=True: nnworked's momentum optimizer has no such setting; leave it at its "
        "default")
    assert read(torch.optim.SGD(params, lr=0.1, momentum=0.9, dampening=0.5)) == (
        "torch.optim.SGD with dampening=0.5: nnworked's momentum optimizer has no such setting; leave it at its "
        "default")
    assert read(torch.optim.Adam(params, lr=0.1, amsgrad=True)) == (
        "torch.optim.Adam with amsgrad=True: nnworked's adam optimizer has no such setting; leave it at its default")
    assert read(torch.optim.RMSprop(params, lr=0.1, centered=True)) == (
        "torch.optim.RMSprop with centered=True: nnworked's rmsprop optimizer has no such setting; leave it at its "
        "default")
    assert read(torch.optim.AdamW(params, lr=0.1)) == (
        "torch.optim.AdamW has no nnworked optimizer rule: from_torch reads torch.optim.Adam, torch.optim.RMSprop, "
        "torch.optim.SGD")
    assert read(torch.optim.SGD([{"params": params[:1], "lr": 0.1}, {"params": params[1:], "lr": 0.2}])) == (
        "the SGD optimizer has parameter groups with different settings: nnworked uses one learning rate and one "
        "set of settings for every parameter")
    assert read(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)) == (
        "the SGD optimizer holds tensors that are not the model's parameters: build it from model.parameters()")
    used = torch.optim.Adam(params, lr=0.1)
    nn.BCELoss()(model(X2), Y1).backward()
    used.step()
    assert read(used) == ("the Adam optimizer has taken steps already: nnworked's optimizers start with their "
                          "state at zero; give from_torch a new one")


def test_a_setting_outside_nnworked_limits_is_a_scenario_problem_named_from_torch() -> None:
    model = _model(nn.Linear(2, 1), nn.Sigmoid())
    with pytest.raises(nnworked.ScenarioError) as raised:
        nnworked.from_torch(model, X2, Y1, nn.BCELoss(), torch.optim.Adam(model.parameters(), lr=0.1, eps=0))
    assert str(raised.value) == ("1 problem found:\n<from_torch>:1:1: optimizer.epsilon: epsilon is out of range — "
                                 "expected epsilon > 0, given 0.0\n    hint: the default is 1e-08")


# ---- sequences: nn.RNN, nn.LSTM and nn.MultiheadAttention, each wrapped so that nn.Sequential chains it ----

class Outputs(nn.Module):
    """What a student writes around nn.RNN or nn.LSTM: their output at every position (or the last)."""

    def __init__(self, recurrent: Any, last: bool = False) -> None:
        super().__init__()
        self.recurrent, self.last = recurrent, last

    def forward(self, x: Any) -> Any:
        output = self.recurrent(x)[0]
        return output[:, -1] if self.last else output


class Attend(nn.Module):
    """Self-attention through nn.MultiheadAttention, causal or not."""

    def __init__(self, attention: Any, causal: bool = False) -> None:
        super().__init__()
        self.attention, self.causal = attention, causal

    def forward(self, x: Any) -> Any:
        t = x.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool).triu(1) if self.causal else None
        return self.attention(x, x, x, need_weights=False, attn_mask=mask)[0]


class FlatLoss(nn.Module):
    """The loss at every position, one row each, as a training loop over sequences takes it."""

    def __init__(self, loss: Any) -> None:
        super().__init__()
        self.loss = loss

    def forward(self, output: Any, y: Any) -> Any:
        rows = output.reshape(-1, output.shape[-1])
        return self.loss(rows, y.reshape(-1) if not y.is_floating_point() else y.reshape(-1, output.shape[-1]))


def _sequence_run(model: Any, x: Any, y: Any, loss: Any, optimizer: Any, steps: int) -> tuple:
    flat = FlatLoss(loss)
    names = _sequence_names(model)
    losses, gradients = [], {}
    for step in range(steps):
        optimizer.zero_grad()
        value = flat(model(x), y)
        value.backward()
        losses.append(float(value.detach()))
        if step == 0:
            gradients = {name: grad.numpy().copy() for name, (grad, _) in _blocks(names, "grad").items()}
        optimizer.step()
    return losses, gradients, {name: value.numpy().copy() for name, (value, _) in _blocks(names, "data").items()}


def _sequence_names(model: Any) -> dict[str, tuple[Any, Any]]:
    """nnworked's names, counted by hand: (the torch tensor, its rows) (an LSTM's gates and attention's W_Q,
    W_K, W_V are blocks of one stacked tensor; the second recurrent bias is added into b)."""
    out: dict[str, tuple[Any, Any]] = {}
    for k, module in enumerate(model, 1):
        inner = next(module.children(), module)
        if isinstance(inner, nn.RNN):
            out.update({f"Wx{k}": (inner.weight_ih_l0, None), f"Wh{k}": (inner.weight_hh_l0, None)})
            if inner.bias:
                out[f"b{k}"] = (inner.bias_ih_l0, None)
        elif isinstance(inner, nn.LSTM):
            h = inner.hidden_size
            for q, gate in enumerate("ifgo"):
                rows = slice(q * h, (q + 1) * h)
                out.update({f"Wx{k}.{gate}": (inner.weight_ih_l0, rows), f"Wh{k}.{gate}": (inner.weight_hh_l0, rows)})
                if inner.bias:
                    out[f"b{k}.{gate}"] = (inner.bias_ih_l0, rows)
        elif isinstance(inner, nn.MultiheadAttention):
            e = inner.embed_dim
            for q, role in enumerate(("WQ", "WK", "WV")):
                out[f"{role}{k}"] = (inner.in_proj_weight, slice(q * e, (q + 1) * e))
            out[f"WO{k}"] = (inner.out_proj.weight, None)
        elif isinstance(inner, nn.LayerNorm):
            out.update({f"gamma{k}": (inner.weight, None), f"beta{k}": (inner.bias, None)})
        elif isinstance(inner, nn.Linear):
            out[f"W{k}"] = (inner.weight, None)
            if inner.bias is not None:
                out[f"b{k}"] = (inner.bias, None)
    return out


def _blocks(names: dict[str, tuple[Any, Any]], what: str) -> dict[str, tuple[Any, Any]]:
    out = {}
    for name, (tensor, rows) in names.items():
        value = getattr(tensor, what).detach()
        out[name] = (value if rows is None else value[rows], rows)
    return out


def _rnn_sgd() -> tuple:
    model = _model(Outputs(nn.RNN(2, 3, batch_first=True)), nn.Linear(3, 1), seed=11)
    torch.manual_seed(12)
    x, y = torch.randn(2, 4, 2, dtype=torch.float64), torch.randn(2, 4, 1, dtype=torch.float64)
    return model, x, y, nn.MSELoss(), lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9), 2


def _relu_rnn_last_adam() -> tuple:
    model = _model(Outputs(nn.RNN(3, 2, nonlinearity="relu", bias=False, batch_first=True), last=True),
                   nn.Linear(2, 3), seed=13)
    torch.manual_seed(14)
    x, y = torch.randn(3, 3, 3, dtype=torch.float64), torch.tensor([0, 2, 1])
    return model, x, y, nn.CrossEntropyLoss(), lambda params: torch.optim.Adam(params, lr=0.05), 2


def _lstm_rmsprop() -> tuple:
    model = _model(Outputs(nn.LSTM(2, 3, batch_first=True)), nn.Linear(3, 2), nn.Sigmoid(), seed=15)
    torch.manual_seed(16)
    x, y = torch.randn(2, 3, 2, dtype=torch.float64), torch.rand(2, 3, 2, dtype=torch.float64)
    return model, x, y, nn.BCELoss(), lambda params: torch.optim.RMSprop(params, lr=0.01), 2


def _lstm_without_bias_last() -> tuple:
    model = _model(Outputs(nn.LSTM(3, 2, bias=False, batch_first=True), last=True), nn.Linear(2, 1), seed=17)
    torch.manual_seed(18)
    x, y = torch.randn(2, 4, 3, dtype=torch.float64), torch.randn(2, 1, dtype=torch.float64)
    return model, x, y, nn.MSELoss(reduction="sum"), lambda params: torch.optim.SGD(params, lr=0.1), 2


def _transformer_block() -> tuple:
    model = _model(Attend(nn.MultiheadAttention(4, 2, bias=False, batch_first=True), causal=True), nn.LayerNorm(4),
                   nn.Linear(4, 3), seed=19)
    torch.manual_seed(20)
    x, y = torch.randn(2, 3, 4, dtype=torch.float64), torch.tensor([[1, 2, 0], [0, 0, 2]])
    return model, x, y, nn.CrossEntropyLoss(), lambda params: torch.optim.Adam(params, lr=0.05), 2


def _attention_not_causal() -> tuple:
    model = _model(Attend(nn.MultiheadAttention(3, 1, bias=False, batch_first=True)), nn.Linear(3, 2), seed=21)
    torch.manual_seed(22)
    x, y = torch.randn(1, 4, 3, dtype=torch.float64), torch.randn(1, 4, 2, dtype=torch.float64)
    return model, x, y, nn.MSELoss(), lambda params: torch.optim.SGD(params, lr=0.2), 2


SEQUENCE_MODELS: dict[str, Callable[[], tuple]] = {
    "nn.RNN (tanh, biases) at every position, MSELoss, SGD momentum": _rnn_sgd,
    "nn.RNN (ReLU, no bias) at the last position, CrossEntropyLoss, Adam": _relu_rnn_last_adam,
    "nn.LSTM at every position, sigmoid, BCELoss, RMSprop": _lstm_rmsprop,
    "nn.LSTM without bias at the last position, MSELoss(sum), SGD": _lstm_without_bias_last,
    "causal nn.MultiheadAttention of two heads, LayerNorm, CrossEntropyLoss per position, Adam": _transformer_block,
    "nn.MultiheadAttention of one head, not causal, MSELoss, SGD": _attention_not_causal,
}


@pytest.mark.parametrize("make", SEQUENCE_MODELS.values(), ids=SEQUENCE_MODELS.keys())
def test_from_torch_reads_recurrent_layers_and_attention_and_gives_pytorchs_step(make: Callable[[], tuple]) -> None:
    model, x, y, loss_fn, make_optimizer, steps = make()
    optimizer = make_optimizer(model.parameters())
    with torch.no_grad():  # nnworked's one bias is PyTorch's two added: the second starts at zero, untrained
        for module in model.modules():
            if isinstance(module, (nn.RNN, nn.LSTM)) and module.bias:
                module.bias_hh_l0.zero_()
                module.bias_hh_l0.requires_grad_(False)
    scenario = nnworked.from_torch(model, x, y, loss_fn, optimizer, steps=steps)
    data = nnworked.run(scenario).data
    losses, gradients, parameters = _sequence_run(model, x, y, loss_fn, optimizer, steps)

    assert [s["loss"] for s in data["steps"]] == pytest.approx(losses, rel=1e-12, abs=1e-12)
    assert set(data["steps"][0]["gradients"]) >= set(gradients)
    for name, grad in gradients.items():
        np.testing.assert_allclose(np.array(data["steps"][0]["gradients"][name]), grad, rtol=1e-12, atol=1e-12,
                                   err_msg=name)
    for name, value in parameters.items():
        np.testing.assert_allclose(np.array(data["steps"][-1]["parameters"][name]), value, rtol=1e-12, atol=1e-12,
                                   err_msg=name)


def test_what_a_wrapper_passes_on_decides_return_and_causal() -> None:
    model, x, y, loss_fn, _, _ = _transformer_block()
    assert nnworked.from_torch(model, x, y, loss_fn).layers[0].causal is True
    model, x, y, loss_fn, _, _ = _relu_rnn_last_adam()
    layer = nnworked.from_torch(model, x, y, loss_fn).layers[0]
    assert (layer.returns, layer.activation, layer.bias) == ("last", "relu", None)


def test_the_script_pytorch_format_writes_is_read_back() -> None:
    namespace: dict[str, Any] = {}
    script = nnworked.run("lstm_step").render("pytorch")
    exec(script.split("\n\ndef show(")[0], namespace)  # the classes, the model and its weights, not the run
    scenario = nnworked.from_torch(namespace["model"], namespace["x"])
    original = nnworked.load("lstm_step")
    for ours, theirs in zip(scenario.layers[0][:3], original.layers[0][:3]):
        np.testing.assert_array_equal(ours, theirs)


def test_sequence_modules_nnworked_cannot_represent_are_refused() -> None:
    x = _tensor(np.zeros((1, 3, 2)))
    assert _refused(lambda: nnworked.from_torch(_model(nn.RNN(2, 2, batch_first=True), nn.Linear(2, 1)), x)) == (
        "model[0] (RNN) does not pass on nn.RNN's output as nnworked reads it, one tensor nn.Sequential can chain: "
        "wrap nn.RNN or nn.LSTM in a module whose forward returns rnn(x)[0] (every position) or rnn(x)[0][:, -1] "
        "(the last), from a zero initial state, and nn.MultiheadAttention in one that returns attention(x, x, x)[0] "
        "(attn_mask: none, or causal, True above the diagonal); `nnworked run transformer_block --format pytorch` "
        "writes such classes")
    assert _refused(lambda: nnworked.from_torch(_model(Outputs(nn.RNN(2, 2, num_layers=2, batch_first=True))), x)) == (
        "model[0] (nn.RNN): num_layers=2, bidirectional=False, batch_first=True: nnworked reads nn.RNN with one "
        "layer, one direction and batch_first=True (stack two rnn layers in the scenario for two)")
    assert _refused(lambda: nnworked.from_torch(_model(Outputs(nn.LSTM(2, 2, bidirectional=True, batch_first=True))),
                                                x)) == (
        "model[0] (nn.LSTM): num_layers=1, bidirectional=True, batch_first=True, proj_size=0: nnworked reads nn.LSTM "
        "with one layer, one direction, batch_first=True and no projection (stack two lstm layers in the scenario "
        "for two)")
    assert _refused(lambda: nnworked.from_torch(_model(Attend(nn.MultiheadAttention(2, 1, batch_first=True))), x)) == (
        "model[0] (nn.MultiheadAttention): bias: nnworked reads nn.MultiheadAttention(embed_dim, num_heads, "
        "bias=False, batch_first=True) as self-attention, without biases, dropout or extra keys")
    assert _refused(lambda: nnworked.from_torch(_model(Attend(nn.MultiheadAttention(2, 1, bias=False, dropout=0.1))),
                                                x)) == (
        "model[0] (nn.MultiheadAttention): dropout=0.1, batch_first=False: nnworked reads "
        "nn.MultiheadAttention(embed_dim, num_heads, bias=False, batch_first=True) as self-attention, without "
        "biases, dropout or extra keys")


def test_a_trained_second_recurrent_bias_is_refused() -> None:
    model = _model(Outputs(nn.RNN(2, 2, batch_first=True)), nn.Linear(2, 1))
    x, y = _tensor(np.ones((1, 3, 2))), _tensor(np.zeros((1, 3, 1)))
    assert _refused(lambda: nnworked.from_torch(model, x, y, nn.MSELoss(), torch.optim.SGD(model.parameters(),
                                                                                       lr=0.1))) == (
        "0.recurrent.bias_hh_l0 is trained, and nnworked has no parameter for it: nn.RNN and nn.LSTM add two "
        "biases, nnworked's b is their sum, trained once; keep bias_hh_l0 at zero with requires_grad_(False) (as "
        "--format pytorch's SequenceRNN does), or build without bias")
