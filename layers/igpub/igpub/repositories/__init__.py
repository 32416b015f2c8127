"""Repositories: the only modules that talk to AWS (DynamoDB, KMS, S3, Secrets Manager, EventBridge),
one per table or service, each with the conditions that keep its records consistent."""
