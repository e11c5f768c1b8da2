"""Search-space primitives: grid_search, sample_from and the distributions (ranges, types, errors)."""

from __future__ import annotations

import math
import pickle
import random

import pytest

from tune_core.errors import TuneError
from tune_core.search import (
    choice,
    grid_search,
    lograndint,
    loguniform,
    qloguniform,
    qrandint,
    qrandn,
    quniform,
    randint,
    randn,
    sample_from,
    uniform,
)
from tune_core.search.sample import Categorical, Domain, Float, Integer, Normal, SampleFrom

N = 2000


def draws(domain: Domain, seed: int = 0) -> list:
    rng = random.Random(seed)
    return [domain.sample(rng) for _ in range(N)]


def test_grid_search_is_the_dict_form():
    assert grid_search([1, 2]) == {"grid_search": [1, 2]}
    assert grid_search((1, 2)) == {"grid_search": [1, 2]}


@pytest.mark.parametrize("bad", [3, "abc", range(3), {1, 2}, None])
def test_grid_search_rejects_non_lists_naming_the_value(bad):
    with pytest.raises(TuneError, match="requires a list") as info:
        grid_search(bad)
    assert repr(bad) in str(info.value)


def test_grid_search_rejects_empty():
    with pytest.raises(TuneError, match="at least one value"):
        grid_search([])


def test_sample_from_wraps_a_function_and_rejects_others():
    func = lambda spec: 1  # noqa: E731
    assert sample_from(func) == SampleFrom(func)
    assert "lambda" in repr(sample_from(func))
    with pytest.raises(TuneError, match="function of the spec"):
        sample_from(42)  # type: ignore[arg-type]


def test_uniform_range_and_type():
    values = draws(uniform(-1.5, 2.5))
    assert all(type(v) is float and -1.5 <= v <= 2.5 for v in values)
    assert min(values) < -1.0 and max(values) > 2.0  # covers the range
    assert repr(uniform(0.1, 1)) == "uniform(0.1, 1)"


def test_quniform_gives_clean_multiples_inside_the_bounds():
    values = draws(quniform(0.1, 1.0, 0.3))
    assert set(values) <= {0.3, 0.6, 0.9}  # 0.0 would round below lower; clean, no 0.30000000000000004
    assert set(values) == {0.3, 0.6, 0.9}
    assert all(type(v) is float for v in values)


def test_loguniform_range_and_spread():
    values = draws(loguniform(1e-4, 1e-1))
    assert all(1e-4 <= v <= 1e-1 for v in values)
    decades = [sum(1 for v in values if 10**k <= v < 10 ** (k + 1)) for k in (-4, -3, -2)]
    assert all(abs(count - N / 3) < N / 10 for count in decades)  # uniform in the exponent
    assert all(1 <= v <= 8 for v in draws(loguniform(1, 8, base=2)))
    assert repr(loguniform(1e-4, 1e-1)) == "loguniform(0.0001, 0.1, base=10)"


def test_qloguniform_multiples():
    values = draws(qloguniform(1, 1000, 5))
    assert all(5 <= v <= 1000 and v % 5 == 0 and type(v) is float for v in values)


def test_randint_upper_is_exclusive():
    values = draws(randint(0, 3))
    assert set(values) == {0, 1, 2}
    assert all(type(v) is int for v in values)


def test_qrandint_upper_is_inclusive_multiples_of_q():
    values = draws(qrandint(32, 256, 32))
    assert set(values) == {32, 64, 96, 128, 160, 192, 224, 256}
    assert set(draws(qrandint(1, 10, 3))) == {3, 6, 9}
    assert all(type(v) is int for v in values)


def test_lograndint_range_and_type():
    values = draws(lograndint(1, 1000))
    assert all(type(v) is int and 1 <= v < 1000 for v in values)
    assert sum(1 for v in values if v < 10) > N / 5  # log-uniform: many small values


def test_choice_picks_every_category():
    values = draws(choice(["a", "b", ("c",)]))
    assert set(values) == {"a", "b", ("c",)}
    assert repr(choice([1, 2])) == "choice([1, 2])"


def test_randn_moments_and_qrandn():
    values = draws(randn(5.0, 2.0))
    mean = sum(values) / N
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / N)
    assert abs(mean - 5.0) < 0.2 and abs(sd - 2.0) < 0.2
    assert all(type(v) is float for v in values)
    assert all(round(v / 0.5) * 0.5 == v for v in draws(qrandn(0, 1, 0.5)))
    assert repr(randn()) == "randn(0.0, 1.0)"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: uniform(1.0, 1.0), "lower must be < upper, got lower=1.0, upper=1.0"),
        (lambda: uniform(2, 1), "lower must be < upper"),
        (lambda: uniform(0, float("nan")), "finite number"),
        (lambda: uniform("0", 1), "`lower` must be a finite number, got '0'"),
        (lambda: loguniform(0, 1), "lower > 0, got lower=0"),
        (lambda: loguniform(-1, 1), "lower > 0"),
        (lambda: loguniform(1, 10, base=1), "`base` must be > 0 and != 1"),
        (lambda: quniform(0, 1, 0), "`q` must be > 0, got 0"),
        (lambda: quniform(0, 1, -0.5), "`q` must be > 0"),
        (lambda: quniform(0.1, 0.2, 0.3), "no multiple of q=0.3"),
        (lambda: randint(5, 5), "lower must be < upper, got lower=5, upper=5"),
        (lambda: randint(0, 2.5), "`upper` must be an integer, got 2.5"),
        (lambda: randint(True, 3), "must be an integer"),
        (lambda: qrandint(0, 10, 0), "`q` must be > 0"),
        (lambda: lograndint(0, 10), "lower > 0"),
        (lambda: choice([]), "at least one category"),
        (lambda: choice("abc"), "requires a list"),
        (lambda: randn(0, 0), "`sd` must be > 0, got 0"),
        (lambda: qrandn(0, 1, 0), "`q` must be > 0"),
    ],
)
def test_bad_bounds_raise_tune_error_naming_the_values(make, message):
    with pytest.raises(TuneError) as info:
        make()
    assert message in str(info.value)


def test_domains_are_picklable_and_comparable():
    for domain in [uniform(0, 1), qloguniform(1, 100, 2), qrandint(0, 9, 3), choice([1, "x"]), qrandn(0, 1, 0.1)]:
        assert pickle.loads(pickle.dumps(domain)) == domain
    assert isinstance(uniform(0, 1), Float)
    assert isinstance(randint(0, 2), Integer)
    assert isinstance(randn(), Normal)
    assert isinstance(choice([1]), Categorical)


def test_sampling_is_reproducible_with_the_same_seed():
    space = [uniform(0, 1), loguniform(1e-3, 1), randint(0, 100), choice(["a", "b"]), randn()]
    assert [d.sample(random.Random(7)) for d in space] == [d.sample(random.Random(7)) for d in space]


def test_importing_the_search_package_does_not_import_numpy():
    import subprocess
    import sys

    code = "import sys, tune_core.search; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
