"""generate_variants and format_tag: the seed's grid order, tags, conditionals and their errors."""

from __future__ import annotations

import copy
import random

import pytest

from tune_core.errors import RecursiveDependencyError, TuneError
from tune_core.search import (
    choice,
    format_tag,
    generate_variants,
    grid_search,
    randint,
    sample_from,
    uniform,
)
from tune_core.search.variant_generator import count_variants


def variants(config, seed=0):
    """(tag, config) of every variant of ``config``."""
    out = generate_variants({"config": config}, random.Random(seed))
    return [(format_tag(i, resolved), spec["config"]) for i, (resolved, spec) in enumerate(out)]


def test_grid_order_first_sorted_variable_varies_fastest():
    result = variants({"bar": grid_search([True, False]), "foo": grid_search([1, 2, 3])})
    assert result == [
        ("0_bar=True,foo=1", {"bar": True, "foo": 1}),
        ("1_bar=False,foo=1", {"bar": False, "foo": 1}),
        ("2_bar=True,foo=2", {"bar": True, "foo": 2}),
        ("3_bar=False,foo=2", {"bar": False, "foo": 2}),
        ("4_bar=True,foo=3", {"bar": True, "foo": 3}),
        ("5_bar=False,foo=3", {"bar": False, "foo": 3}),
    ]


def test_grid_order_does_not_depend_on_dict_order():
    a = variants({"foo": grid_search([1, 2, 3]), "bar": grid_search([True, False])})
    assert [tag for tag, _ in a][:2] == ["0_bar=True,foo=1", "1_bar=False,foo=1"]


def test_seed_doc_example_tags():
    config = {"lr": grid_search([0.2, 0.4, 0.6]), "momentum": grid_search([1, 2])}
    tags = [tag for tag, _ in variants(config)]
    assert tags[:4] == ["0_lr=0.2,momentum=1", "1_lr=0.4,momentum=1", "2_lr=0.6,momentum=1", "3_lr=0.2,momentum=2"]


def test_no_search_values_gives_one_variant_with_index_tag():
    config = {"a": 1, "b": {"c": [1, 2]}, "f": len}
    assert variants(config) == [("0", config)]
    assert format_tag(7, {}) == "7"


def test_spec_is_not_modified_and_variants_do_not_share_containers():
    config = {"a": grid_search([{"x": [1]}, {"x": [2]}]), "b": {"c": [1, 2]}}
    before = copy.deepcopy(config)
    out = variants(config)
    assert config == before
    out[0][1]["b"]["c"].append(3)
    assert out[1][1]["b"]["c"] == [1, 2]


def test_lambda_chain_with_attribute_access():
    config = {
        "x": 1,
        "y": lambda spec: spec.config.x + 1,
        "z": lambda spec: spec.config.y + 1,
    }
    assert variants(config) == [("0_y=2,z=3", {"x": 1, "y": 2, "z": 3})]


def test_lambda_chain_in_reverse_order_and_item_access():
    config = {
        "a": sample_from(lambda spec: spec["config"]["b"] * 10),
        "b": lambda spec: spec.config["c"] + 1,
        "c": 1,
    }
    assert variants(config)[0][1] == {"a": 20, "b": 2, "c": 1}


def test_lambdas_are_reevaluated_per_grid_point():
    config = {"lr": grid_search([0.1, 0.2]), "double": lambda spec: spec.config.lr * 2}
    assert [c["double"] for _, c in variants(config)] == [0.2, 0.4]


def test_lambda_returning_grid_and_grid_of_lambdas():
    config = {
        "a": lambda spec: grid_search([1, 2]),
        "b": lambda spec: spec.config.a * 10,  # waits for a's grid to expand
        "c": grid_search([lambda spec: "x", sample_from(lambda spec: "y")]),
    }
    assert [c for _, c in variants(config)] == [
        {"a": 1, "b": 10, "c": "x"},
        {"a": 2, "b": 20, "c": "x"},
        {"a": 1, "b": 10, "c": "y"},
        {"a": 2, "b": 20, "c": "y"},
    ]


def test_lambda_returning_distribution_and_grid_of_distributions():
    config = {"a": lambda spec: uniform(5, 6), "b": grid_search([randint(0, 2), choice(["p"])])}
    result = variants(config)
    assert len(result) == 2
    assert all(5 <= c["a"] <= 6 for _, c in result)
    assert result[0][1]["b"] in (0, 1) and result[1][1]["b"] == "p"


def test_functions_that_do_not_take_one_argument_are_constants():
    def loss(prediction, target):
        return 0

    config = {"loss": loss, "act": abs, "make": dict}
    assert variants(config) == [("0", config)]


