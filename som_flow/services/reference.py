"""Reference data kept in each process between requests: the stages and catalog entries every page names, the
exchange rates, each kind version's stages and moves and SLAs. Admins change them rarely, and a board read them
in six statements, a fifth of its time (bench/reads.py). Whether they changed is one row, which triggers move on
in the transaction that changes them (models/reference.py): a transaction reads it once, on its first use of kept
data, and reads the data again only when the number differs from the one it was kept under. So every process, on
every host, sees a change at its commit.

What a transaction that writes reads is neither kept nor taken from the kept copy: it may see its own change
before it commits, then roll it back."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy import select

from som_flow.extensions import db
from som_flow.models.reference import ReferenceVersion
from som_flow.services.unit_of_work import transaction_info, wrote

T = TypeVar("T")
# per engine (one a process in production; one a test's app): {"version": n, "values": {key: value}}
_KEPT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def kept(key: Hashable, read: Callable[[], T]) -> T:
    """`read()`'s value, kept under `key` until the reference data changes. `read` reads only reference tables
    (models/reference.REFERENCE_TABLES) and returns plain values, never ORM rows (they belong to one session),
    which its callers do not change."""
    session = db.session()
    if wrote(session):
        return read()
    noted = transaction_info(session)
    if "reference_version" not in noted:  # before the data: data read after it is as new as the number, or newer
        noted["reference_version"] = session.scalar(select(ReferenceVersion.version))
    version = noted["reference_version"]
    store = _KEPT.get(db.engine)
    if store is None or store["version"] != version:
        store = _KEPT[db.engine] = {"version": version, "values": {}}
    values = store["values"]
    if key not in values:
        values[key] = read()
    return values[key]
