"""Testing helpers for users of the provider: a real DynamoDB Local launcher."""

from .dynamodb_local import DynamoDBLocal, DynamoDBLocalError, find_dynamodb_local_jar, find_free_port

__all__ = ["DynamoDBLocal", "DynamoDBLocalError", "find_dynamodb_local_jar", "find_free_port"]
