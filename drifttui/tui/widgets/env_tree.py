"""The environment chain as a tree: base → dev → staging → prod, each with its units.

Each environment shows its unit count and a drift badge; each unit its head revision and
its drift. Selecting an environment narrows the drift list to it; with a unit highlighted,
``P`` promotes and ``R`` rolls back that unit (also when it has no drift).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode


@dataclass(frozen=True, slots=True)
class ChainNode:
    """What a tree node stands for: the chain, one space (an environment or base), or one
    unit of a space."""

    kind: str  # "chain" | "space" | "unit"
    space: str
    environment: str | None = None  # None for base (not watched)
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class ChainSpace:
    name: str
    space: str
    environment: str | None
    upstream: str | None = None
    accent: str | None = None


class EnvTree(Tree[ChainNode]):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"env-tree--ok", "env-tree--drift", "env-tree--muted"}

    DEFAULT_CSS = """
    EnvTree {
        & > .env-tree--ok { color: $success; }
        & > .env-tree--drift { color: $warning; text-style: bold; }
        & > .env-tree--muted { color: $text-muted; }
    }
    """

    def __init__(self, label: str, *, id: str | None = None) -> None:
        super().__init__(label, ChainNode("chain", ""), id=id)
        self.guide_depth = 2
        self.show_root = True
        self._spaces: dict[str, TreeNode[ChainNode]] = {}
        self._units: dict[tuple[str, str], TreeNode[ChainNode]] = {}
        self._info: dict[str, ChainSpace] = {}
        self._unit_counts: dict[str, int] = {}
        self._drift: dict[str, int] = {}
        self._unit_drift: dict[tuple[str, str], int] = {}
        self._heads: dict[tuple[str, str], int] = {}

    # ----------------------------------------------------------------- structure

    @property
    def spaces(self) -> tuple[ChainSpace, ...]:
        return tuple(self._info.values())

    def set_chain(self, spaces: Sequence[ChainSpace]) -> None:
        """Build the chain in order (base first, each space after its upstream); a space's
        units are its children, folded until the operator opens it."""
        self.clear()
        self._spaces.clear()
        self._units.clear()
        self._info = {s.space: s for s in spaces}
        for s in spaces:
            node = self.root.add(
                self._space_label(s), ChainNode("space", s.space, s.environment), expand=False
            )
            self._spaces[s.space] = node
        self.root.expand()

    def set_units(self, units: Mapping[str, Sequence[tuple[str, int]]]) -> None:
        """Units per space: (slug, head revision). Children are kept in slug order."""
        for space, slugs in units.items():
            node = self._spaces.get(space)
            if node is None:
                continue
            self._unit_counts[space] = len(slugs)
            info = self._info[space]
            wanted = sorted(slugs)
            have = [n for n in node.children if n.data is not None and n.data.kind == "unit"]
            if [n.data.unit for n in have if n.data] != [u for u, _ in wanted]:
                for child in list(node.children):
                    child.remove()
                for key in [k for k in self._units if k[0] == space]:
                    del self._units[key]
                for slug, head in wanted:
                    self._heads[(space, slug)] = head
                    self._units[(space, slug)] = node.add_leaf(
                        self._unit_label(space, slug),
                        ChainNode("unit", space, info.environment, slug),
                    )
            else:
                for slug, head in wanted:
                    self._heads[(space, slug)] = head
                    self._relabel(self._units[(space, slug)], self._unit_label(space, slug))
            self._relabel(node, self._space_label(info))

    def set_drift(
        self, by_space: Mapping[str, int], by_unit: Mapping[tuple[str, str], int]
    ) -> None:
        """Drifted resources per space and per (space, unit); relabels what changed."""
        for space, node in self._spaces.items():
            n = by_space.get(space, 0)
            if self._drift.get(space) != n:
                self._drift[space] = n
                self._relabel(node, self._space_label(self._info[space]))
        for key, node in self._units.items():
            n = by_unit.get(key, 0)
            if self._unit_drift.get(key, 0) != n or key not in self._unit_drift:
                self._unit_drift[key] = n
                self._relabel(node, self._unit_label(*key))

    @staticmethod
    def _relabel(node: TreeNode[ChainNode], label: Text) -> None:
        if node.label != label:
            node.set_label(label)

    # ----------------------------------------------------------------- labels

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def _space_label(self, s: ChainSpace) -> Text:
        text = Text("→ " if s.upstream else "")
        style = Style()
        if s.accent:
            try:
                style = Style.parse(s.accent)
            except Exception:
                style = Style()
        text.append(s.name, style + Style(bold=True))
        count = self._unit_counts.get(s.space)
        if count is not None:
            text.append(f" {count}u", self._style("env-tree--muted"))
        if s.environment is None:
            text.append(" (base)", self._style("env-tree--muted"))
            return text
        drift = self._drift.get(s.space, 0)
        if drift:
            text.append(f" ⚠{drift}", self._style("env-tree--drift"))
        else:
            text.append(" ✓", self._style("env-tree--ok"))
        return text

    def _unit_label(self, space: str, unit: str) -> Text:
        text = Text(unit)
        head = self._heads.get((space, unit))
        if head is not None:
            text.append(f" r{head}", self._style("env-tree--muted"))
        if self._info.get(space) is not None and self._info[space].environment is not None:
            drift = self._unit_drift.get((space, unit), 0)
            if drift:
                text.append(f" ⚠{drift}", self._style("env-tree--drift"))
        return text

    # ----------------------------------------------------------------- selection

    @property
    def highlighted(self) -> ChainNode | None:
        node = self.cursor_node
        return node.data if node is not None else None

    def select_unit(self, space: str, unit: str) -> bool:
        node = self._units.get((space, unit))
        if node is None:
            return False
        self.move_cursor(node)
        return True
