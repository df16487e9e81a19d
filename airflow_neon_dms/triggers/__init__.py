"""triggers of the airflow-neon-dms provider."""
