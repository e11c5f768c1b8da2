"""What a trial asks for and what the machine (or cluster) has: CPUs, GPUs and custom resources."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tune_core.errors import TuneError

__all__ = ["ResourcePool", "Resources", "detect_gpus"]

_KNOWN = ("cpu", "gpu", "extra_cpu", "extra_gpu")


def _refuse_misspelt(key: str, name: str) -> None:
    """``cpus``, ``num_gpus``, ``GPU``: meant as ``cpu``/``gpu``, never as a custom resource."""
    core = name.lower().removeprefix("num_").removeprefix("n_").removesuffix("s")
    for known in _KNOWN:
        if core == known and name != known:
            raise TuneError(f"unknown resource {name!r} in `{key}` (did you mean {known!r}?); allowed: "
                            "cpu, gpu, extra_cpu, extra_gpu, or a custom resource name")


@dataclass(frozen=True)
class Resources:
    """A bundle of resources: a trial's request or a machine's capacity.

    ``extra_cpu``/``extra_gpu`` are reserved for a trial (e.g. for processes it starts itself)
    without being handed to it; ``custom`` holds any other named resource.
    """

    cpu: float = 1.0
    gpu: float = 0.0
    extra_cpu: float = 0.0
    extra_gpu: float = 0.0
    custom: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | Resources | None, key: str = "resources") -> Resources:
        """Build from a spec dict such as ``{"cpu": 1, "gpu": 0.5, "custom": {"tpu": 1}}``.

        Unknown top-level keys that are not one of cpu/gpu/extra_cpu/extra_gpu are taken as custom
        resources; every amount must be a non-negative number.
        """
        if spec is None:
            return cls()
        if isinstance(spec, Resources):
            return spec
        if not isinstance(spec, Mapping):
            raise TuneError(f"`{key}` must be a dict such as {{'cpu': 1, 'gpu': 0}}, got {spec!r}")
        values: dict[str, float] = {}
        custom: dict[str, float] = {}
        for name, amount in spec.items():
            if name == "custom":
                if not isinstance(amount, Mapping):
                    raise TuneError(f"`{key}.custom` must be a dict of name -> amount, got {amount!r}")
                for cname, camount in amount.items():
                    custom[str(cname)] = _amount(f"{key}.custom.{cname}", camount)
            elif name in _KNOWN:
                values[name] = _amount(f"{key}.{name}", amount)
            elif name in ("driver_cpu_limit", "driver_gpu_limit"):
                raise TuneError(f"`{key}.{name}` is not supported; use `extra_cpu`/`extra_gpu` instead")
            elif isinstance(name, str) and name.isidentifier():
                _refuse_misspelt(key, name)
                custom[name] = _amount(f"{key}.{name}", amount)
            else:
                raise TuneError(
                    f"unknown resource {name!r} in `{key}`; allowed: cpu, gpu, extra_cpu, extra_gpu, "
                    "or a custom resource name"
                )
        gpu = values.get("gpu", 0.0)
        if gpu > 1 and gpu != int(gpu):
            raise TuneError(f"`{key}.gpu` = {gpu}: a share above 1 GPU must be a whole number")
        return cls(custom=custom, **values)

    @property
    def total_cpu(self) -> float:
        return self.cpu + self.extra_cpu

    @property
    def total_gpu(self) -> float:
        return self.gpu + self.extra_gpu

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cpu": self.cpu, "gpu": self.gpu}
        if self.extra_cpu:
            out["extra_cpu"] = self.extra_cpu
        if self.extra_gpu:
            out["extra_gpu"] = self.extra_gpu
        if self.custom:
            out["custom"] = dict(self.custom)
        return out

    def summary(self) -> str:
        parts = [f"{_fmt(self.total_cpu)} CPUs", f"{_fmt(self.total_gpu)} GPUs"]
        parts += [f"{_fmt(v)} {k}" for k, v in sorted(self.custom.items())]
        return ", ".join(parts)


def _amount(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise TuneError(f"`{key}` must be a non-negative number, got {value!r}")
    if value < 0:
        raise TuneError(f"`{key}` must be a non-negative number, got {value!r}")
    return float(value)


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def detect_gpus() -> int:
    """Number of NVIDIA GPUs visible to this process, without importing a framework.

    ``CUDA_VISIBLE_DEVICES`` wins when set; else ``/proc/driver/nvidia/gpus`` (Linux driver) is counted.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    try:
        return len(os.listdir("/proc/driver/nvidia/gpus"))
    except OSError:
        return 0


class ResourcePool:
    """What an executor has in all, and what the running trials hold now: the runner's accounting."""

    __slots__ = ("_custom", "_used_cpu", "_used_gpu", "total")

    def __init__(self, total: Resources):
        self.total = total
        self._used_cpu = 0.0
        self._used_gpu = 0.0
        self._custom: dict[str, float] = {}

    def take(self, request: Resources, sign: int = 1) -> None:
        """Hand ``request`` out (``sign=-1``: give it back)."""
        self._used_cpu += sign * request.total_cpu
        self._used_gpu += sign * request.total_gpu
        for key, amount in request.custom.items():
            self._custom[key] = self._custom.get(key, 0.0) + sign * amount

    def give_back(self, request: Resources) -> None:
        self.take(request, -1)

    def free_for(self, request: Resources) -> bool:
        """Whether ``request`` fits in what is free now."""
        total = self.total
        if self._used_cpu + request.total_cpu > total.cpu + 1e-9:
            return False
        if self._used_gpu + request.total_gpu > total.gpu + 1e-9:
            return False
        for key, amount in request.custom.items():  # A loop, not all(...): asked at every step.
            if self._custom.get(key, 0.0) + amount > total.custom.get(key, 0.0) + 1e-9:
                return False
        return True

    def shortfall(self, request: Resources, total: Resources | None = None) -> list[str]:
        """Why ``request`` could never fit in ``total`` (default: the pool's), even with nothing else
        running (empty: it can)."""
        total, problems = total or self.total, []
        if request.total_cpu > total.cpu + 1e-9:
            problems.append(f"{request.total_cpu:g} CPUs but the executor has {total.cpu:g}")
        if request.total_gpu > total.gpu + 1e-9:
            problems.append(f"{request.total_gpu:g} GPUs but the executor has {total.gpu:g}")
        for key, amount in request.custom.items():
            if amount > total.custom.get(key, 0.0) + 1e-9:
                problems.append(f"{amount:g} {key!r} but the executor has {total.custom.get(key, 0.0):g}")
        return problems

    def widest(self, other: Resources) -> Resources:
        """The larger of the pool's total and ``other``, resource by resource."""
        total = self.total
        custom = {key: max(total.custom.get(key, 0.0), other.custom.get(key, 0.0))
                  for key in {*total.custom, *other.custom}}
        return Resources(cpu=max(total.cpu, other.cpu), gpu=max(total.gpu, other.gpu), custom=custom)

    def used(self) -> Resources:
        return Resources(cpu=self._used_cpu, gpu=self._used_gpu, custom=dict(self._custom))
