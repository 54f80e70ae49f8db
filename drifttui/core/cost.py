"""Cost model: what replica and resource drift costs per month.

cost = replicas x (cpu cores x vCPU-hour + memory GiB x GiB-hour) x hours per month, for
each container's requests (limits when no request is set, as the scheduler defaults them).
Prices come from :class:`~drifttui.core.models.Prices` (defaults documented there and in
README). Example: 2 extra replicas of 500m/512Mi at the defaults cost
2 x (0.5 x 0.0316 + 0.5 x 0.0042) x 730 = $26.13 a month.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drifttui.core.models import CostImpact, Prices
from drifttui.core.quantity import cpu_cores, memory_gib

DEFAULT_PRICES = Prices()
_WORKLOAD_KINDS = {"Deployment", "StatefulSet", "ReplicaSet", "DaemonSet"}


def pod_requests(obj: Mapping[str, Any] | None) -> tuple[float, float]:
    """(cpu cores, memory GiB) one pod of a workload (or a bare pod spec) requests."""
    if not obj:
        return 0.0, 0.0
    spec = obj.get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") if "template" in spec else spec
    cpu = mem = 0.0
    for c in (pod or {}).get("containers") or []:
        if not isinstance(c, Mapping):
            continue
        res = c.get("resources") or {}
        req = res.get("requests") or {}
        lim = res.get("limits") or {}
        cpu += cpu_cores(req.get("cpu", lim.get("cpu")))
        mem += memory_gib(req.get("memory", lim.get("memory")))
    return cpu, mem


def replicas_of(obj: Mapping[str, Any] | None) -> int:
    if not obj or obj.get("kind") not in _WORKLOAD_KINDS:
        return 0
    if obj.get("kind") == "DaemonSet":
        return 1
    spec = obj.get("spec") or {}
    value = spec.get("replicas", 1)
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def monthly_cost(obj: Mapping[str, Any] | None, prices: Prices = DEFAULT_PRICES) -> float:
    """Monthly cost of a workload's requested resources at ``prices``."""
    cpu, mem = pod_requests(obj)
    hourly = cpu * prices.vcpu_hour + mem * prices.gib_hour
    return replicas_of(obj) * hourly * prices.hours_per_month


def cost_impact(
    desired: Mapping[str, Any] | None,
    live: Mapping[str, Any] | None,
    prices: Prices = DEFAULT_PRICES,
) -> CostImpact:
    """Monthly cost of live minus desired (positive when live costs more)."""
    d_cpu, d_mem = pod_requests(desired)
    l_cpu, l_mem = pod_requests(live)
    d_rep, l_rep = replicas_of(desired), replicas_of(live)
    delta = monthly_cost(live, prices) - monthly_cost(desired, prices)
    cpu_delta = l_rep * l_cpu - d_rep * d_cpu
    mem_delta = l_rep * l_mem - d_rep * d_mem
    parts = []
    if d_rep != l_rep:
        parts.append(f"{l_rep} replicas instead of {d_rep}")
    if (d_cpu, d_mem) != (l_cpu, l_mem):
        parts.append(f"pod requests {l_cpu:g} CPU / {l_mem:g} GiB instead of {d_cpu:g} / {d_mem:g}")
    sign = "+" if delta >= 0 else "-"
    text = f"{sign}${abs(delta):,.2f}/month" + (f" ({'; '.join(parts)})" if parts else "")
    return CostImpact(
        monthly_usd=round(delta, 2),
        cpu_cores_delta=cpu_delta,
        memory_gib_delta=mem_delta,
        explanation=text,
    )
