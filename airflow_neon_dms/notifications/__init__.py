"""Notifications of the airflow-neon-dms provider: the failure alert and the closing report."""
