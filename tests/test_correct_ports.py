"""Corrections find desired values behind selectors that name defaulted keys."""

from __future__ import annotations

import copy

from drifttui.core.correct import plan_correction
from drifttui.core.defaults import apply_server_defaults
from drifttui.core.diff import DiffContext, diff_object
from drifttui.core.models import get_path, json_pointer


def test_port_selected_by_its_defaulted_protocol_is_corrected() -> None:
    desired = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.25",
                            "ports": [
                                {"containerPort": 53, "hostPort": 8080},
                                {"containerPort": 53, "protocol": "UDP"},
                            ],
                        }
                    ]
                },
            },
        },
    }
    live = apply_server_defaults(copy.deepcopy(desired))
    live["spec"]["template"]["spec"]["containers"][0]["ports"][0]["hostPort"] = 9090
    live["metadata"]["managedFields"] = [
        {
            "manager": "kubectl-edit",
            "operation": "Update",
            "apiVersion": "apps/v1",
            "fieldsType": "FieldsV1",
            "time": "2026-11-25T10:00:00Z",
            "fieldsV1": {
                "f:spec": {
                    "f:template": {
                        "f:spec": {
                            "f:containers": {
                                'k:{"name":"web"}': {
                                    "f:ports": {
                                        'k:{"containerPort":53,"protocol":"TCP"}': {
                                            "f:hostPort": {}
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            },
        }
    ]
    item = diff_object(desired, live, DiffContext(default_namespace="shop"))
    assert [f.path_str for f in item.counted]
    assert all("hostPort" in f.path_str for f in item.counted)
    ops = plan_correction(desired, live, item)
    writes = [op for op in ops if op.op in ("replace", "add")]
    assert writes, ops
    patched = copy.deepcopy(live)
    for op in writes:
        parts = op.path.strip("/").split("/")
        target = patched
        for part in parts[:-1]:
            target = target[int(part)] if isinstance(target, list) else target[part]
        last = parts[-1]
        if isinstance(target, list):
            target[int(last)] = op.value
        else:
            target[last] = op.value
    f = item.counted[0]
    assert get_path(patched, f.path) == (True, 8080)
    assert json_pointer(f.path, live)
