"""links of the airflow-neon-dms provider."""
