"""Independent row-level comparison of a source table and its Neon copy.

Both databases do the work: per key range they return a row count and the sum of a 64-bit hash
of each row's canonical text; only ranges whose sums differ are split again, and rows are fetched
only for small differing ranges. Modules: ``ranges`` (pure range planning and row comparison),
``canonical`` (the canonical text of every type on each engine), ``sides`` (the SQL per engine),
``engine`` (the walk over ranges, tables in parallel), ``cli`` (``neon-dms diff``).
"""

from __future__ import annotations
