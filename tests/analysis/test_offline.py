"""The offline analyst's verdicts on a table of drift cases, its cost figures and summary."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drifttui.analysis.offline import ImageRef, OfflineAnalyst
from drifttui.analysis.protocol import Action, Analyst, Risk
from drifttui.core.models import (
    Autoscaler,
    Category,
    Change,
    DriftItem,
    Environment,
    FieldDrift,
    Prices,
    ResourceKey,
    ResourceStatus,
    Sel,
)
from tests.analysis.builders import (
    CONTROLLER,
    KUBECTL_EDIT,
    added,
    container,
    fd,
    item,
    pod,
    replicas,
    secret_item,
)


def web(*fields: FieldDrift) -> DriftItem:
    """The Deployment web with these field findings."""
    return item("Deployment", "web", list(fields))


def image(desired: str, live: str) -> DriftItem:
    """The Deployment web whose api container's image moved from ``desired`` to ``live``."""
    return web(fd(container("image"), desired, live))


HPA = Autoscaler("web", ResourceKey("apps", "Deployment", "shop", "web"), 2, 10)
RULES = ("rules",)

CASES: list[tuple[str, DriftItem, Risk, Action, str]] = [
    ("over-scaling", replicas("web", 3, 5), Risk.COST, Action.PATCH_LIVE, "over-scaling"),
    ("under-scaling", replicas("web", 3, 2), Risk.AVAILABILITY, Action.PATCH_LIVE, "under-scaling"),
    ("scaled to zero", replicas("web", 2, 0), Risk.AVAILABILITY, Action.PATCH_LIVE, "zero"),
    (
        "single replica in production",
        replicas("web", 3, 1, env="prod"),
        Risk.AVAILABILITY,
        Action.PATCH_LIVE,
        "single replica in production",
    ),
    (
        "one replica outside production is plain under-scaling",
        replicas("web", 3, 1, env="dev"),
        Risk.AVAILABILITY,
        Action.PATCH_LIVE,
        "under-scaling",
    ),
    (
        "manual scale of an HPA target",
        replicas("web", 3, 12, autoscaler=HPA),
        Risk.COST,
        Action.INVESTIGATE,
        "HPA web",
    ),
    (
        "image registry changed",
        image("reg.io/api:1.2", "evil.io/api:1.2"),
        Risk.SECURITY,
        Action.PATCH_LIVE,
        "another registry",
    ),
    (
        "image latest",
        image("reg.io/api:1.2", "reg.io/api:latest"),
        Risk.AVAILABILITY,
        Action.PATCH_LIVE,
        "unpinned",
    ),
    (
        "image untagged",
        image("nginx:1.25", "nginx"),
        Risk.AVAILABILITY,
        Action.PATCH_LIVE,
        "unpinned",
    ),
    (
        "image tag moved ahead",
        image("reg.io/api:2.4.1", "reg.io/api:2.4.2"),
        Risk.AVAILABILITY,
        Action.ACCEPT_INTO_HUB,
        "hotfix",
    ),
    (
        "image rolled back",
        image("reg.io/api:v2.4", "reg.io/api:v2.3"),
        Risk.AVAILABILITY,
        Action.INVESTIGATE,
        "rolled back",
    ),
    (
        "image repository swapped",
        image("reg.io/api:1", "reg.io/miner:1"),
        Risk.SECURITY,
        Action.INVESTIGATE,
        "another image",
    ),
    (
        "cpu request raised",
        web(fd(container("resources", "requests", "cpu"), "500m", "2", Category.RESOURCES)),
        Risk.COST,
        Action.PATCH_LIVE,
        "requests.cpu of container api raised",
    ),
    (
        "memory limit lowered",
        web(fd(container("resources", "limits", "memory"), "1Gi", "256Mi", Category.RESOURCES)),
        Risk.AVAILABILITY,
        Action.PATCH_LIVE,
        "lowered",
    ),
    (
        "limits removed",
        web(
            fd(
                container("resources", "limits"),
                {"cpu": "1"},
                None,
                Category.RESOURCES,
                Change.REMOVED,
            )
        ),
        Risk.AVAILABILITY,
        Action.PATCH_LIVE,
        "removed",
    ),
    (
        "privileged container",
        web(
            added(container("securityContext", "privileged"), True, Category.SECURITY, KUBECTL_EDIT)
        ),
        Risk.SECURITY,
        Action.PATCH_LIVE,
        "widened",
    ),
    (
        "runs as root",
        web(fd(pod("securityContext", "runAsUser"), 1000, 0)),
        Risk.SECURITY,
        Action.PATCH_LIVE,
        "widened",
    ),
    (
        "capability added",
        web(fd(container("securityContext", "capabilities", "add"), [], ["NET_ADMIN"])),
        Risk.SECURITY,
        Action.PATCH_LIVE,
        "widened",
    ),
    (
        "host network",
        web(added(pod("hostNetwork"), True)),
        Risk.SECURITY,
        Action.PATCH_LIVE,
        "widened",
    ),
    (
        "readOnlyRootFilesystem tightened",
        web(fd(container("securityContext", "readOnlyRootFilesystem"), False, True)),
        Risk.NONE,
        Action.ACCEPT_INTO_HUB,
        "hardened",
    ),
    (
        "RBAC rule widened",
        item(
            "Role",
            "reader",
            [
                fd(
                    RULES,
                    [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
                    [
                        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
                        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]},
                    ],
                    Category.SECURITY,
                )
            ],
        ),
        Risk.SECURITY,
        Action.PATCH_LIVE,
        "Role rules",
    ),
    (
        "RBAC rule narrowed",
        item(
            "ClusterRole",
            "reader",
            [
                fd(
                    RULES,
                    [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
                    [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
                    Category.SECURITY,
                )
            ],
        ),
        Risk.NONE,
        Action.ACCEPT_INTO_HUB,
        "hardened",
    ),
    (
        "binding subject added",
        item(
            "RoleBinding",
            "read",
            [
                fd(
                    ("subjects",),
                    [{"kind": "ServiceAccount", "name": "a"}],
                    [{"kind": "ServiceAccount", "name": "a"}, {"kind": "User", "name": "eve"}],
                )
            ],
        ),
        Risk.SECURITY,
        Action.PATCH_LIVE,
        "RoleBinding subjects",
    ),
    (
        "service account changed",
        web(fd(pod("serviceAccountName"), "web", "admin")),
        Risk.SECURITY,
        Action.INVESTIGATE,
        "serviceAccountName",
    ),
    (
        "Secret edited",
        secret_item("db", "***", "***"),
        Risk.SECURITY,
        Action.INVESTIGATE,
        "Secret changed",
    ),
    (
        "config value edited",
        item(
            "ConfigMap", "cfg", [fd(("data", "log.level"), "info", "debug", Category.CONFIG_DATA)]
        ),
        Risk.AVAILABILITY,
        Action.PATCH_LIVE,
        "edited by hand",
    ),
    (
        "config key added",
        item("ConfigMap", "cfg", [added(("data", "feature.x"), "on", Category.CONFIG_DATA)]),
        Risk.NONE,
        Action.ACCEPT_INTO_HUB,
        "added",
    ),
    (
        "credential-like config key",
        item("ConfigMap", "cfg", [fd(("data", "db.password"), "a", "b", Category.CONFIG_DATA)]),
        Risk.SECURITY,
        Action.INVESTIGATE,
        "credential-like",
    ),
    (
        "env var edited",
        web(fd(container("env", Sel((("name", "MODE"),)), "value"), "a", "b")),
        Risk.AVAILABILITY,
        Action.PATCH_LIVE,
        "environment variable MODE",
    ),
    (
        "credential env var edited",
        web(fd(container("env", Sel((("name", "DB_PASSWORD"),)), "value"), "a", "b")),
        Risk.SECURITY,
        Action.INVESTIGATE,
        "credential-like environment variable DB_PASSWORD",
    ),
    (
        "nodePort changed",
        item(
            "Service",
            "web",
            [
                fd(
                    ("spec", "ports", Sel((("name", "http"),)), "nodePort"),
                    30080,
                    30081,
                    Category.PORTS,
                )
            ],
        ),
        Risk.AVAILABILITY,
        Action.PATCH_LIVE,
        "nodePort",
    ),
    (
        "annotation added by a tool",
        web(
            added(
                ("metadata", "annotations", "sidecar.istio.io/status"),
                "x",
                Category.LABELS,
                CONTROLLER,
            )
        ),
        Risk.NONE,
        Action.ADD_IGNORE_RULE,
        "istio-sidecar-injector",
    ),
    (
        "label added by a person",
        web(added(("metadata", "labels", "owner"), "bob", Category.LABELS, KUBECTL_EDIT)),
        Risk.NONE,
        Action.ACCEPT_INTO_HUB,
        "by a person",
    ),
    (
        "missing object",
        item("Service", "web", [], status=ResourceStatus.MISSING),
        Risk.AVAILABILITY,
        Action.PATCH_LIVE,
        "missing from the cluster",
    ),
    (
        "unknown field",
        web(fd(pod("tolerations"), [], [{"key": "x"}])),
        Risk.NONE,
        Action.INVESTIGATE,
        "tolerations",
    ),
]


@pytest.mark.parametrize(
    ("drift", "risk", "action", "cause"),
    [pytest.param(d, r, a, c, id=name) for name, d, r, a, c in CASES],
)
def test_offline_verdicts(drift: DriftItem, risk: Risk, action: Action, cause: str) -> None:
    analysis = OfflineAnalyst().analyze([drift])
    (v,) = analysis.verdicts
    assert (v.risk, v.action) == (risk, action)
    assert cause in v.cause
    assert 0 < v.confidence <= 1
    assert v.reason
    assert analysis.source == "offline"


def test_over_scaling_carries_the_cost_model_figure_and_the_seed_summary() -> None:
    over = replicas("backend-api", 3, 5, cost=26.13)
    under = replicas("frontend-web", 2, 1, env="prod")
    analysis = OfflineAnalyst().analyze([over, under])
    assert [v.monthly_cost_usd for v in analysis.verdicts] == [26.13, None]
    assert analysis.monthly_cost_usd == 26.13
    assert analysis.summary.startswith("Under-scaling detected, over-scaling detected.")
    assert "+$26.13/month" in analysis.verdicts[0].reason
    assert "monthly cost impact +$26.13/month" in analysis.summary


def test_resource_cost_comes_from_the_cost_model() -> None:
    # without the diff's item cost: requests 500m -> 1 cpu, priced per replica
    cpu = fd(container("resources", "requests", "cpu"), "500m", "1", Category.RESOURCES)
    alone = web(cpu)
    (v,) = OfflineAnalyst().analyze([alone]).verdicts
    assert v.monthly_cost_usd == pytest.approx(0.5 * 0.0316 * 730, abs=0.01)
    (v2,) = OfflineAnalyst(prices=Prices(vcpu_hour=0.1)).analyze([alone]).verdicts
    assert v2.monthly_cost_usd == pytest.approx(0.5 * 0.1 * 730, abs=0.01)
    # with a replicas finding showing 4 live replicas, the request change is priced x4
    scaled = web(fd(("spec", "replicas"), 3, 4, Category.REPLICAS), cpu)
    rep, res = OfflineAnalyst().analyze([scaled]).verdicts
    assert rep.monthly_cost_usd is None
    assert res.monthly_cost_usd == pytest.approx(4 * 0.5 * 0.0316 * 730, abs=0.01)


def test_each_resource_cost_is_counted_once() -> None:
    d = item(
        "Deployment",
        "web",
        [
            fd(("spec", "replicas"), 3, 5, Category.REPLICAS),
            fd(container("resources", "requests", "cpu"), "500m", "1", Category.RESOURCES),
        ],
        cost=80.0,
    )
    analysis = OfflineAnalyst().analyze([d])
    assert [v.monthly_cost_usd for v in analysis.verdicts] == [80.0, None]
    assert analysis.monthly_cost_usd == 80.0


def test_production_comes_from_the_environment_flag() -> None:
    one = replicas("web", 3, 1, env="eu-main")
    plain = OfflineAnalyst().analyze([one]).verdicts[0]
    flagged = OfflineAnalyst(environments=[Environment("eu-main", "s", production=True)])
    assert "under-scaling" in plain.cause
    assert "single replica in production" in flagged.analyze([one]).verdicts[0].cause


def test_rollout_in_progress_lowers_confidence() -> None:
    calm = OfflineAnalyst().analyze([replicas("web", 3, 5)]).verdicts[0]
    rolling = OfflineAnalyst().analyze([replicas("web", 3, 5, rolling_out=True)]).verdicts[0]
    assert rolling.confidence < calm.confidence
    assert "rollout" in rolling.cause


def test_no_drift_gives_an_empty_analysis() -> None:
    clean = item("Deployment", "web", [], status=ResourceStatus.IN_SYNC)
    analysis = OfflineAnalyst().analyze([clean])
    assert analysis.verdicts == ()
    assert analysis.summary == "No drift to analyse."
    assert analysis.monthly_cost_usd is None


def test_offline_is_deterministic_and_an_analyst() -> None:
    items = [replicas("a", 3, 5, cost=10), replicas("b", 2, 1)] + [c[1] for c in CASES[6:12]]
    first, second = OfflineAnalyst().analyze(items), OfflineAnalyst().analyze(items)
    assert first == second
    assert isinstance(OfflineAnalyst(), Analyst)
    assert OfflineAnalyst().name == "offline"
    ids = list(dict.fromkeys(f.id for i in items for f in i.counted))  # same id: one finding
    assert [v.finding_id for v in first.verdicts] == ids
    assert len(ids) == 3


@pytest.mark.parametrize(
    ("ref", "registry", "repository", "tag"),
    [
        ("nginx", "docker.io", "library/nginx", None),
        ("nginx:1.25", "docker.io", "library/nginx", "1.25"),
        ("reg.io:5000/team/api:2.4.1", "reg.io:5000", "team/api", "2.4.1"),
        ("localhost/api@sha256:" + "a" * 64, "localhost", "api", None),
        ("team/api:v1", "docker.io", "team/api", "v1"),
    ],
)
def test_image_refs(ref: str, registry: str, repository: str, tag: str | None) -> None:
    parsed = ImageRef.parse(ref)
    assert (parsed.registry, parsed.repository, parsed.tag) == (registry, repository, tag)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_elem = st.sampled_from(
    [
        "spec",
        "replicas",
        "image",
        "resources",
        "requests",
        "cpu",
        "limits",
        "env",
        "data",
        "securityContext",
        "privileged",
        "rules",
        "subjects",
        "metadata",
        "labels",
        "ports",
    ]
) | st.builds(lambda v: Sel((("name", v),)), st.text(max_size=8))


@settings(max_examples=80)
@given(
    kind=st.sampled_from(["Deployment", "Secret", "ConfigMap", "Role", "Service", "Pod"]),
    path=st.lists(_elem, min_size=1, max_size=6).map(tuple),
    desired=_json,
    live=_json,
    change=st.sampled_from(list(Change)[:3]),
    category=st.sampled_from(list(Category)),
)
def test_any_finding_gets_exactly_one_verdict(
    kind: str, path: tuple, desired: object, live: object, change: Change, category: Category
) -> None:
    if category is Category.OPERATIONAL:
        category = Category.OTHER
    drift = item(kind, "x", [fd(path, desired, live, category, change)])
    analysis = OfflineAnalyst().analyze([drift])
    (v,) = analysis.verdicts
    assert v.finding_id == drift.fields[0].id
    assert 0 < v.confidence <= 1
    assert analysis.summary
