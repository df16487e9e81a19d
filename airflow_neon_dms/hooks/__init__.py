"""hooks of the airflow-neon-dms provider."""
