"""Every partial index of the schema serves the equality lookups it exists for, on the embedded database too.

SecantusDB cannot reason about `$type` in a partial filter: an index "only where the field is a string"
written with $type was never used, and each lookup scanned the collection (mongo_init.schema._strings).
"""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from mongo_init.schema import COLLECTIONS

Doc = dict[str, Any]


def _partial_lookups() -> list[tuple[str, str, Doc]]:
    """(collection, index name, an equality query on the index's keys up to its partial field)."""
    out = []
    for coll in COLLECTIONS:
        for index in coll.indexes:
            doc = index.document
            partial = doc.get("partialFilterExpression") or {}
            field, bound = next(iter(partial.items()), (None, None))
            if not isinstance(bound, dict) or field != next(iter(doc["key"])):
                continue  # a later key's partial keeps $type (test_range_partials_only_on_an_index_s_first_key)
            if isinstance(bound.get("$gte"), str) or bound.get("$type") == "string":
                value: Any = "x"
            elif isinstance(bound.get("$gte"), ObjectId) or bound.get("$type") == "objectId":
                value = ObjectId()
            else:
                continue  # the date-range partials of the sweeps are queried by range (tests/schedulers)
            query: Doc = {}
            for key in doc["key"]:
                if key == field:
                    query[key] = value
                    break
                query[key] = ObjectId() if key.endswith("_id") else "x"
            out.append((coll.name, doc["name"], query))
    return out


LOOKUPS = _partial_lookups()


def test_range_partials_only_on_an_index_s_first_key() -> None:
    """SecantusDB answers a query on a later key of a compound index partial on that key wrongly (nothing
    found) when the filter is a range it can reason about; with $type it scans and answers right."""
    for coll in COLLECTIONS:
        for index in coll.indexes:
            doc = index.document
            for field, bound in (doc.get("partialFilterExpression") or {}).items():
                if field != next(iter(doc["key"])):
                    assert set(bound) == {"$type"}, f"{coll.name}.{doc['name']}: {bound}"


async def test_a_message_is_found_by_its_client_id_alone(db: Any) -> None:
    cid = ObjectId()
    await db.messages.insert_one(
        {
            "consultation_id": cid,
            "seq": 1,
            "kind": "text",
            "text": "x",
            "client_id": "r1",
            "created_at": cid.generation_time,
        }
    )
    assert (await db.messages.find_one({"client_id": "r1"}))["consultation_id"] == cid


def test_the_schema_has_partial_lookups_to_check() -> None:
    names = {name for _, name, _ in LOOKUPS}
    assert {"read_key_unique", "provider_id", "phone", "number_unique"} <= names


@pytest.mark.parametrize(("coll", "name", "query"), LOOKUPS, ids=[f"{c}.{n}" for c, n, _ in LOOKUPS])
async def test_an_equality_lookup_uses_its_partial_index(db: Any, coll: str, name: str, query: Doc) -> None:
    plan = await db[coll].find(query).explain()
    stats = plan.get("executionStats") or {}
    stage = (stats.get("executionStages") or {}).get("stage")
    assert stage != "COLLSCAN", (
        f"{coll} {query} scans the collection instead of using {name}: {plan.get('queryPlanner')}"
    )
