"""The embedded hub: ConfigHub's semantics on one SQLite file.

Used when no ConfigHub URL/token is configured, by ``drifttui hub serve`` (which shares it
over the real API's paths) and by the tests. The semantics are confighub-api.md section 5:

- every data change is a numbered revision with its description, source and author;
  identical data writes no revision;
- restore writes a *new* head revision carrying the old data;
- clone copies the upstream head and records UpstreamUnitID / UpstreamRevisionNum;
- upgrade is the path-level three-way merge of :mod:`drifttui.hub.merge`: downstream local
  edits survive, paths changed on both sides are kept and recorded as conflicts;
- bulk patch (push-upgrade) and bulk path setting are one transaction over every unit the
  where-clause selects;
- sets are a label plus a saved Filter (:func:`drifttui.hub.documents.set_label`);
- every mutation is in the audit table (who, what, when, which units).

Concurrency: WAL mode, one connection per thread, every write a ``BEGIN IMMEDIATE``
transaction that re-reads what it changes, so a TUI and a headless watcher sharing the file
never lose a write; a stale ``if_match``/``version`` is a ConflictError, not an overwrite.
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drifttui.errors import ConflictError, HubError, NotFoundError
from drifttui.hub import documents as docs
from drifttui.hub.merge import three_way_merge
from drifttui.hub.protocol import (
    AuditEntry,
    BulkResult,
    ChangeSet,
    Filter,
    Labels,
    Revision,
    SetInfo,
    SetsByLabel,
    Space,
    Unit,
    UnitResult,
    check_label_patch,
    set_info,
    set_members,
    set_paths_description,
)
from drifttui.hub.where import AttrRef, Where, evaluate, parse_where

SCHEMA_VERSION = 1
APPLIED_ANNOTATION = "drifttui.applied-revision"
"""The annotation holding the revision last applied to the cluster (G2 has no apply)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS spaces (
  id TEXT PRIMARY KEY, slug TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL DEFAULT '',
  labels TEXT NOT NULL DEFAULT '{}', annotations TEXT NOT NULL DEFAULT '{}',
  version INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units (
  id TEXT PRIMARY KEY, space_id TEXT NOT NULL REFERENCES spaces(id), slug TEXT NOT NULL,
  display_name TEXT NOT NULL DEFAULT '', labels TEXT NOT NULL DEFAULT '{}',
  annotations TEXT NOT NULL DEFAULT '{}', version INTEGER NOT NULL DEFAULT 1,
  head_revision INTEGER NOT NULL, head_revision_id TEXT NOT NULL,
  data TEXT NOT NULL, data_hash TEXT NOT NULL,
  upstream_unit_id TEXT, upstream_space_id TEXT, upstream_revision INTEGER NOT NULL DEFAULT 0,
  last_change_description TEXT NOT NULL DEFAULT '',
  toolchain_type TEXT NOT NULL DEFAULT 'Kubernetes/YAML', changeset_id TEXT,
  conflicts TEXT NOT NULL DEFAULT '[]', created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  parsed_json TEXT, parsed_hash TEXT,
  UNIQUE (space_id, slug));
CREATE INDEX IF NOT EXISTS units_upstream ON units(upstream_unit_id);
CREATE TABLE IF NOT EXISTS revisions (
  id TEXT PRIMARY KEY, unit_id TEXT NOT NULL, space_id TEXT NOT NULL, num INTEGER NOT NULL,
  description TEXT NOT NULL DEFAULT '', source TEXT NOT NULL, author TEXT NOT NULL,
  user_agent TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, data TEXT NOT NULL,
  data_hash TEXT NOT NULL, restored_from INTEGER, upstream_revision INTEGER,
  changeset_id TEXT, UNIQUE (unit_id, num));
CREATE INDEX IF NOT EXISTS revisions_changeset ON revisions(changeset_id);
CREATE TABLE IF NOT EXISTS filters (
  id TEXT PRIMARY KEY, space_id TEXT NOT NULL, slug TEXT NOT NULL, from_ TEXT NOT NULL,
  where_ TEXT NOT NULL, labels TEXT NOT NULL DEFAULT '{}', display_name TEXT NOT NULL DEFAULT '',
  version INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL, UNIQUE (space_id, slug));
CREATE TABLE IF NOT EXISTS changesets (
  id TEXT PRIMARY KEY, space_id TEXT NOT NULL, slug TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '', labels TEXT NOT NULL DEFAULT '{}',
  version INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL, UNIQUE (space_id, slug));
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, author TEXT NOT NULL,
  action TEXT NOT NULL, description TEXT NOT NULL DEFAULT '', units TEXT NOT NULL DEFAULT '[]',
  spaces TEXT NOT NULL DEFAULT '[]', changeset_id TEXT);
"""

Row = dict[str, Any]


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode_continue(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_continue(token: str) -> str:
    try:
        pad = "=" * (-len(token) % 4)
        return base64.urlsafe_b64decode(token + pad).decode()
    except (ValueError, UnicodeDecodeError):
        raise HubError("invalid continue token", "continue", status=400) from None


def _create_private(path: Path) -> None:
    """Create a new hub file readable by its owner only (0600): units hold Secret data. An
    empty file is an empty SQLite database, and SQLite gives the ``-wal`` and ``-shm`` files
    the database file's mode. An existing file keeps the mode its owner chose."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # sqlite3.connect reports the problem in its own words
    os.close(fd)