def test_recursive_dependency_error_names_the_key():
    with pytest.raises(RecursiveDependencyError) as info:
        list(generate_variants({"foo": lambda spec: spec.foo}))
    assert str(info.value).startswith("`foo` recursively depends on `foo`")
    assert isinstance(info.value, TuneError)


def test_recursive_dependency_cycle_says_what_it_depends_on():
    config = {"a": lambda spec: spec.config.b, "b": lambda spec: spec.config.a}
    with pytest.raises(RecursiveDependencyError) as info:
        variants(config)
    message = str(info.value)
    assert message.startswith("`b` recursively depends on `a`")
    assert "`config.b` reads `config.a`" in message and "lambda" in message


def test_failing_lambda_is_a_tune_error_naming_its_path():
    with pytest.raises(TuneError, match=r"`config.opt.lr`: evaluating .* AttributeError: `config` has no key 'nope'"):
        variants({"opt": {"lr": lambda spec: spec.config.nope}})


def test_dict_form_grid_with_non_list_names_the_key_path():
    with pytest.raises(TuneError) as info:
        variants({"model": {"layers": [{"units": {"grid_search": 64}}]}})
    message = str(info.value)
    assert "`config.model.layers[0].units`" in message and "requires a list" in message and "64" in message


def test_eval_form_with_spec_and_seeded_random():
    config = {"x": 3, "y": {"eval": "spec.config.x * 2"}, "r": {"eval": "random.uniform(0, 1)"}}
    a, b = variants(config, seed=5), variants(config, seed=5)
    assert a == b  # `random` in eval is the seeded generator
    assert a[0][1]["y"] == 6 and 0 <= a[0][1]["r"] <= 1
    assert a != variants(config, seed=6)


def test_eval_form_has_numpy_when_installed():
    assert variants({"n": {"eval": "int(np.sqrt(16))"}})[0][1] == {"n": 4}


def test_bad_eval_form():
    with pytest.raises(TuneError, match=r"`config\.y`.*expression string"):
        variants({"y": {"eval": 3}})


def test_distributions_sampled_once_per_variant_and_reproducible():
    config = {"g": grid_search([1, 2, 3]), "lr": uniform(0, 1), "n": randint(0, 10**9)}
    first, again, other = variants(config, 1), variants(config, 1), variants(config, 2)
    assert first == again
    assert first != other
    assert len({c["lr"] for _, c in first}) == 3  # a new draw per grid point


def test_tags_for_nested_dicts_and_lists():
    config = {
        "opt": {"lr": grid_search([0.1])},
        "layers": [grid_search([32]), {"units": grid_search([8])}],
    }
    assert variants(config)[0][0] == "0_layers_0=32,units=8,lr=0.1"


def test_tag_key_collisions_fall_back_to_the_dotted_path():
    config = {
        "opt": {"lr": grid_search([0.1])},
        "sched": {"lr": grid_search([0.5])},
        "layers": [{"units": grid_search([8])}, {"units": grid_search([16])}],
    }
    assert variants(config)[0][0] == "0_layers.0.units=8,layers.1.units=16,opt.lr=0.1,sched.lr=0.5"


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.2, "0.2"), (0.123456789, "0.12346"), (1e-5, "1e-05"), (123456.0, "1.2346e+05"), (1.0, "1.0"),
     (3, "3"), (True, "True"), ("a/b", "a_b")],
)
def test_tag_value_formatting(value, text):
    assert format_tag(0, {("config", "v"): value}) == f"0_v={text}"


def test_tag_skips_run_env_and_resources():
    resolved = {("run",): "x", ("env",): "y", ("resources",): 1, ("config", "a"): 1}
    assert format_tag(2, resolved) == "2_a=1"


def test_lazy_generation():
    calls = []
    config = {f"g{i}": grid_search(list(range(10))) for i in range(6)}  # 10**6 variants
    config["probe"] = lambda spec: calls.append(1) or 0
    it = generate_variants({"config": config}, random.Random(0))
    for _ in range(3):
        next(it)
    assert len(calls) == 3


def test_count_variants():
    assert count_variants({"a": grid_search([1, 2]), "b": [grid_search([1, 2, 3]), uniform(0, 1)]}) == 6
    assert count_variants({"a": grid_search([grid_search([1, 2]), 3])}) == 3
    assert count_variants({"a": lambda spec: 1}) is None
    assert count_variants({"a": choice([grid_search([1, 2])])}) is None
    with pytest.raises(TuneError, match="`a`: grid_search requires a list"):
        count_variants({"a": {"grid_search": "xy"}})
