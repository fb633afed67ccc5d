"""The JSON Schema editors use for scenario files (scenarios/scenario.schema.json) says what the loader says.

Its lists of names are the code's registries, so a new activation, loss or optimizer that the schema does
not offer fails here; every bundled scenario validates, points to the schema on its first line, and files
the loader rejects for a reason a schema can express are rejected by the schema too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nnworked import bundled, limits, scenario
from nnworked.engine.activations import ACTIVATIONS, DEFAULT_LEAKY_SLOPE
from nnworked.engine.losses import LOSSES, LossSpec
from nnworked.engine.optimizers import OPTIMIZERS

OPTIMIZER_DEFAULTS = {name: dict(OPTIMIZERS[name].defaults) for name in OPTIMIZERS.names()}
from nnworked.errors import ScenarioError
from nnworked.rules.layers import LAYERS
from nnworked.yamlsource import load_file, load_text

jsonschema = pytest.importorskip("jsonschema")

SCHEMA = json.loads(bundled.SCHEMA.read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
TOP = SCHEMA["properties"]
LAYER_TYPES = {name: SCHEMA["definitions"][name] for name in SCHEMA["definitions"] if name.endswith("Layer")}
LAYER = LAYER_TYPES["denseLayer"]["properties"]


def _variants(prop: dict) -> list[dict]:
    """The alternatives of a property written as `anyOf`, with local references followed."""
    def follow(node: dict) -> dict:
        return SCHEMA["definitions"][node["$ref"].rsplit("/", 1)[1]] if "$ref" in node else node
    return [follow(v) for v in prop["anyOf"]]


def test_the_schema_is_a_valid_draft_7_schema() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("name", bundled.names())
def test_every_bundled_scenario_validates_against_the_schema(name: str) -> None:
    data = load_file(str(bundled.ROOT / f"{name}.yaml")).data
    assert [error.message for error in VALIDATOR.iter_errors(data)] == []


@pytest.mark.parametrize("name", bundled.names())
def test_every_bundled_scenario_names_the_schema_on_its_first_line(name: str) -> None:
    path = bundled.ROOT / f"{name}.yaml"
    first = path.read_text(encoding="utf-8").splitlines()[0]
    relative = Path("../" * name.count("/")) / "scenario.schema.json"
    assert first == f"# yaml-language-server: $schema={relative.as_posix()}"
    assert (path.parent / relative).resolve() == bundled.SCHEMA.resolve()


def test_the_keys_are_the_loaders_keys() -> None:
    assert list(TOP) == scenario.TOP_KEYS
    for rule in LAYERS.values():  # each layer type's own keys, in the loader's order
        definition = next(d for d in LAYER_TYPES.values()
                          if rule.name in d["properties"]["type"].get("enum", [d["properties"]["type"].get("const")]))
        assert list(definition["properties"]) == ["type", *rule.keys], rule.name
    assert list(_variants(TOP["loss"])[1]["properties"]) == scenario.LOSS_KEYS
    assert list(TOP["matmul"]["properties"]) == ["A", "B"]
    assert list(TOP["exercise"]["properties"]) == ["variant", "blanks", "reveal"]


def test_the_names_are_the_registries() -> None:
    types = [name for d in LAYER_TYPES.values() for name in d["properties"]["type"].get("enum", [d["properties"]["type"].get("const")])]
    assert sorted(types) == sorted(LAYERS)
    assert SCHEMA["definitions"]["activationName"]["enum"] == list(ACTIVATIONS)
    loss_name, loss_mapping = _variants(TOP["loss"])
    assert loss_name["enum"] == loss_mapping["properties"]["name"]["enum"] == list(LOSSES)
    optimizer_name, *optimizer_mappings = _variants(TOP["optimizer"])
    assert optimizer_name["enum"] == list(OPTIMIZER_DEFAULTS)
    assert {m["properties"]["name"]["const"]: {k: p["default"] for k, p in m["properties"].items() if k != "name"}
            for m in optimizer_mappings} == OPTIMIZER_DEFAULTS
    assert TOP["rounding"]["enum"] == scenario.ROUNDINGS
    assert TOP["layout"]["enum"] == scenario.LAYOUTS


def test_the_defaults_and_limits_are_the_loaders() -> None:
    defaults = scenario.Scenario(title="", source="")
    assert TOP["precision"]["default"] == defaults.precision
    assert (TOP["precision"]["minimum"], TOP["precision"]["maximum"]) == (limits.MIN_PRECISION, limits.MAX_PRECISION)
    assert TOP["steps"]["default"] == defaults.steps
    assert (TOP["steps"]["minimum"], TOP["steps"]["maximum"]) == (1, limits.MAX_STEPS)
    assert (TOP["rounding"]["default"], TOP["layout"]["default"]) == (defaults.rounding, defaults.layout)
    assert TOP["optimizer"]["default"] == defaults.optimizer.name
    assert LAYER["activation"]["default"] == scenario.Layer(None, None).activation  # type: ignore[arg-type]
    assert _variants(LAYER["activation"])[1]["properties"]["slope"]["default"] == DEFAULT_LEAKY_SLOPE
    loss = _variants(TOP["loss"])[1]["properties"]
    assert (loss["scale"]["default"], loss["outputs"]["default"], loss["batch"]["default"]) == \
        tuple(LossSpec("mse")[1:])


def test_every_key_says_what_it_is_for() -> None:
    def undescribed(properties: dict, where: str) -> list[str]:
        missing = []
        for key, prop in properties.items():
            if "description" not in prop and key != "name":  # a name's choices are described beside it
                missing.append(f"{where}{key}")
            for variant in prop.get("anyOf", []):
                missing += undescribed(variant.get("properties", {}), f"{where}{key}.")
            missing += undescribed(prop.get("properties", {}), f"{where}{key}.")
        return missing

    assert undescribed(TOP, "") == []
    assert undescribed(LAYER, "layers[].") == []


NETWORK = "inputs: [[1, 2]]\ntargets: [[1]]\nlayers:\n  - weights: [[0.5, -0.5]]\n    activation: sigmoid\n" \
          "loss: binary_cross_entropy\nlearning_rate: 0.1\n"

# (what is wrong, the file, where the schema says it is) — each one the loader rejects too
BROKEN = [
    ("an unknown key", NETWORK + "epochs: 3\n", []),
    ("an unknown activation", NETWORK.replace("sigmoid", "sigmod"), ["layers", 0, "activation"]),
    ("an unknown loss", NETWORK.replace("binary_cross_entropy", "bce"), ["loss"]),
    ("a reduction that is not mean or sum", NETWORK.replace("loss: binary_cross_entropy",
                                                           "loss: {name: binary_cross_entropy, batch: avg}"), ["loss", "batch"]),
    ("precision above 12", NETWORK + "precision: 13\n", ["precision"]),
    ("no steps", NETWORK + "steps: 0\n", ["steps"]),
    ("a learning rate of 0", NETWORK.replace("0.1", "0"), ["learning_rate"]),
    ("a slope on a sigmoid", NETWORK.replace("activation: sigmoid", "activation: {name: sigmoid, slope: 0.1}"),
     ["layers", 0, "activation", "name"]),
    ("an RMSprop hyperparameter given to Adam", NETWORK + "optimizer: {name: adam, rho: 0.9}\n", ["optimizer"]),
    ("weights written as text", NETWORK.replace("[[0.5, -0.5]]", "'0.5 -0.5'"), ["layers", 0, "weights"]),
    ("a network without layers", "inputs: [[1, 2]]\n", []),
    ("a layer key that does not exist", NETWORK.replace("    activation", "    activaton"), ["layers", 0]),
    ("layers beside a matrix product", "matmul: {A: [[1]], B: [[2]]}\nlayers: [{weights: [[1]]}]\n", []),
    ("a matrix product without B", "matmul: {A: [[1]]}\n", ["matmul"]),
    ("an unknown layout", NETWORK + "layout: by-hand\n", ["layout"]),
    ("an unknown rounding", NETWORK + "rounding: carried\n", ["rounding"]),
]


@pytest.mark.parametrize("what, text, where", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_file_is_rejected_by_the_schema_and_the_loader(what: str, text: str, where: list) -> None:
    document = load_text(text, "broken.yaml")
    with pytest.raises(ScenarioError):
        scenario.from_document(document)
    errors = list(VALIDATOR.iter_errors(document.data))
    assert errors, what
    assert list(jsonschema.exceptions.best_match(errors).absolute_path) == where


def test_the_example_network_of_the_broken_files_is_valid() -> None:
    document = load_text(NETWORK, "ok.yaml")
    scenario.from_document(document)
    assert list(VALIDATOR.iter_errors(document.data)) == []
