"""Apache Airflow provider that runs AWS DMS migrations into Neon."""

from __future__ import annotations

__version__ = "0.1.0"
