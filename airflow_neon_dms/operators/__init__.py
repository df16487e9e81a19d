"""operators of the airflow-neon-dms provider."""
