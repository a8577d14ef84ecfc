"""Where the registry's rows live: an embedded SQLite file (the default) or a shared PostgreSQL database.

One schema, written once in a neutral SQL that both dialects take after two substitutions (placeholders and
the key column). The hot table ``originals`` holds what a lookup needs — ids, hashes, the watermark payload,
the marks' boxes and words — about 0.5 KB per original; the thumbnail and the marks' crops (~30 KB) sit in
``original_media`` and are read only when a finding needs pictures. Schema version 1 (everything in one
table, aimark 0.1) is upgraded in place, in one transaction. Versions 3 and 4 have version 2's tables; their
rows' ``marks`` may also say which layers the original was written with (3, ``registry.LAYERS_KEY``) and
whether its watermark passed its self-check (4, ``registry.WATERMARK_CHECK_KEY``), which an aimark reading an
earlier version would fail on, image by image: opened for writing, a version 2 or 3 registry is marked 4, so
an older aimark refuses it at once and says to upgrade. Earlier rows read as before.

PostgreSQL goes through psycopg 3 (the maintained driver; binary wheels, server-side parameters): every
write is its own short transaction and ``INSERT ... ON CONFLICT DO NOTHING`` keeps one row per ProduceID,
so any number of labelling workers may write at once.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Iterable

from aimark.labeller.errors import AimarkError

SCHEMA_VERSION = 4  # 3 and 4 only add what rows may say (see the docstring): what the number guards
HOT_COLUMNS = ("produce_id", "author_id", "wm_author_kind", "wm_author", "wm_content", "path", "width", "height",
               "dhash", "phash", "pdq", "pdq_quality", "marks")
MEDIA_COLUMNS = ("thumbnail", "mark_crops")
SCHEMA = """
CREATE TABLE IF NOT EXISTS originals (
    id {key},
    produce_id TEXT UNIQUE NOT NULL,
    author_id TEXT,
    wm_author_kind SMALLINT,
    wm_author BIGINT,
    wm_content BIGINT,
    path TEXT,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    dhash BIGINT NOT NULL,
    phash BIGINT NOT NULL,
    pdq TEXT,
    pdq_quality SMALLINT,
    marks TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS originals_by_watermark ON originals (wm_author_kind, wm_author, wm_content);
CREATE TABLE IF NOT EXISTS original_media (
    original_id BIGINT PRIMARY KEY REFERENCES originals (id),
    thumbnail {blob},
    mark_crops TEXT
);
CREATE TABLE IF NOT EXISTS aimark_schema (version INTEGER NOT NULL);
"""


class RegistryError(AimarkError):
    """A registry that cannot be opened or used; the message says what to do."""


class RegistryNeedsUpgrade(RegistryError):
    """A registry in an older layout, opened read-only: opening it once for writing upgrades it."""


def is_url(location: str | Path) -> bool:
    return str(location).startswith(("postgresql://", "postgres://"))


def redact(location: str | Path) -> str:
    """The location without a password, for messages and fingerprints."""
    text = str(location)
    if is_url(text) and "@" in text:
        scheme, rest = text.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
    return text


class Store:
    """A database connection that speaks the schema; subclasses fill in the dialect."""

    placeholder = "?"
    read_only = False

    def sql(self, text: str) -> str:
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def execute(self, text: str, params: Iterable[Any] = ()):
        return self._db.execute(self.sql(text), tuple(params))

    def fetchall(self, text: str, params: Iterable[Any] = ()) -> list[tuple]:
        return self.execute(text, params).fetchall()

    def fetchone(self, text: str, params: Iterable[Any] = ()):
        return self.execute(text, params).fetchone()

    def insert(self, hot: dict, media: dict) -> bool:
        """One original in one transaction; False when its ProduceID is already registered (kept as it was)."""
        raise NotImplementedError

    def insert_many(self, rows: list[dict]) -> None:
        """Many hot rows (no media) in one transaction."""
        raise NotImplementedError

    def _insert_statement(self) -> str:
        return self.sql(f"INSERT INTO originals ({', '.join(HOT_COLUMNS)}) VALUES ({', '.join('?' * len(HOT_COLUMNS))})")

    def state(self) -> list:
        """What changes when originals are added (part of a scan's fingerprint: new originals, new matches)."""
        raise NotImplementedError

    def close(self) -> None:
        self._db.close()


class SqliteStore(Store):
    """An embedded registry file. Readers open it read-only, so many scan workers read while one label
    batch writes (write-ahead log)."""

    def __init__(self, path: Path, read_only: bool = False):
        self.path, self.read_only = Path(path), read_only
        try:
            if read_only:
                if not self.path.is_file():
                    raise RegistryError(f"no registry at {self.path}: make one with 'aimark label --registry'")
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
            else:
                self._db = sqlite3.connect(str(self.path), timeout=30)
                self._db.execute("PRAGMA journal_mode=WAL")
            version = self._version()
        except sqlite3.DatabaseError as exc:
            raise RegistryError(f"{self.path} is not a registry aimark can read ({exc})") from None
        if version == 1:
            if read_only:
                raise RegistryNeedsUpgrade(f"{self.path} has the registry layout of aimark 0.1; upgrade it once with "
                                    f"'aimark registry upgrade {self.path}'")
            self._upgrade_from_1()
        elif version is None and not read_only:
            self._db.executescript(SCHEMA.format(key="INTEGER PRIMARY KEY", blob="BLOB"))
            with self._db:
                self._db.execute("INSERT INTO aimark_schema (version) VALUES (?)", (SCHEMA_VERSION,))
        elif version < SCHEMA_VERSION and not read_only:  # the same tables: only what its rows may say
            with self._db:
                self._db.execute("INSERT INTO aimark_schema (version) VALUES (?)", (SCHEMA_VERSION,))
        elif version is None:
            raise RegistryError(f"{self.path} is empty or not a registry")
        elif version > SCHEMA_VERSION:
            raise RegistryError(f"{self.path} was written by a newer aimark (schema {version}); upgrade aimark")

    def _version(self) -> int | None:
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "aimark_schema" in tables:
            return self._db.execute("SELECT MAX(version) FROM aimark_schema").fetchone()[0]
        return 1 if "originals" in tables else None

    def _upgrade_from_1(self) -> None:
        """Move thumbnails and crops out of the hot table and add the PDQ columns, in one transaction. PDQ
        is computed from the kept thumbnail (PDQ reduces to 64x64 itself; on the corpus a 512-px thumbnail's
        hash is within 15 bits of the full picture's, against a match threshold of 31)."""
        from .registry import pdq_of_thumbnail

        db = self._db
        db.execute("BEGIN IMMEDIATE")  # DDL too: a kill mid-upgrade leaves the version 1 file as it was
        with db:
            db.execute("ALTER TABLE originals RENAME TO originals_v1")
            db.execute("DROP INDEX IF EXISTS originals_by_watermark")
            for statement in SCHEMA.format(key="INTEGER PRIMARY KEY", blob="BLOB").split(";"):
                if statement.strip():
                    db.execute(statement)
            old = ("id, produce_id, author_id, wm_author_kind, wm_author, wm_content, path, width, height, dhash, "
                   "phash, marks, thumbnail, mark_crops")
            for row in db.execute(f"SELECT {old} FROM originals_v1 ORDER BY id").fetchall():
                pdq, quality = pdq_of_thumbnail(row[12])
                db.execute("INSERT INTO originals (id, produce_id, author_id, wm_author_kind, wm_author, wm_content,"
                           " path, width, height, dhash, phash, pdq, pdq_quality, marks) VALUES "
                           "(?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (*row[:11], pdq, quality, row[11]))
                db.execute("INSERT INTO original_media (original_id, thumbnail, mark_crops) VALUES (?,?,?)",
                           (row[0], row[12], row[13]))
            db.execute("DROP TABLE originals_v1")
            db.execute("INSERT INTO aimark_schema (version) VALUES (?)", (SCHEMA_VERSION,))
        db.execute("VACUUM")

    def insert_many(self, rows: list[dict]) -> None:
        with self._db:
            self._db.executemany(self._insert_statement(), [[row[c] for c in HOT_COLUMNS] for row in rows])

    def insert(self, hot: dict, media: dict) -> bool:
        with self._db:
            cursor = self._db.execute(
                f"INSERT OR IGNORE INTO originals ({', '.join(HOT_COLUMNS)}) VALUES "
                f"({', '.join('?' * len(HOT_COLUMNS))})", [hot[name] for name in HOT_COLUMNS])
            if cursor.rowcount != 1:
                return False
            self._db.execute("INSERT INTO original_media (original_id, thumbnail, mark_crops) VALUES (?,?,?)",
                             (cursor.lastrowid, media.get("thumbnail"), media.get("mark_crops")))
        return True

    def state(self) -> list:
        wal = self.path.with_name(self.path.name + "-wal")
        return [str(self.path.resolve()), self.path.stat().st_mtime_ns if self.path.exists() else 0,
                wal.stat().st_mtime_ns if wal.exists() else 0]

    def close(self) -> None:
        if not self.read_only:
            self._db.commit()
        self._db.close()


class PostgresStore(Store):
    """A registry shared by many machines. ``read_only`` sessions refuse writes at the server."""

    placeholder = "%s"

    def __init__(self, url: str, read_only: bool = False):
        try:
            import psycopg
        except ImportError:
            raise RegistryError("a PostgreSQL registry needs the driver: pip install 'aimark[postgres]'") from None
        self.url, self.read_only = url, read_only
        try:
            # UTF-8 whatever the server's encoding: on a SQL_ASCII database (an initdb run without a locale)
            # psycopg would otherwise hand back every text column as bytes
            self._db = psycopg.connect(url, autocommit=True, connect_timeout=10, client_encoding="utf8")
        except psycopg.Error as exc:
            raise RegistryError(f"cannot connect to the registry {redact(url)}: {str(exc).strip()}") from None
        if not read_only:
            with self._db.transaction():
                # one schema creation at a time, even when many workers open the registry together
                self._db.execute("SELECT pg_advisory_xact_lock(4242)")
                self._db.execute(SCHEMA.format(key="BIGSERIAL PRIMARY KEY", blob="BYTEA"))
                written = self._db.execute("SELECT MAX(version) FROM aimark_schema").fetchone()[0]
                if written is None or written < SCHEMA_VERSION:  # new, or version 2's tables (the docstring)
                    self._db.execute("INSERT INTO aimark_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
        else:
            self._db.execute("SET default_transaction_read_only = on")
        try:
            version = self._db.execute("SELECT MAX(version) FROM aimark_schema").fetchone()[0]
        except psycopg.Error:
            raise RegistryError(f"{redact(url)} holds no registry yet: label into it first") from None
        if version is not None and version > SCHEMA_VERSION:
            raise RegistryError(f"{redact(url)} was written by a newer aimark (schema {version}); upgrade aimark")

    def insert_many(self, rows: list[dict]) -> None:
        with self._db.cursor() as cursor, self._db.transaction():
            cursor.executemany(self._insert_statement(), [[row[c] for c in HOT_COLUMNS] for row in rows])

    def insert(self, hot: dict, media: dict) -> bool:
        with self._db.transaction():
            row = self._db.execute(
                f"INSERT INTO originals ({', '.join(HOT_COLUMNS)}) VALUES ({', '.join(['%s'] * len(HOT_COLUMNS))}) "
                "ON CONFLICT (produce_id) DO NOTHING RETURNING id", [hot[name] for name in HOT_COLUMNS]).fetchone()
            if row is None:
                return False
            self._db.execute("INSERT INTO original_media (original_id, thumbnail, mark_crops) VALUES (%s,%s,%s)",
                             (row[0], media.get("thumbnail"), media.get("mark_crops")))
        return True

    def state(self) -> list:
        count, last = self.fetchone("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM originals")
        return [redact(self.url), count, last]


def open_store(location: str | Path, read_only: bool = False) -> Store:
    """A store for a path (SQLite) or a ``postgresql://`` URL."""
    if is_url(location):
        return PostgresStore(str(location), read_only)
    return SqliteStore(Path(location), read_only)
