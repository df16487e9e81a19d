"""Independent row-level comparison of a source table and its Neon copy.

Both databases do the work: per key range they return a row count and the sum of a 64-bit hash
of each row; only ranges whose sums differ are split again, and rows are fetched
only for small differing ranges. Modules: ``ranges`` (pure range planning and row comparison),
``canonical`` (the canonical text of every type on each engine), ``model`` (options, table specs,
results), ``sides`` (the SQL per engine), ``walker`` (the walk over one table's ranges),
``multiset`` (tables without a key, compared as a multiset of full rows), ``engine`` (planning,
connections, tables in parallel), ``report`` (operator reports), ``cli`` (``neon-dms diff``).
"""

from __future__ import annotations
