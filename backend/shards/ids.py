"""The 64-bit ID layout shared by PostgreSQL's next_id() and Python.

    | 41 bits: ms since EPOCH | 13 bits: logical shard | 10 bits: sequence |

IDs sort by creation time and name their logical shard, so routing an ID needs
no lookup. PostgreSQL's bigint is signed, so an ID must stay below 2**63: the
41-bit time field is usable up to 2**40 - 1 ms, 34.8 years from the epoch
(until 2058-10); past that the top bit would make IDs negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

# 2024-01-01T00:00:00Z. Never change it: every stored ID depends on it.
EPOCH_MS = 1_704_067_200_000

TIME_BITS = 41
SHARD_BITS = 13
SEQUENCE_BITS = 10

MAX_LOGICAL_SHARDS = 1 << SHARD_BITS  # 8192
SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1
SHARD_MASK = (1 << SHARD_BITS) - 1
# The top time bit would set the sign bit of a signed bigint: never used.
MAX_TIME_MS = (1 << (TIME_BITS - 1)) - 1
# Above every ID (bigint's maximum): the "before" bound of a first page.
MAX_ID = (1 << 63) - 1


@dataclass(frozen=True)
class DecodedId:
    id: int
    ms: int  # milliseconds since EPOCH_MS
    shard: int
    sequence: int

    @property
    def created_at(self) -> datetime:
        return datetime.fromtimestamp((self.ms + EPOCH_MS) / 1000, tz=UTC)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": str(self.id),
            "time": self.created_at.isoformat(timespec="milliseconds"),
            "ms_since_epoch": self.ms,
            "shard": self.shard,
            "sequence": self.sequence,
        }


def encode_id(*, ms: int, shard: int, sequence: int) -> int:
    """Build an ID from its parts; raises ValueError when a part does not fit."""
    if not 0 <= ms <= MAX_TIME_MS:
        raise ValueError(f"ms out of range: {ms}")
    if not 0 <= shard < MAX_LOGICAL_SHARDS:
        raise ValueError(f"shard out of range: {shard}")
    if not 0 <= sequence <= SEQUENCE_MASK:
        raise ValueError(f"sequence out of range: {sequence}")
    return (ms << (SHARD_BITS + SEQUENCE_BITS)) | (shard << SEQUENCE_BITS) | sequence


def decode_id(value: int) -> DecodedId:
    """Split an ID into time, logical shard and sequence."""
    if not 0 < value < (1 << 63):
        raise ValueError(f"not a 64-bit ID: {value}")
    return DecodedId(
        id=value,
        ms=value >> (SHARD_BITS + SEQUENCE_BITS),
        shard=(value >> SEQUENCE_BITS) & SHARD_MASK,
        sequence=value & SEQUENCE_MASK,
    )


def shard_of(value: int) -> int:
    """The logical shard an ID was minted on (no I/O)."""
    return (value >> SEQUENCE_BITS) & SHARD_MASK


def min_id_at(moment: datetime) -> int:
    """The smallest ID that can be minted at `moment` (for time-range scans)."""
    ms = int(moment.timestamp() * 1000) - EPOCH_MS
    return max(ms, 0) << (SHARD_BITS + SEQUENCE_BITS)


def schema_name(shard: int) -> str:
    """PostgreSQL schema of a logical shard: shard_0000 … shard_8191."""
    if not 0 <= shard < MAX_LOGICAL_SHARDS:
        raise ValueError(f"logical shard out of range: {shard}")
    return f"shard_{shard:04d}"