class SqliteHub(SetsByLabel):
    """The embedded hub on a SQLite file (created with its parent directories)."""

    def __init__(
        self,
        path: Path | str,
        *,
        author: str | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.path = Path(path).expanduser()
        self._author = author or _default_author()
        self._clock = clock
        self._local = threading.local()
        self._conns: list[tuple[threading.Thread, sqlite3.Connection]] = []
        """Every open connection with the thread that owns it (one per thread)."""
        self._conns_lock = threading.Lock()
        self._generation = 0
        """Bumped by :meth:`close`: a connection of an older generation is closed by its own
        thread at its next use, and a fresh one opened."""
        self._parsed: dict[str | None, _StoredDocuments] = {}
        """space ID (None: every space) -> the parsed documents of the units it listed last
        with their data (see :meth:`stored_document`)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HubError(
                f"cannot create the hub directory ({exc.strerror})",
                str(self.path.parent),
                "set DRIFTTUI_HUB or --hub to a writable path",
            ) from None
        _create_private(self.path)
        with self._tx() as c:
            for stmt in _SCHEMA.strip().split(";"):
                if stmt.strip():
                    c.execute(stmt)
            if "parsed_hash" not in {r[1] for r in c.execute("PRAGMA table_info(units)")}:
                for col in _PARSED_COLUMNS:  # a hub file made before they were added
                    c.execute(f"ALTER TABLE units ADD COLUMN {col} TEXT")
            row = c.execute("SELECT value FROM meta WHERE key='organization_id'").fetchone()
            if row is None:
                c.execute(
                    "INSERT INTO meta VALUES ('organization_id', ?), ('schema_version', ?)",
                    (str(uuid.uuid4()), str(SCHEMA_VERSION)),
                )
        self.organization_id = str(
            self._conn().execute("SELECT value FROM meta WHERE key='organization_id'").fetchone()[0]
        )

    # ------------------------------------------------------------------ plumbing

    @property
    def name(self) -> str:
        return f"embedded hub {self.path}"

    def __repr__(self) -> str:
        return f"SqliteHub({str(self.path)!r})"

    def close(self) -> None:
        """Close this thread's connection and those of threads that have ended. A connection
        another thread still owns is never closed under it (it may be in a statement: SQLite
        connections are not safe to close from another thread, and CPython can crash); that
        thread closes it at its next use, or the process at exit."""
        me = threading.current_thread()
        with self._conns_lock:
            self._generation += 1
            kept = []
            for owner, c in self._conns:
                if owner is me or not owner.is_alive():
                    with contextlib.suppress(sqlite3.Error):
                        c.close()
                else:
                    kept.append((owner, c))
            self._conns = kept
        self._local.conn = None

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.generation != self._generation:
            self._forget(conn)  # the hub was closed since: this thread closes its own
            conn = None
        if conn is None:
            try:
                conn = sqlite3.connect(
                    str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False
                )
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA busy_timeout=30000")
            except sqlite3.Error as exc:
                raise HubError(
                    f"cannot open the hub database ({exc})",
                    str(self.path),
                    "check the path (DRIFTTUI_HUB / --hub) and its permissions",
                ) from None
            with self._conns_lock:
                self._local.conn, self._local.generation = conn, self._generation
                self._conns.append((threading.current_thread(), conn))
        return conn

    def _forget(self, conn: sqlite3.Connection) -> None:
        with self._conns_lock:
            self._conns = [(o, c) for o, c in self._conns if c is not conn]
        with contextlib.suppress(sqlite3.Error):
            conn.close()
        self._local.conn = None

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        c = self._conn()
        try:
            c.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise HubError(
                f"hub database is busy ({exc})",
                str(self.path),
                "another drifttui process holds a long write; retry",
                status=503,
            ) from None
        try:
            yield c
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                c.execute("ROLLBACK")
            raise
        else:
            c.execute("COMMIT")

    @contextlib.contextmanager
    def acting_as(self, author: str, user_agent: str = "") -> Iterator[None]:
        """Record writes made in this block (this thread) under ``author``."""
        prev = getattr(self._local, "actor", None)
        self._local.actor = (author, user_agent)
        try:
            yield
        finally:
            self._local.actor = prev

    def _actor(self) -> tuple[str, str]:
        actor: tuple[str, str] | None = getattr(self._local, "actor", None)
        return actor or (self._author, "drifttui")

    def _ts(self) -> str:
        return _iso(self._clock())

    def _audit(
        self,
        c: sqlite3.Connection,
        action: str,
        description: str,
        units: Sequence[str] = (),
        spaces: Sequence[str] = (),
        changeset_id: str | None = None,
    ) -> None:
        c.execute(
            "INSERT INTO audit (at, author, action, description, units, spaces, changeset_id)"
            " VALUES (?,?,?,?,?,?,?)",
            (
                self._ts(),
                self._actor()[0],
                action,
                description,
                json.dumps(list(units)),
                json.dumps(sorted(set(spaces))),
                changeset_id,
            ),
        )

    # ------------------------------------------------------------------ rows

    def _space_row(self, c: sqlite3.Connection, space: str) -> Row:
        r = c.execute("SELECT * FROM spaces WHERE slug = ?", (space,)).fetchone()
        if r is None:
            raise NotFoundError(
                f"no space {space!r}", None, "list spaces with: drifttui hub spaces"
            )
        return dict(r)

    def space_row_by_id(self, space_id: str) -> Row:
        r = self._conn().execute("SELECT * FROM spaces WHERE id = ?", (space_id,)).fetchone()
        if r is None:
            raise NotFoundError(f"no space with ID {space_id}")
        return dict(r)

    _UNIT_SELECT = (
        "SELECT u.*, s.slug AS space_slug, up.head_revision AS upstream_head,"
        " length(CAST(u.data AS BLOB)) AS data_size "
        "FROM units u JOIN spaces s ON s.id = u.space_id "
        "LEFT JOIN units up ON up.id = u.upstream_unit_id "
    )

    def _unit_row(self, c: sqlite3.Connection, space: str, unit: str) -> Row:
        sp = self._space_row(c, space)
        r = c.execute(self._UNIT_SELECT + "WHERE u.space_id = ? AND u.slug = ?", (sp["id"], unit))
        row = r.fetchone()
        if row is None:
            raise NotFoundError(
                f"no unit {unit!r} in space {space!r}",
                None,
                f"list units with: drifttui hub units --space {space}",
            )
        return dict(row)

    def unit_row_by_id(self, space_id: str, unit_id: str) -> Row:
        row = (
            self._conn()
            .execute(self._UNIT_SELECT + "WHERE u.space_id = ? AND u.id = ?", (space_id, unit_id))
            .fetchone()
        )
        if row is None:
            raise NotFoundError(f"no unit with ID {unit_id} in space {space_id}")
        return dict(row)

    def unit_row(self, space: str, unit: str) -> Row:
        return self._unit_row(self._conn(), space, unit)

    def space_row(self, space: str) -> Row:
        return self._space_row(self._conn(), space)

    @staticmethod
    def _labels(row: Row, col: str = "labels") -> dict[str, str]:
        text = row.get(col)
        if not text or text == "{}":  # most units: no JSON parse for nothing
            return {}
        return dict(json.loads(text))

    def _to_space(self, row: Row, unit_count: int = 0) -> Space:
        return Space(
            slug=row["slug"],
            id=row["id"],
            labels=self._labels(row),
            display_name=row["display_name"],
            unit_count=unit_count,
            created_at=row["created_at"],
        )

    def _to_unit(self, row: Row, with_data: bool = True) -> Unit:
        ann = self._labels(row, "annotations")
        try:
            applied = int(ann.get(APPLIED_ANNOTATION, "0"))
        except ValueError:
            applied = 0
        return Unit(
            slug=row["slug"],
            id=row["id"],
            space=row["space_slug"],
            space_id=row["space_id"],
            head_revision=row["head_revision"],
            data=row["data"] if with_data else "",
            data_hash=row["data_hash"],
            labels=self._labels(row),
            version=row["version"],
            upstream_unit_id=row["upstream_unit_id"],
            upstream_space_id=row["upstream_space_id"],
            upstream_revision=row["upstream_revision"],
            upstream_head_revision=row.get("upstream_head"),
            applied_revision=applied,
            last_change_description=row["last_change_description"],
            toolchain_type=row["toolchain_type"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            conflicts=_conflicts(row["conflicts"]),
        )

    def _to_revision(self, row: Row) -> Revision:
        return Revision(
            num=row["num"],
            id=row["id"],
            description=row["description"],
            source=row["source"],
            author=row["author"],
            created_at=row["created_at"],
            data_hash=row["data_hash"],
            restored_from=row["restored_from"],
            changeset_id=row["changeset_id"],
        )

    # ------------------------------------------------------------------ where evaluation

    def _lookup_for(self, c: sqlite3.Connection) -> Callable[[Row], Callable[[AttrRef], Any]]:
        spaces: dict[str, Row] = {
            r["id"]: dict(r) for r in c.execute("SELECT * FROM spaces").fetchall()
        }
        upstreams: dict[str, Row | None] = {}

        def upstream(uid: str | None) -> Row | None:
            if not uid:
                return None
            if uid not in upstreams:
                r = c.execute(
                    "SELECT * FROM units WHERE id = ?",
                    (uid,),
                ).fetchone()
                upstreams[uid] = dict(r) if r else None
            return upstreams[uid]

        def make(row: Row) -> Callable[[AttrRef], Any]:
            def lookup(ref: AttrRef) -> Any:
                rel = ref.relation
                if rel is None:
                    return unit_attr(row, ref.name)
                if rel == "Space":
                    return space_attr(spaces.get(row["space_id"]), ref.name)
                if rel == "UpstreamUnit":
                    up = upstream(row["upstream_unit_id"])
                    return unit_attr(up, ref.name) if up else None
                if rel == "UpstreamSpace":
                    return space_attr(spaces.get(row["upstream_space_id"] or ""), ref.name)
                return None

            return lookup

        def unit_attr(r: Row | None, name: str) -> Any:
            if r is None:
                return None
            return _unit_attribute(r, name, self.organization_id)

        def space_attr(r: Row | None, name: str) -> Any:
            if r is None:
                return None
            return _space_attribute(r, name, self.organization_id)

        return make

    def select_unit_rows(
        self,
        where: str | Where | None,
        *,
        space_id: str | None = None,
        with_data: bool = False,
        after_id: str | None = None,
        limit: int | None = None,
        conn: sqlite3.Connection | None = None,
        ordered: bool = True,
    ) -> list[Row]:
        """Unit rows matching ``where`` ordered by ID (the paging order of the real API);
        ``ordered=False``: in no particular order (a caller that sorts them itself)."""
        c = conn or self._conn()
        parsed = where if isinstance(where, Where) else parse_where(where or "", "Unit")
        cols = "u.*" if with_data else _UNIT_COLS_NO_DATA
        sql = (
            f"SELECT {cols}, s.slug AS space_slug, up.head_revision AS upstream_head,"
            " length(CAST(u.data AS BLOB)) AS data_size "
            "FROM units u JOIN spaces s ON s.id = u.space_id "
            "LEFT JOIN units up ON up.id = u.upstream_unit_id WHERE 1=1"
        )
        args: list[Any] = []
        if space_id:
            sql += " AND u.space_id = ?"
            args.append(space_id)
        for attr, col in (("Slug", "u.slug"), ("UpstreamUnitID", "u.upstream_unit_id")):
            eq = parsed.equality(attr)
            if eq is not None:
                sql += f" AND {col} = ?"
                args.append(eq)
        eq_space = parsed.equality("SpaceID")
        if eq_space is not None:
            sql += " AND u.space_id = ?"
            args.append(eq_space)
        if after_id:
            sql += " AND u.id > ?"
            args.append(after_id)
        if ordered or limit:
            sql += " ORDER BY u.id"
        cur = c.cursor()
        cur.row_factory = None  # plain tuples: a dict per row is built here, 3x faster
        cur.execute(sql, args)
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        if not parsed.clauses:
            return rows[:limit] if limit else rows
        make = self._lookup_for(c)
        out: list[Row] = []
        for r in rows:
            if evaluate(parsed, make(r)):
                out.append(r)
                if limit and len(out) >= limit:
                    break
        return out

    # ------------------------------------------------------------------ spaces

    def list_spaces(self, where: str | None = None) -> list[Space]:
        c = self._conn()
        parsed = parse_where(where or "", "Space")
        counts = dict(
            c.execute("SELECT space_id, COUNT(*) FROM units GROUP BY space_id").fetchall()
        )
        out = []
        for r in c.execute("SELECT * FROM spaces ORDER BY slug").fetchall():
            row = dict(r)
            if parsed.clauses and not evaluate(parsed, self._space_lookup(row)):
                continue
            out.append(self._to_space(row, counts.get(row["id"], 0)))
        return out

    def _space_lookup(self, row: Row) -> Callable[[AttrRef], Any]:
        def lookup(ref: AttrRef) -> Any:
            if ref.relation is None:
                return _space_attribute(row, ref.name, self.organization_id)
            return None

        return lookup

    def get_space(self, space: str) -> Space:
        c = self._conn()
        row = self._space_row(c, space)
        n = c.execute("SELECT COUNT(*) FROM units WHERE space_id = ?", (row["id"],)).fetchone()[0]
        return self._to_space(row, n)

    def create_space(
        self, slug: str, labels: Labels | None = None, display_name: str = ""
    ) -> Space:
        docs.check_slug(slug, "space slug")
        lab = docs.check_labels(labels)
        with self._tx() as c:
            if c.execute("SELECT 1 FROM spaces WHERE slug = ?", (slug,)).fetchone():
                raise ConflictError(f"space {slug!r} already exists")
            now = self._ts()
            sid = str(uuid.uuid4())
            c.execute(
                "INSERT INTO spaces (id, slug, display_name, labels, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?)",
                (sid, slug, display_name, json.dumps(lab), now, now),
            )
            self._audit(c, "CreateSpace", f"space {slug}", spaces=[slug])
            return self._to_space(self._space_row(c, slug))

    def update_space_labels(self, space: str, labels: Mapping[str, str | None]) -> Space:
        with self._tx() as c:
            row = self._space_row(c, space)
            lab = self._labels(row)
            for k, v in labels.items():
                if v is None:
                    lab.pop(k, None)
                else:
                    lab[k] = v
            docs.check_labels(lab)
            c.execute(
                "UPDATE spaces SET labels = ?, version = version + 1, updated_at = ? WHERE id = ?",
                (json.dumps(lab), self._ts(), row["id"]),
            )
            self._audit(c, "UpdateSpace", f"labels of space {space}", spaces=[space])
            return self._to_space(self._space_row(c, space))

    # ------------------------------------------------------------------ units: reading

    def list_units(
        self, space: str | None, where: str | None = None, *, with_data: bool = False
    ) -> list[Unit]:
        c = self._conn()
        space_id = self._space_row(c, space)["id"] if space else None
        # sorted below: no ORDER BY (a sort of thousands of wide rows in SQLite)
        rows = self.select_unit_rows(
            where, space_id=space_id, with_data=with_data, conn=c, ordered=False
        )
        if with_data and not where:
            self._parsed[space_id] = _StoredDocuments(
                {
                    r["data_hash"]: r["parsed_json"]
                    for r in rows
                    if r["parsed_json"] is not None and r["parsed_hash"] == r["data_hash"]
                }
            )
        units = [self._to_unit(r, with_data) for r in rows]
        units.sort(key=lambda u: (u.space, u.slug))
        return units

    def stored_document(self, digest: str) -> dict[str, Any] | None:
        """The object parsed from the unit data whose SHA-256 is ``digest``, when this hub
        kept it (writes that validate the YAML keep it) and a listing with data has just
        read it; None otherwise. What the document cache asks first: the engine then parses
        no YAML for a space it reads, on any machine, the first time too. Each is handed
        out once, as a fresh object the caller owns."""
        for found in list(self._parsed.values()):
            obj = found.take(digest)
            if obj is not None:
                return obj
        return None

    def get_unit(self, space: str, unit: str) -> Unit:
        return self._to_unit(self._unit_row(self._conn(), space, unit))

    def get_unit_data(self, space: str, unit: str, revision: int | None = None) -> str:
        c = self._conn()
        row = self._unit_row(c, space, unit)
        if revision is None or revision == row["head_revision"]:
            return str(row["data"])
        data = self._revision_data(c, row["id"], revision)
        if data is None:
            raise NotFoundError(
                f"unit {space}/{unit} has no revision {revision} (head is {row['head_revision']})"
            )
        return data

    @staticmethod
    def _revision_data(c: sqlite3.Connection, unit_id: str, num: int) -> str | None:
        r = c.execute(
            "SELECT data FROM revisions WHERE unit_id = ? AND num = ?", (unit_id, num)
        ).fetchone()
        return None if r is None else str(r[0])

    def list_revisions(self, space: str, unit: str) -> list[Revision]:
        c = self._conn()
        row = self._unit_row(c, space, unit)
        rows = c.execute(
            "SELECT * FROM revisions WHERE unit_id = ? ORDER BY num", (row["id"],)
        ).fetchall()
        return [self._to_revision(dict(r)) for r in rows]

    def revision_rows(self, unit_id: str) -> list[Row]:
        rows = (
            self._conn()
            .execute("SELECT * FROM revisions WHERE unit_id = ? ORDER BY num", (unit_id,))
            .fetchall()
        )
        return [dict(r) for r in rows]

    def list_downstream(self, space: str, unit: str) -> list[Unit]:
        c = self._conn()
        row = self._unit_row(c, space, unit)
        rows = c.execute(
            self._UNIT_SELECT + "WHERE u.upstream_unit_id = ? ORDER BY s.slug, u.slug",
            (row["id"],),
        ).fetchall()
        return [self._to_unit(dict(r), False) for r in rows]

    # ------------------------------------------------------------------ units: writing

    def _insert_revision(
        self,
        c: sqlite3.Connection,
        unit_row: Row,
        num: int,
        data: str,
        description: str,
        source: str,
        *,
        restored_from: int | None = None,
        upstream_revision: int | None = None,
        changeset_id: str | None = None,
    ) -> str:
        rid = str(uuid.uuid4())
        author, agent = self._actor()
        c.execute(
            "INSERT INTO revisions (id, unit_id, space_id, num, description, source, author,"
            " user_agent, created_at, data, data_hash, restored_from, upstream_revision,"
            " changeset_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                rid,
                unit_row["id"],
                unit_row["space_id"],
                num,
                description,
                source,
                author,
                agent,
                self._ts(),
                data,
                docs.data_hash(data),
                restored_from,
                upstream_revision,
                changeset_id,
            ),
        )
        return rid

    def _new_unit(
        self,
        c: sqlite3.Connection,
        space_row: Row,
        slug: str,
        data: str,
        labels: Mapping[str, str],
        description: str,
        source: str,
        *,
        upstream: Row | None = None,
        changeset_id: str | None = None,
        parsed: str | None = None,
    ) -> Row:
        """``parsed``: the JSON of the object parsed from ``data`` (``docs.document_json``),
        kept beside it so that readers need not parse the YAML."""
        if c.execute(
            "SELECT 1 FROM units WHERE space_id = ? AND slug = ?", (space_row["id"], slug)
        ).fetchone():
            raise ConflictError(f"unit {slug!r} already exists in space {space_row['slug']!r}")
        now = self._ts()
        uid = str(uuid.uuid4())
        row: Row = {
            "id": uid,
            "space_id": space_row["id"],
            "slug": slug,
            "labels": json.dumps(dict(labels)),
            "head_revision": 1,
            "data": data,
            "data_hash": docs.data_hash(data),
            "upstream_unit_id": upstream["id"] if upstream else None,
            "upstream_space_id": upstream["space_id"] if upstream else None,
            "upstream_revision": upstream["head_revision"] if upstream else 0,
            "last_change_description": description,
            "changeset_id": changeset_id,
            "created_at": now,
            "updated_at": now,
        }
        rid = self._insert_revision(
            c,
            row,
            1,
            data,
            description,
            source,
            upstream_revision=row["upstream_revision"] or None,
            changeset_id=changeset_id,
        )
        c.execute(
            "INSERT INTO units (id, space_id, slug, labels, head_revision, head_revision_id,"
            " data, data_hash, upstream_unit_id, upstream_space_id, upstream_revision,"
            " last_change_description, created_at, updated_at, parsed_json, parsed_hash)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                uid,
                row["space_id"],
                slug,
                row["labels"],
                1,
                rid,
                data,
                row["data_hash"],
                row["upstream_unit_id"],
                row["upstream_space_id"],
                row["upstream_revision"],
                description,
                now,
                now,
                parsed,
                row["data_hash"] if parsed is not None else None,
            ),
        )
        return row

    def create_unit(
        self,
        space: str,
        slug: str,
        data: str,
        *,
        labels: Labels | None = None,
        description: str = "",
    ) -> Unit:
        docs.check_slug(slug, "unit slug")
        lab = docs.check_labels(labels)
        parsed = docs.document_json(docs.parse_manifest(data, f"{space}/{slug}"))
        with self._tx() as c:
            sp = self._space_row(c, space)
            self._new_unit(c, sp, slug, data, lab, description, "CreateUnit", parsed=parsed)
            self._audit(c, "CreateUnit", description, [f"{space}/{slug}"], [space])
            return self._to_unit(self._unit_row(c, space, slug))

    def create_units(
        self,
        space: str,
        items: Sequence[tuple[str, str, Mapping[str, str]]],
        description: str = "",
    ) -> int:
        """Bulk insert (slug, data, labels) in one transaction; the fast path for seeding
        large hubs (tests, benchmarks, imports of many objects)."""
        parsed = []
        for slug, data, labels in items:
            docs.check_slug(slug, "unit slug")
            docs.check_labels(labels)
            parsed.append(docs.document_json(docs.parse_manifest(data, f"{space}/{slug}")))
        with self._tx() as c:
            sp = self._space_row(c, space)
            for (slug, data, labels), text in zip(items, parsed, strict=True):
                self._new_unit(c, sp, slug, data, labels, description, "CreateUnit", parsed=text)
            self._audit(
                c, "CreateUnit", description, [f"{space}/{s}" for s, _, _ in items], [space]
            )
        return len(items)

    def _write_data(
        self,
        c: sqlite3.Connection,
        row: Row,
        data: str,
        description: str,
        source: str,
        *,
        restored_from: int | None = None,
        upstream_revision: int | None = None,
        changeset_id: str | None = None,
        conflicts: Sequence[str] | None = None,
        parsed: str | None = None,
    ) -> int | None:
        """New head revision with ``data`` unless identical; returns its number. ``parsed``:
        as for :meth:`_new_unit` (None: readers parse this data themselves)."""
        new_hash = docs.data_hash(data)
        now = self._ts()
        if new_hash == row["data_hash"]:
            if upstream_revision is not None or conflicts is not None:
                c.execute(
                    "UPDATE units SET upstream_revision = COALESCE(?, upstream_revision),"
                    " conflicts = COALESCE(?, conflicts), version = version + 1, updated_at = ?"
                    " WHERE id = ?",
                    (
                        upstream_revision,
                        json.dumps(list(conflicts)) if conflicts is not None else None,
                        now,
                        row["id"],
                    ),
                )
            return None
        num = int(row["head_revision"]) + 1
        rid = self._insert_revision(
            c,
            row,
            num,
            data,
            description,
            source,
            restored_from=restored_from,
            upstream_revision=upstream_revision,
            changeset_id=changeset_id,
        )
        c.execute(
            "UPDATE units SET data = ?, data_hash = ?, head_revision = ?, head_revision_id = ?,"
            " last_change_description = ?, version = version + 1, updated_at = ?,"
            " upstream_revision = COALESCE(?, upstream_revision),"
            " conflicts = COALESCE(?, conflicts), parsed_json = ?, parsed_hash = ? WHERE id = ?",
            (
                data,
                new_hash,
                num,
                rid,
                description,
                now,
                upstream_revision,
                json.dumps(list(conflicts)) if conflicts is not None else None,
                parsed,
                new_hash if parsed is not None else None,
                row["id"],
            ),
        )
        return num

    def update_unit_data(
        self,
        space: str,
        unit: str,
        data: str,
        description: str,
        *,
        if_match: str | None = None,
        changeset_id: str | None = None,
    ) -> Unit:
        parsed = docs.document_json(docs.parse_manifest(data, f"{space}/{unit}"))
        with self._tx() as c:
            row = self._unit_row(c, space, unit)
            if if_match is not None and if_match != row["data_hash"]:
                raise ConflictError(
                    f"unit {space}/{unit} changed since read (now revision {row['head_revision']})",
                    None,
                    "read it again and reapply the change",
                )
            num = self._write_data(
                c, row, data, description, "Update", changeset_id=changeset_id, parsed=parsed
            )
            if num is not None:
                self._audit(
                    c, "UpdateUnit", description, [f"{space}/{unit}"], [space], changeset_id
                )
            return self._to_unit(self._unit_row(c, space, unit))

    def update_unit_labels(
        self,
        space: str,
        unit: str,
        labels: Mapping[str, str | None],
        *,
        version: int | None = None,
    ) -> Unit:
        """Merge ``labels`` into the unit's labels (None removes a key)."""
        with self._tx() as c:
            row = self._unit_row(c, space, unit)
            if version is not None and version != row["version"]:
                raise ConflictError(
                    f"unit {space}/{unit} changed since read (version {row['version']}, "
                    f"you sent {version})",
                    None,
                    "read it again and reapply the change",
                )
            if self._patch_meta(c, row, labels, None):
                self._audit(c, "UpdateUnit", "labels", [f"{space}/{unit}"], [space])
            return self._to_unit(self._unit_row(c, space, unit))

    def _patch_meta(
        self,
        c: sqlite3.Connection,
        row: Row,
        labels: Mapping[str, str | None] | None,
        annotations: Mapping[str, str | None] | None,
    ) -> bool:
        lab = self._labels(row)
        ann = self._labels(row, "annotations")
        for target, patch in ((lab, labels), (ann, annotations)):
            for k, v in (patch or {}).items():
                if v is None:
                    target.pop(k, None)
                else:
                    target[k] = v
        docs.check_labels(lab)
        if lab == self._labels(row) and ann == self._labels(row, "annotations"):
            return False
        c.execute(
            "UPDATE units SET labels = ?, annotations = ?, version = version + 1, updated_at = ?"
            " WHERE id = ?",
            (json.dumps(lab), json.dumps(ann), self._ts(), row["id"]),
        )
        return True

    def patch_unit_meta(
        self,
        space: str,
        unit: str,
        *,
        labels: Mapping[str, str | None] | None = None,
        annotations: Mapping[str, str | None] | None = None,
        version: int | None = None,
        description: str | None = None,
    ) -> Unit:
        """Merge-patch labels and annotations (the real API's PATCH on a unit)."""
        with self._tx() as c:
            row = self._unit_row(c, space, unit)
            if version is not None and version != row["version"]:
                raise ConflictError(f"unit {space}/{unit} changed since read")
            if self._patch_meta(c, row, labels, annotations):
                self._audit(
                    c, "UpdateUnit", description or "metadata", [f"{space}/{unit}"], [space]
                )
            return self._to_unit(self._unit_row(c, space, unit))

    def delete_unit(self, space: str, unit: str) -> None:
        with self._tx() as c:
            row = self._unit_row(c, space, unit)
            n = c.execute(
                "SELECT COUNT(*) FROM units WHERE upstream_unit_id = ?", (row["id"],)
            ).fetchone()[0]
            if n:
                raise ConflictError(
                    f"unit {space}/{unit} has {n} downstream unit(s)",
                    None,
                    "delete or re-link its clones first",
                )
            c.execute("DELETE FROM units WHERE id = ?", (row["id"],))
            self._audit(c, "DeleteUnit", "", [f"{space}/{unit}"], [space])

    def restore_revision(self, space: str, unit: str, revision: int, description: str = "") -> Unit:
        with self._tx() as c:
            row = self._unit_row(c, space, unit)
            data = self._revision_data(c, row["id"], revision)
            if data is None:
                raise NotFoundError(
                    f"unit {space}/{unit} has no revision {revision} (head is "
                    f"{row['head_revision']})",
                    None,
                    f"list them with: drifttui hub revisions {unit} --space {space}",
                )
            desc = description or f"Restore revision {revision}"
            num = self._write_data(c, row, data, desc, "Restore", restored_from=revision)
            if num is not None:
                self._audit(c, "RestoreUnit", desc, [f"{space}/{unit}"], [space])
            return self._to_unit(self._unit_row(c, space, unit))

    def mark_applied(self, space: str, unit: str, revision: int) -> Unit:
        with self._tx() as c:
            row = self._unit_row(c, space, unit)
            if not 0 <= revision <= row["head_revision"]:
                raise HubError(
                    f"revision {revision} is not in 0..{row['head_revision']}",
                    f"{space}/{unit}",
                    status=400,
                )
            if self._patch_meta(c, row, None, {APPLIED_ANNOTATION: str(revision)}):
                self._audit(c, "MarkApplied", f"revision {revision}", [f"{space}/{unit}"], [space])
            return self._to_unit(self._unit_row(c, space, unit))

    # ------------------------------------------------------------------ upstream/downstream

    def clone_unit(
        self, upstream_space: str, unit: str, space: str, slug: str | None = None
    ) -> Unit:
        slug = slug or unit
        docs.check_slug(slug, "unit slug")
        with self._tx() as c:
            up = self._unit_row(c, upstream_space, unit)
            sp = self._space_row(c, space)
            desc = f"Clone of {upstream_space}/{unit} revision {up['head_revision']}"
            self._new_unit(
                c, sp, slug, up["data"], self._labels(up), desc, "CloneUnit", upstream=up,
                parsed=up["parsed_json"] if up["parsed_hash"] == up["data_hash"] else None,
            )  # fmt: skip
            self._audit(c, "CloneUnit", desc, [f"{space}/{slug}"], [space, upstream_space])
            return self._to_unit(self._unit_row(c, space, slug))

    def _upgrade(
        self,
        c: sqlite3.Connection,
        row: Row,
        description: str,
        changeset_id: str | None,
    ) -> UnitResult:
        space, slug = row["space_slug"], row["slug"]
        if not row["upstream_unit_id"]:
            return UnitResult(space, slug, False, "not a clone: it has no upstream unit")
        up = c.execute("SELECT * FROM units WHERE id = ?", (row["upstream_unit_id"],)).fetchone()
        if up is None:
            return UnitResult(space, slug, False, "its upstream unit no longer exists")
        up = dict(up)
        if row["upstream_revision"] >= up["head_revision"]:
            return UnitResult(space, slug, True, None, None)
        base_data = self._revision_data(c, up["id"], row["upstream_revision"])
        base = docs.load_yaml(base_data) if base_data is not None else {}
        theirs = docs.load_yaml(up["data"])
        ours = docs.load_yaml(row["data"])
        merged = three_way_merge(base, theirs, ours)
        text = docs.dump_yaml(merged.document) if merged.changed else row["data"]
        desc = description or (
            f"Upgrade from {up['slug']} revision {up['head_revision']}"
            + (f" ({len(merged.conflicts)} local path(s) kept)" if merged.conflicts else "")
        )
        num = self._write_data(
            c,
            row,
            text,
            desc,
            "UpgradeUnit",
            upstream_revision=up["head_revision"],
            changeset_id=changeset_id,
            conflicts=merged.conflicts,
        )
        return UnitResult(space, slug, True, None, num, merged.changed, merged.conflicts)

    def upgrade_unit(self, space: str, unit: str, description: str = "") -> UnitResult:
        with self._tx() as c:
            row = self._unit_row(c, space, unit)
            res = self._upgrade(c, row, description, None)
            if not res.ok:
                raise HubError(res.error or "upgrade failed", f"{space}/{unit}", status=400)
            self._audit(c, "UpgradeUnit", description or "upgrade", [f"{space}/{unit}"], [space])
            return res

    def _bulk_rows(
        self, c: sqlite3.Connection, where: Where, space: str | None, changeset_id: str | None
    ) -> list[Row]:
        """The unit rows (with data) a bulk write selects, after checking that its space and
        changeset exist."""
        space_id = self._space_row(c, space)["id"] if space else None
        if changeset_id:
            self._changeset_row(c, changeset_id)
        return self.select_unit_rows(where, space_id=space_id, with_data=True, conn=c)

    def bulk_patch(
        self,
        where: str,
        *,
        space: str | None = None,
        labels: Mapping[str, str | None] | None = None,
        upgrade: bool = False,
        description: str = "",
        changeset_id: str | None = None,
    ) -> BulkResult:
        parsed = parse_where(where, "Unit")
        check_label_patch(labels)
        with self._tx() as c:
            rows = self._bulk_rows(c, parsed, space, changeset_id)
            results: list[UnitResult] = []
            for row in rows:
                if labels:
                    self._patch_meta(c, row, labels, None)
                    row = dict(
                        c.execute(self._UNIT_SELECT + "WHERE u.id = ?", (row["id"],)).fetchone()
                    )
                if upgrade:
                    results.append(self._upgrade(c, row, description, changeset_id))
                else:
                    results.append(UnitResult(row["space_slug"], row["slug"], True))
            if rows:
                self._audit(
                    c,
                    "BulkPatchUnits",
                    description or ("push-upgrade" if upgrade else "bulk patch"),
                    [f"{r.space}/{r.unit}" for r in results],
                    [r.space for r in results],
                    changeset_id,
                )
            return BulkResult(tuple(results), changeset_id)

    def bulk_set_paths(
        self,
        where: str,
        values: Mapping[str, Any],
        *,
        space: str | None = None,
        description: str = "",
        changeset_id: str | None = None,
    ) -> BulkResult:
        parsed = parse_where(where, "Unit")
        paths = docs.check_path_values(values)
        with self._tx() as c:
            rows = self._bulk_rows(c, parsed, space, changeset_id)
            results: list[UnitResult] = []
            for row in rows:
                doc = docs.load_yaml(row["data"])
                changed: list[str] = []
                try:
                    for text, (path, value) in paths.items():
                        if docs.set_data_path(doc, path, value):
                            changed.append(text)
                except HubError as exc:
                    results.append(UnitResult(row["space_slug"], row["slug"], False, exc.what))
                    continue
                desc = description or set_paths_description(values)
                num = (
                    self._write_data(
                        c, row, docs.dump_yaml(doc), desc, "Invoke", changeset_id=changeset_id
                    )
                    if changed
                    else None
                )
                results.append(
                    UnitResult(row["space_slug"], row["slug"], True, None, num, tuple(changed))
                )
            touched = [r for r in results if r.revision is not None]
            if touched:
                self._audit(
                    c,
                    "BulkPatchUnits",
                    description or "set paths",
                    [f"{r.space}/{r.unit}" for r in touched],
                    [r.space for r in touched],
                    changeset_id,
                )
            return BulkResult(tuple(results), changeset_id)

    # ------------------------------------------------------------------ filters and sets

    def _to_filter(self, row: Row, space: str) -> Filter:
        return Filter(
            slug=row["slug"],
            id=row["id"],
            space=space,
            where=row["where_"],
            from_=row["from_"],
            labels=self._labels(row),
        )

    def filter_rows(self, space_id: str | None) -> list[Row]:
        c = self._conn()
        if space_id:
            rows = c.execute(
                "SELECT f.*, s.slug AS space_slug FROM filters f JOIN spaces s ON s.id ="
                " f.space_id WHERE f.space_id = ? ORDER BY f.slug",
                (space_id,),
            ).fetchall()
        else:
            rows = c.execute(
                "SELECT f.*, s.slug AS space_slug FROM filters f JOIN spaces s ON s.id ="
                " f.space_id ORDER BY s.slug, f.slug"
            ).fetchall()
        return [dict(r) for r in rows]

    def list_filters(self, space: str) -> list[Filter]:
        sp = self._space_row(self._conn(), space)
        return [self._to_filter(r, space) for r in self.filter_rows(sp["id"])]

    def _filter_row(self, c: sqlite3.Connection, space: str, slug: str) -> Row:
        sp = self._space_row(c, space)
        r = c.execute(
            "SELECT * FROM filters WHERE space_id = ? AND slug = ?", (sp["id"], slug)
        ).fetchone()
        if r is None:
            raise NotFoundError(
                f"no filter {slug!r} in space {space!r}",
                None,
                f"list them with: drifttui hub filters --space {space}",
            )
        return dict(r)

    def get_filter(self, space: str, slug: str) -> Filter:
        return self._to_filter(self._filter_row(self._conn(), space, slug), space)

    def evaluate_filter(self, space: str, slug: str, where: str | None = None) -> list[Unit]:
        f = self._unit_filter(space, slug)
        parse_where(where or "", "Unit")
        combined = " AND ".join(w for w in (f.where, where) if w)
        return self.list_units(None, combined)

    def create_filter(
        self,
        space: str,
        slug: str,
        where: str,
        from_: str = "Unit",
        *,
        labels: Labels | None = None,
        display_name: str = "",
    ) -> Filter:
        docs.check_slug(slug, "filter slug")
        if from_ not in ("Unit", "Space", "Filter", "ChangeSet", "Revision"):
            raise HubError(f"filters cannot select {from_!r} entities", "From", status=400)
        parse_where(where, from_)
        lab = docs.check_labels(labels)
        with self._tx() as c:
            sp = self._space_row(c, space)
            if c.execute(
                "SELECT 1 FROM filters WHERE space_id = ? AND slug = ?", (sp["id"], slug)
            ).fetchone():
                raise ConflictError(f"filter {slug!r} already exists in space {space!r}")
            c.execute(
                "INSERT INTO filters (id, space_id, slug, from_, where_, labels, display_name,"
                " created_at) VALUES (?,?,?,?,?,?,?,?)",
                (
                    str(uuid.uuid4()),
                    sp["id"],
                    slug,
                    from_,
                    where,
                    json.dumps(lab),
                    display_name,
                    self._ts(),
                ),
            )
            self._audit(c, "CreateFilter", where, spaces=[space])
            return self._to_filter(self._filter_row(c, space, slug), space)

    def list_sets(self, space: str) -> list[SetInfo]:
        sp = self._space_row(self._conn(), space)
        out = []
        for r in self.filter_rows(sp["id"]):
            mark = self._labels(r).get(docs.SET_MARK_LABEL)
            if mark:
                out.append(set_info(mark, space, r["display_name"], set_members(self, mark, space)))
        return out

    def _set_members_patch(
        self, space: str, set_slug: str, units: Sequence[tuple[str, str]], add: bool
    ) -> None:
        key, value = docs.set_label(set_slug, space)
        with self._tx() as c:
            self._filter_row(c, space, docs.set_filter_slug(set_slug))
            rows = [self._unit_row(c, s, u) for s, u in units]
            changed = [
                r for r in rows if self._patch_meta(c, r, {key: value if add else None}, None)
            ]
            if changed:
                self._audit(
                    c,
                    "AddToSet" if add else "RemoveFromSet",
                    f"set {space}/{set_slug}",
                    [f"{r['space_slug']}/{r['slug']}" for r in changed],
                    [r["space_slug"] for r in changed],
                )

    # ------------------------------------------------------------------ changesets

    def _changeset_row(self, c: sqlite3.Connection, changeset_id: str) -> Row:
        r = c.execute("SELECT * FROM changesets WHERE id = ?", (changeset_id,)).fetchone()
        if r is None:
            raise NotFoundError(f"no changeset with ID {changeset_id}")
        return dict(r)

    def changeset_rows(self, space_id: str | None = None) -> list[Row]:
        c = self._conn()
        sql = (
            "SELECT cs.*, s.slug AS space_slug FROM changesets cs"
            " JOIN spaces s ON s.id = cs.space_id"
        )
        args: tuple[Any, ...] = ()
        if space_id:
            sql += " WHERE cs.space_id = ?"
            args = (space_id,)
        return [dict(r) for r in c.execute(sql + " ORDER BY cs.created_at, cs.slug", args)]

    def create_changeset(self, space: str, slug: str, description: str) -> ChangeSet:
        docs.check_slug(slug, "changeset slug")
        with self._tx() as c:
            sp = self._space_row(c, space)
            if c.execute(
                "SELECT 1 FROM changesets WHERE space_id = ? AND slug = ?", (sp["id"], slug)
            ).fetchone():
                raise ConflictError(f"changeset {slug!r} already exists in space {space!r}")
            cid = str(uuid.uuid4())
            now = self._ts()
            c.execute(
                "INSERT INTO changesets (id, space_id, slug, description, created_at)"
                " VALUES (?,?,?,?,?)",
                (cid, sp["id"], slug, description, now),
            )
            self._audit(c, "CreateChangeSet", description, spaces=[space], changeset_id=cid)
            return ChangeSet(slug, cid, space, description, now, ())

    def changeset_units(self, changeset_id: str) -> tuple[str, ...]:
        rows = self._conn().execute(
            "SELECT DISTINCT s.slug, u.slug FROM revisions r JOIN units u ON u.id = r.unit_id"
            " JOIN spaces s ON s.id = u.space_id WHERE r.changeset_id = ? ORDER BY 1, 2",
            (changeset_id,),
        )
        return tuple(f"{a}/{b}" for a, b in rows.fetchall())

    def list_changesets(self, space: str | None = None) -> list[ChangeSet]:
        space_id = self._space_row(self._conn(), space)["id"] if space else None
        return [
            ChangeSet(
                r["slug"],
                r["id"],
                r["space_slug"],
                r["description"],
                r["created_at"],
                self.changeset_units(r["id"]),
            )
            for r in self.changeset_rows(space_id)
        ]

    # ------------------------------------------------------------------ audit

    def list_audit(self, space: str | None = None, limit: int = 100) -> list[AuditEntry]:
        c = self._conn()
        if space:
            self._space_row(c, space)
            rows = c.execute(
                "SELECT * FROM audit WHERE EXISTS (SELECT 1 FROM json_each(audit.spaces)"
                " WHERE value = ?) ORDER BY seq DESC LIMIT ?",
                (space, limit),
            ).fetchall()
        else:
            rows = c.execute("SELECT * FROM audit ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        return [
            AuditEntry(
                at=r["at"],
                author=r["author"],
                action=r["action"],
                description=r["description"],
                units=tuple(json.loads(r["units"])),
                changeset_id=r["changeset_id"],
            )
            for r in rows
        ]


_PARSED_COLUMNS = ("parsed_json", "parsed_hash")

_UNIT_COLS_NO_DATA = (
    "u.id, u.space_id, u.slug, u.display_name, u.labels, u.annotations, u.version,"
    " u.head_revision, u.head_revision_id, u.data_hash, u.upstream_unit_id,"
    " u.upstream_space_id, u.upstream_revision, u.last_change_description,"
    " u.toolchain_type, u.changeset_id, u.conflicts, u.created_at, u.updated_at,"
    " '' AS data"
)


class _StoredDocuments:
    """The kept parsed documents of one listing, by data hash: JSON texts, read all at once
    on the first look-up (one ``json.loads``: a third faster than one call per document,
    and the documents share their keys' strings), each handed out once."""

    def __init__(self, texts: dict[str, str]) -> None:
        self._texts = texts
        self._objects: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def take(self, digest: str) -> dict[str, Any] | None:
        with self._lock:
            if self._objects is None:
                self._objects = _parse_all(self._texts)
                self._texts = {}
            obj = self._objects.pop(digest, None)
        return obj if isinstance(obj, dict) else None


def _parse_all(texts: Mapping[str, str]) -> dict[str, Any]:
    if not texts:
        return {}
    try:
        return dict(zip(texts, json.loads("[" + ",".join(texts.values()) + "]"), strict=True))
    except ValueError:  # a damaged one: the others one by one
        out: dict[str, Any] = {}
        for digest, text in texts.items():
            with contextlib.suppress(ValueError):
                out[digest] = json.loads(text)
        return out


def _conflicts(text: str | None) -> tuple[str, ...]:
    if not text or text == "[]":
        return ()
    return tuple(json.loads(text))


_ROW_COLUMNS = {"Slug": "slug", "CreatedAt": "created_at", "UpdatedAt": "updated_at"}
"""Where-clause attributes that are a column of the row as it is (every entity)."""

_UNIT_COLUMNS = {
    **_ROW_COLUMNS,
    "UnitID": "id",
    "SpaceID": "space_id",
    "ToolchainType": "toolchain_type",
    "HeadRevisionNum": "head_revision",
    "HeadMutationNum": "head_revision",
    "HeadRevisionID": "head_revision_id",
    "LastChangeDescription": "last_change_description",
    "UpstreamUnitID": "upstream_unit_id",
    "UpstreamSpaceID": "upstream_space_id",
    "UpstreamRevisionNum": "upstream_revision",
    "DataHash": "data_hash",
}

_SPACE_COLUMNS = {**_ROW_COLUMNS, "SpaceID": "id"}


def _row_attribute(r: Row, name: str, org: str, columns: Mapping[str, str]) -> Any:
    """Attribute ``name`` of a unit or space row (``columns``: its plain columns)."""
    col = columns.get(name)
    if col is not None:
        return r[col]
    match name:
        case "DisplayName":
            return r.get("display_name") or ""
        case "Labels":
            return json.loads(r["labels"] or "{}")
        case "Annotations":
            return json.loads(r["annotations"] or "{}")
        case "OrganizationID":
            return org
        case _:
            return None


def _unit_attribute(r: Row, name: str, org: str) -> Any:
    match name:
        case "LastReleasedRevisionNum":
            return 0
        case "ChangeSetID":
            return r.get("changeset_id")
        case "ApprovedBy":
            return []
        case _:
            return _row_attribute(r, name, org, _UNIT_COLUMNS)


def _space_attribute(r: Row, name: str, org: str) -> Any:
    return _row_attribute(r, name, org, _SPACE_COLUMNS)


def _default_author() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "drifttui"
