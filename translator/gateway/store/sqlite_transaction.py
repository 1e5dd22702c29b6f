"""One SQLite transaction: ``with transaction(db, "BEGIN IMMEDIATE"):`` (the SQLite stores' writes)."""

from __future__ import annotations

import sqlite3

__all__ = ["transaction"]


class transaction:
    """``with transaction(db, "BEGIN IMMEDIATE"):`` commits on success, rolls back on any error."""

    def __init__(self, db: sqlite3.Connection, begin: str) -> None:
        self._db = db
        self._begin = begin

    def __enter__(self) -> None:
        self._db.execute(self._begin)

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is not None:
            self._db.execute("ROLLBACK")
            return
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
