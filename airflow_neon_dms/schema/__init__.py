"""Schema pre-flight: catalog readers per engine, the type compatibility table, the comparison."""

from __future__ import annotations
