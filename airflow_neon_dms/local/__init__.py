"""local of the airflow-neon-dms provider."""
