"""sensors of the airflow-neon-dms provider."""
