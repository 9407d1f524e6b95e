"""Apache Airflow provider: PySpark pipeline config, table config and run logs in DynamoDB."""

__version__ = "0.1.0"
