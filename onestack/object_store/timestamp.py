"""Swift's timestamps: seconds since the epoch with five decimals, normalized to 16 characters
("0000012345.67890"), with an optional 16-hex-digit offset ("…_0000000000000001") that orders
internal writes made at the same instant. They sort as strings, which is how every row and file
compares them."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import total_ordering


@total_ordering
@dataclass(frozen=True)
class Timestamp:
    seconds: float
    offset: int = 0

    @classmethod
    def now(cls) -> Timestamp:
        return cls(round(time.time(), 5))

    @classmethod
    def parse(cls, value: str | float) -> Timestamp:
        """A header's or a file name's timestamp; ValueError when it is not one."""
        if isinstance(value, float | int):
            return cls(round(float(value), 5))
        text = value.strip()
        offset = 0
        if "_" in text:
            text, hex_offset = text.split("_", 1)
            offset = int(hex_offset, 16)
        seconds = round(float(text), 5)
        if not 0 <= seconds < 10 ** 10 or math.isnan(seconds):
            raise ValueError(f"timestamp out of range: {value!r}")
        return cls(seconds, offset)

    @property
    def normal(self) -> str:
        return f"{self.seconds:016.5f}"

    @property
    def internal(self) -> str:
        return f"{self.normal}_{self.offset:016x}" if self.offset else self.normal

    def __str__(self) -> str:
        return self.internal

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Timestamp):
            return NotImplemented
        return (self.seconds, self.offset) < (other.seconds, other.offset)

    def later(self, offset: int = 1) -> Timestamp:
        return Timestamp(self.seconds, self.offset + offset)

    @property
    def http_date(self) -> str:
        """Last-Modified: rounded up to the second, as Swift does (a If-Modified-Since of that value matches)."""
        from email.utils import formatdate

        whole = int(self.seconds) + (1 if self.seconds % 1 else 0)
        return formatdate(whole, usegmt=True)

    @property
    def isoformat(self) -> str:
        """The listings' ``last_modified``: microseconds, no zone ("2024-01-01T00:00:00.123450")."""
        from datetime import UTC, datetime

        return datetime.fromtimestamp(self.seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
