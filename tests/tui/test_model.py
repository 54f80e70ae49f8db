"""What the TUI decides to show, without Textual: rows, queries, sorting, columns, pulse
figures, batching of watch events, log lines and ignore-rule previews."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drifttui.core.models import (
    Attribution,
    Category,
    Change,
    DriftItem,
    FieldDrift,
    ResourceKey,
    ResourceStatus,
    Severity,
    finding_id,
)
from drifttui.errors import InputError
from drifttui.tui.batching import DriftInbox, LineHandler, LineInbox, WorkBatches
from drifttui.tui.model import (
    DriftView,
    Query,
    SortKey,
    cell_text,
    columns_for,
    format_age,
    format_clock,
    format_usd,
    ignore_choices,
    parse_query,
    rows_for_item,
)

NS = "shop"
WEB = ResourceKey("apps", "Deployment", NS, "web")
API = ResourceKey("apps", "Deployment", NS, "api")
CM = ResourceKey("", "ConfigMap", NS, "settings")
SECRET = ResourceKey("", "Secret", NS, "creds")
HUMAN = Attribution("kubectl", "Update", "2025-11-24T16:00:00Z", None, True)
T0 = 1_764_000_000.0  # 2025-11-24T16:00:00Z


def finding(
    path: tuple[str, ...],
    desired: object,
    live: object,
    *,
    category: Category = Category.REPLICAS,
    severity: Severity = Severity.MEDIUM,
    change: Change = Change.CHANGED,
    fid: str = "",
    attribution: Attribution | None = HUMAN,
) -> FieldDrift:
    return FieldDrift(
        path=path,
        change=change,
        desired=desired,
        live=live,
        category=category,
        severity=severity,
        attribution=attribution,
        id=fid or "DRIFT-" + ".".join(path).upper(),
    )


def item(
    key: ResourceKey,
    *fields: FieldDrift,
    env: str = "prod",
    status: ResourceStatus | None = None,
    cost: float | None = None,
) -> DriftItem:
    if status is None:
        status = ResourceStatus.DRIFTED if fields else ResourceStatus.IN_SYNC
    # finding ids are unique per (environment, resource, path, change), as the diff makes them
    fields = tuple(replace(f, id=finding_id(env, key, f.path, f.change)) for f in fields)
    return DriftItem(
        key=key,
        api_version="apps/v1" if key.group else "v1",
        status=status,
        fields=fields,
        environment=env,
        unit=key.name,
        space=f"shop-{env}",
        monthly_cost_usd=cost,
    )


REPLICAS = finding(("spec", "replicas"), 3, 5)
IMAGE = finding(
    ("spec", "template", "spec", "containers", "image"),
    "web:1.0",
    "web:1.1-rc",
    category=Category.IMAGE,
    severity=Severity.HIGH,
)


# --------------------------------------------------------------------------- rows


def test_a_drifted_item_has_one_row_per_counted_finding() -> None:
    ignored = replace(finding(("metadata", "labels", "x"), None, "y"), ignored_by="rule-1")
    rows = rows_for_item(item(WEB, REPLICAS, IMAGE, ignored), {})
    assert [(r.field, r.desired, r.live, r.severity) for r in rows] == [
        ("spec.replicas", "3", "5", Severity.MEDIUM),
        ("spec.template.spec.containers.image", "web:1.0", "web:1.1-rc", Severity.HIGH),
    ]
    assert rows[0].resource == "deploy/web"
    assert rows[0].change == "3 → 5"
    assert rows[0].who == "kubectl"
    assert rows[0].changed_at == T0
    assert len({r.row_key for r in rows}) == 2


def test_secret_values_never_reach_a_row() -> None:
    f = finding(("data", "PASSWORD"), "c2VjcmV0", "bmV3", category=Category.SECRET)
    (row,) = rows_for_item(item(SECRET, f), {})
    assert (row.desired, row.live) == ("***", "***")
    assert "c2VjcmV0" not in row.text
    assert "bmV3" not in row.text


def test_missing_unmanaged_error_and_in_sync_rows() -> None:
    gone = finding((), None, None, change=Change.MISSING, category=Category.OTHER)
    (missing,) = rows_for_item(item(CM, gone, status=ResourceStatus.MISSING), {})
    assert (missing.category, missing.field, missing.change) == (
        "missing",
        "(whole object)",
        "present → missing",
    )
    assert rows_for_item(item(CM, status=ResourceStatus.UNMANAGED), {}) == ()
    broken = replace(item(CM, status=ResourceStatus.ERROR), error="403 Forbidden")
    (err,) = rows_for_item(broken, {})
    assert (err.category, err.field) == ("error", "403 Forbidden")
    (ok,) = rows_for_item(item(API), {})
    assert ok.status is ResourceStatus.IN_SYNC
    assert ok.change == ""


def test_a_scale_without_a_time_ages_from_when_it_was_first_seen() -> None:
    scaled = finding(("spec", "replicas"), 3, 5, attribution=Attribution("kubectl", "Update"))
    web = item(WEB, scaled)
    (row,) = rows_for_item(web, {web.fields[0].id: T0 + 60})
    assert row.changed_at == T0 + 60
    assert cell_text(row, "age", T0 + 60 + 125) == "2m"


# --------------------------------------------------------------------------- view


def test_view_reports_each_new_finding_once_and_closes_what_got_fixed() -> None:
    view = DriftView(["dev", "prod"])
    first = view.apply([("prod", WEB, item(WEB, REPLICAS))], T0)
    assert [f.path_str for _, f in first.opened if f] == ["spec.replicas"]
    again = view.apply([("prod", WEB, item(WEB, REPLICAS))], T0 + 1)
    assert again.opened == ()
    assert again.changed == ()
    more = view.apply([("prod", WEB, item(WEB, REPLICAS, IMAGE))], T0 + 2)
    assert [f.path_str for _, f in more.opened if f] == [IMAGE.path_str]
    fixed = view.apply([("prod", WEB, item(WEB))], T0 + 3)
    assert fixed.closed == (("prod", WEB),)
    assert view.visible() == []
    gone = view.apply([("prod", API, item(API, REPLICAS)), ("prod", API, None)], T0 + 4)
    assert ("prod", API) in gone.closed


def test_view_filters_sorts_and_caches_until_something_changes() -> None:
    view = DriftView(["dev", "prod"])
    view.apply(
        [
            ("prod", WEB, item(WEB, REPLICAS, IMAGE)),
            ("dev", API, item(API, REPLICAS, env="dev")),
            ("prod", CM, item(CM)),
        ],
        T0,
    )
    rows = view.visible()
    assert [(r.environment, r.key.name, r.field) for r in rows] == [
        ("prod", "web", IMAGE.path_str),  # high first
        ("dev", "api", "spec.replicas"),  # then environments in chain order
        ("prod", "web", "spec.replicas"),
    ]
    assert view.visible() is rows  # cached
    view.set_query(parse_query("replicas !dev", ["dev", "prod"]))
    assert [(r.environment, r.key.name) for r in view.visible()] == [("prod", "web")]
    view.set_query(parse_query(":all :env prod", ["dev", "prod"]))
    assert {r.key.name for r in view.visible()} == {"web", "settings"}  # in-sync shown
    view.set_query(Query(), selector=lambda i: i.key.name == "api")
    assert [r.key.name for r in view.visible()] == ["api"]
    view.set_query(Query())
    view.set_sort(SortKey.RESOURCE)
    assert [r.key.name for r in view.visible()] == ["api", "web", "web"]


def test_a_hub_filter_not_resolved_yet_keeps_no_row_instead_of_every_row() -> None:
    view = DriftView(["dev", "prod"])
    view.apply([("prod", WEB, item(WEB, REPLICAS)), ("dev", API, item(API, REPLICAS))], T0)
    query = parse_query(":filter security-drift", ["dev", "prod"])
    view.set_query(query)  # the hub has not answered (or does not know the filter)
    assert view.visible() == []
    view.apply([("dev", WEB, item(WEB, IMAGE, env="dev"))], T0 + 1)  # drift meanwhile too
    assert view.visible() == []
    view.set_query(query, selector=lambda i: i.key.name == "api")  # the hub answered
    assert [r.key.name for r in view.visible()] == ["api"]
    view.set_query(parse_query(":env prod", ["dev", "prod"]))  # no hub filter: plain rows
    assert [r.key.name for r in view.visible()] == ["web"]


def test_figures_count_what_the_seeds_dashboard_counted() -> None:
    view = DriftView(["dev", "prod"])
    view.apply(
        [
            ("prod", WEB, item(WEB, REPLICAS, IMAGE, cost=26.13)),
            ("prod", API, item(API, REPLICAS, cost=-6.5)),
            ("prod", CM, item(CM)),
            ("dev", CM, item(CM, env="dev", status=ResourceStatus.UNMANAGED)),
        ],
        T0,
    )
    figures = view.figures()
    prod = figures["prod"]
    assert (prod.monitored, prod.drifted, prod.findings) == (3, 2, 3)
    assert prod.count(Severity.HIGH) == 1
    assert prod.count(Severity.MEDIUM) == 1
    assert prod.monthly_cost_usd == pytest.approx(19.63)
    assert figures["dev"].monitored == 0  # unmanaged objects are not monitored resources


# --------------------------------------------------------------------------- queries


def test_query_grammar() -> None:
    envs = ["dev", "staging", "prod"]
    q = parse_query('web "spec.replicas" !kubectl :env pr :all :sort age :ns shop', envs)
    assert q.terms == ("web", "spec.replicas")
    assert q.excluded == ("kubectl",)
    assert (q.environment, q.namespace, q.show_in_sync, q.sort) == (
        "prod",
        "shop",
        True,
        SortKey.AGE,
    )
    f = parse_query(":filter security-drift :set critical-drifts", envs)
    assert (f.hub_filter, f.hub_set, f.needs_hub) == ("security-drift", "critical-drifts", True)
    assert parse_query(":env all", envs).environment is None
    assert parse_query(":", envs) == Query(text=":")  # a command being typed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (":nope", "unknown command :nope"),
        (":env", ":env needs an argument"),
        (":env qa", "no environment named 'qa'"),
        (":sort colour", "cannot sort by 'colour'"),
    ],
)
def test_bad_queries_say_what_and_how(text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        parse_query(text, ["dev", "staging", "prod"])
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_an_ambiguous_environment_prefix_is_refused() -> None:
    with pytest.raises(InputError, match="names several environments"):
        parse_query(":env s", ["staging", "sandbox"])


# --------------------------------------------------------------------------- columns


@given(st.integers(min_value=60, max_value=300))
def test_columns_fill_the_width_exactly(width: int) -> None:
    cols = columns_for(width)
    assert sum(c.width for c in cols) + len(cols) - 1 == width
    names = [c.key for c in cols]
    assert ("who" in names) == (width >= 100)
    assert {"sev", "env", "resource", "field", "change"} <= set(names)


def test_formats() -> None:
    assert [format_age(s) for s in (None, 0, 59, 60, 3599, 3600, 86400 * 3)] == [
        "-",
        "0s",
        "59s",
        "1m",
        "59m",
        "1h",
        "3d",
    ]
    assert format_usd(26.134) == "+$26.13"
    assert format_usd(-6.5) == "-$6.50"
    assert format_usd(0.001) == "$0"
    assert format_clock(T0 + 5) == "16:00:05"


# --------------------------------------------------------------------------- batching


def test_inbox_keeps_the_latest_change_per_resource_in_arrival_order() -> None:
    inbox = DriftInbox()
    inbox.put("prod", WEB, item(WEB, REPLICAS))
    inbox.put("prod", API, item(API, REPLICAS))
    inbox.put("prod", WEB, None)
    assert inbox.drain() == [("prod", WEB, None), ("prod", API, item(API, REPLICAS))]
    assert inbox.drain() == []
    assert inbox.received == 3


def test_seeding_never_overwrites_a_newer_event() -> None:
    inbox = DriftInbox()
    newer = item(WEB, REPLICAS)
    inbox.put("prod", WEB, newer)
    inbox.seed([item(WEB), item(API)])
    assert inbox.drain() == [("prod", WEB, newer), ("prod", API, item(API))]


def test_inbox_under_concurrent_watch_threads_loses_nothing_but_repeats() -> None:
    inbox = DriftInbox()
    keys = [ResourceKey("apps", "Deployment", NS, f"app-{i}") for i in range(50)]
    drained: list[tuple[str, ResourceKey, object]] = []
    stop = threading.Event()

    def drain_loop() -> None:
        while not stop.is_set():
            drained.extend(inbox.drain())

    def produce(env: str) -> None:
        for n in range(20):
            for k in keys:
                inbox.put(env, k, item(k, replace(REPLICAS, live=n), env=env))

    drainer = threading.Thread(target=drain_loop)
    drainer.start()
    producers = [threading.Thread(target=produce, args=(e,)) for e in ("dev", "staging", "prod")]
    for t in producers:
        t.start()
    for t in producers:
        t.join()
    stop.set()
    drainer.join()
    drained.extend(inbox.drain())
    assert inbox.received == 3 * 20 * 50
    latest = {(e, k): i for e, k, i in drained}
    assert len(latest) == 150
    assert all(i.fields[0].live == 19 for i in latest.values())  # type: ignore[attr-defined]
    assert len(drained) <= inbox.received


def test_line_inbox_is_bounded_and_counts_what_it_dropped() -> None:
    lines = LineInbox(max_lines=3)
    lines.extend(["a", "b", "c", "d", "e"])
    assert lines.drain() == ["c", "d", "e"]
    assert lines.dropped == 2


def test_log_lines_use_the_apps_clock_and_never_show_secrets() -> None:
    lines = LineInbox()
    handler = LineHandler(lines, lambda: T0 + 5, format_clock, lambda s: s.replace("tok3n", "***"))
    logger = logging.getLogger("drifttui.test-tui-lines")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("✅ Fixed: backend-api")
        logger.error("hub said no to tok3n")
        logger.warning("two\nlines")
    finally:
        logger.removeHandler(handler)
    assert lines.drain() == [
        "16:00:05 ✅ Fixed: backend-api",
        "16:00:05 ❌ hub said no to ***",
        "16:00:05 ⚠️  two",
        "         lines",
    ]


# --------------------------------------------------------------------------- ignore


def test_ignore_choices_preview_how_many_findings_each_rule_silences() -> None:
    label = finding(("metadata", "labels", "debug"), None, "true", category=Category.LABELS)
    web = item(WEB, REPLICAS, label)
    label = web.fields[1]
    api = item(API, label)
    dev_web = item(WEB, label, env="dev")
    items = [web, api, dev_web]
    choices = ignore_choices(web, label, items)
    # the manager rule also silences web's replicas (kubectl wrote both): the preview says so
    assert [c.silenced for c in choices] == [1, 2, 3, 4]
    assert choices[0].raw["resourceName"] == "web"
    assert choices[-1].raw["managers"] == ["kubectl"]
    assert len({c.rule.name for c in choices}) == 4
    again = ignore_choices(web, label, items, taken={choices[0].rule.name})
    assert again[0].rule.name != choices[0].rule.name


# --------------------------------------------------------------------------- incremental order

KEYS = [ResourceKey("apps", "Deployment", NS, f"app-{i}") for i in range(12)]
CHOICES = [
    (),
    (REPLICAS,),
    (IMAGE,),
    (REPLICAS, IMAGE),
    (replace(REPLICAS, live=9, severity=Severity.CRITICAL),),
]


@st.composite
def batches(draw: st.DrawFn) -> list[list[tuple[str, ResourceKey, DriftItem | None]]]:
    out = []
    for _ in range(draw(st.integers(1, 6))):
        batch = []
        for _ in range(draw(st.integers(1, 10))):
            env = draw(st.sampled_from(["dev", "prod"]))
            key = draw(st.sampled_from(KEYS))
            fields = draw(st.sampled_from([*CHOICES, None]))
            batch.append((env, key, None if fields is None else item(key, *fields, env=env)))
        out.append(batch)
    return out


@given(
    batches(),
    st.sampled_from(["", "replicas", "app-1", ":env prod", ":all", "!image app"]),
    st.sampled_from(list(SortKey)),
)
def test_incremental_updates_keep_the_same_rows_as_a_full_recompute(
    changes: list[list[tuple[str, ResourceKey, DriftItem | None]]], text: str, sort: SortKey
) -> None:
    view = DriftView(["dev", "prod"])
    view.set_sort(sort)
    view.set_query(parse_query(text, ["dev", "prod"]))
    view.visible()  # built once, then kept up to date batch by batch
    for n, batch in enumerate(changes):
        view.apply(batch, T0 + n)
        fresh = DriftView(["dev", "prod"], items=dict(view.items), rows=dict(view.rows))
        fresh.set_sort(sort)
        fresh.set_query(view.query)
        assert view.visible() == fresh.visible()
        assert view.row_count == sum(len(r) for r in view.rows.values())
        drifted = [i for i in view.items.values() if i.is_drifted]
        figures = view.figures()
        assert sum(f.drifted for f in figures.values()) == len(drifted)
        assert sum(view.drifted_units.values()) == len(drifted)


def test_narrowing_the_query_filters_the_previous_rows_only() -> None:
    view = DriftView(["prod"])
    view.apply([("prod", k, item(k, REPLICAS)) for k in KEYS], T0)
    view.set_query(parse_query("app-1", ["prod"]))
    wide = view.visible()
    assert {r.key.name for r in wide} == {"app-1", "app-10", "app-11"}
    view.set_query(parse_query("app-10", ["prod"]))
    assert [r.key.name for r in view.visible()] == ["app-10"]
    view.set_query(parse_query("app", ["prod"]))  # widening: back to every row
    assert len(view.visible()) == len(KEYS)


def test_work_waiting_for_a_busy_worker_goes_in_the_next_batch_each_once() -> None:
    """A burst of drift while the auto-fix (or records) worker runs: nothing is started
    twice at once, nothing waits forever, a resource is in a batch once."""
    a, b, c = (ResourceKey("apps", "Deployment", "shop", n) for n in "abc")
    batches = WorkBatches("auto-fix", "auto-fix", "auto-fix {n} resource(s)", lambda _: None)
    assert batches.take() is None  # nothing waits
    batches.add("dev", a)
    assert batches.take() == [("dev", a)]
    batches.add("dev", b)
    batches.add("prod", c)
    batches.add("dev", b)
    assert batches.take() is None  # the worker is still busy
    batches.busy = False  # it ended
    assert batches.take() == [("dev", b), ("prod", c)]
    batches.busy = False
    assert batches.take() is None
