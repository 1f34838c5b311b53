"""DynamoDB persistence: the only place that knows key formats."""
