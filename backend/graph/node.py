"""The Node interface: objects that Query.node(id:) can refetch by ID.

IDs stay what they have always been (docs/decisions/0040-node-ids.md): a
64-bit number as a decimal string. The number names its logical shard but
not its table, so `node` finds the type with one primary-key lookup across
the shard's tables (backend/graph/nodes.py).
"""

from __future__ import annotations

import strawberry

ID_DESCRIPTION = (
    "The object's ID, unique across all types: an opaque string. Today it is a 64-bit "
    "number in decimal (up to 19 digits), which a JavaScript number cannot hold exactly, "
    "so keep it a string; pass it to Query.node(id:) to refetch the object."
)


@strawberry.interface(
    description="An object with an ID that Query.node(id:) can refetch (Relay's Node)."
)
class Node:
    @strawberry.field(description=ID_DESCRIPTION)
    def id(self) -> strawberry.ID:
        raise NotImplementedError
