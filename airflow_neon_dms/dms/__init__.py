"""Pure AWS DMS rules: no Airflow import, so the hooks, operators, triggers and CLI share them."""
