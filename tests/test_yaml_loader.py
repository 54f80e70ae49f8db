"""The fast safe loader gives exactly PyYAML's values, for the scalars YAML 1.1 reads in
surprising ways too, whatever was loaded before (its tag table is shared)."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from drifttui.engine import parse_unit_object
from drifttui.manifests_io import parse_manifests
from drifttui.yaml_loader import safe_loader

PYYAML = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

TRICKY = [
    "yes", "No", "on", "OFF", "y", "true", "False", "~", "null", "", "0", "-1", "012", "0x1F",
    "0o17", "1_000", "1e3", "6.02e+23", ".inf", "-.Inf", ".nan", "1:30", "2026-11-25",
    "2026-11-25T10:00:00Z", "0.5Gi", "250m", "v1.2.3", "1.0", "-x", "'quoted'",
]  # fmt: skip


def test_tricky_scalars_load_as_pyyaml_loads_them_plain_quoted_and_as_keys() -> None:
    lines = []
    for i, s in enumerate(TRICKY):
        lines.append(f"plain{i}: {s}")
        lines.append(f"quoted{i}: '{s}'" if "'" not in s else f'quoted{i}: "{s}"')
        lines.append(f"tagged{i}: !!str {s}")
    lines.append("keys: {yes: 1, 'no': 2, 3: three, null: nothing}")
    lines.append("base: &b {a: 1, b: 2}")
    lines.append("merged: {<<: *b, b: 3}")
    text = "\n".join(lines)
    ours = yaml.load(text, Loader=safe_loader())
    assert ours == yaml.load(text, Loader=PYYAML)
    assert ours["plain0"] is True  # YAML 1.1 `yes`, as PyYAML reads it
    assert ours["quoted0"] == "yes"
    assert ours["merged"] == {"a": 1, "b": 3}


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(TRICKY),
            st.text(alphabet="abcyesnoYESNO0123456789.-_:e+x ", min_size=1, max_size=8),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_any_scalars_load_as_pyyaml_loads_them(values: list[str]) -> None:
    doc = {f"k{i}": v for i, v in enumerate(values)}
    # the same scalars written plain where YAML allows it (safe_dump quotes when it must)
    text = "\n".join(f"{k}: {v}" for k, v in doc.items() if v.strip() == v and ": " not in v)
    text += "\n" + yaml.safe_dump(doc)
    try:
        expected = list(yaml.load_all(text, Loader=PYYAML))
    except yaml.YAMLError:
        return  # not YAML: the loaders' errors are PyYAML's own
    assert list(yaml.load_all(text, Loader=safe_loader())) == expected


def test_manifests_and_unit_data_read_yes_as_pyyaml_does() -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: flags}\n"
        "data: {ENABLED: 'yes', RETRIES: '3'}\nimmutable: yes\n"
    )
    (manifest,) = parse_manifests(text, "flags.yaml")
    assert manifest.obj["data"] == {"ENABLED": "yes", "RETRIES": "3"}
    assert manifest.obj["immutable"] is True
    assert parse_unit_object(text, "flags", "dev") == manifest.obj


def test_a_list_as_a_mapping_key_is_one_clear_error_everywhere_yaml_is_read() -> None:
    from drifttui.errors import DrifttuiError
    from drifttui.hub.documents import parse_manifest

    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {[a]: 1}\n"
    readers = (
        lambda: parse_manifest(text, "dev/x"),  # the hub validating a unit on write
        lambda: parse_unit_object(text, "x", "dev"),  # the engine reading desired state
        lambda: parse_manifests(text, "x.yaml"),  # drifttui diff / import
    )
    for read in readers:
        with pytest.raises(DrifttuiError) as err:
            read()
        assert "line 4" in str(err.value)
        assert "\n" not in str(err.value)
