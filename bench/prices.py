"""AWS list prices used by `make bench` (us-east-1, on-demand, no free tier, no savings plans).

Taken from the public AWS pricing pages (aws.amazon.com/<service>/pricing) as known on PRICES_DATE;
check them again before you rely on the cost figures. DynamoDB on-demand throughput is at the price
in force since the 50 % cut of 2024-11-01.
"""

from __future__ import annotations

PRICES_DATE = "2026-11-28"
REGION = "us-east-1"

PRICES: dict[str, float] = {
    # AWS Step Functions, Standard workflows: $0.025 per 1,000 state transitions
    "sfn_state_transition": 0.025 / 1000,
    # AWS Lambda, x86_64: $0.20 per 1M requests; $0.0000166667 per GB-second
    "lambda_request": 0.20 / 1_000_000,
    "lambda_gb_second": 0.0000166667,
    # Lambda SnapStart (Python, .NET): cache $0.0000015046 per GB-second per published version while it is
    # active (3 hours minimum), restore $0.0001397998 per GB restored (each environment started from it)
    "lambda_snapstart_cache_gb_second": 0.0000015046,
    "lambda_snapstart_restore_gb": 0.0001397998,
    # Amazon DynamoDB on-demand (standard table class): $0.625 per million write request units,
    # $0.125 per million read request units
    "dynamodb_wru": 0.625 / 1_000_000,
    "dynamodb_rru": 0.125 / 1_000_000,
    # AWS KMS: $0.03 per 10,000 requests (symmetric Encrypt/Decrypt/GenerateDataKey)
    "kms_request": 0.03 / 10_000,
    # Amazon S3 Standard: GET $0.0004 per 1,000; PUT/COPY/POST/LIST $0.005 per 1,000
    "s3_get": 0.0004 / 1000,
    "s3_put": 0.005 / 1000,
    # Amazon API Gateway REST API: $3.50 per million requests (first 333 million)
    "apigw_rest_request": 3.50 / 1_000_000,
    # Amazon CloudWatch Logs, standard ingestion: $0.50 per GB
    "logs_ingest_gb": 0.50,
    # AWS X-Ray: $5.00 per million traces recorded (TracingMode Active, the template's default)
    "xray_trace": 5.00 / 1_000_000,
    # Amazon EventBridge: $1.00 per million custom events put (each 64 KB chunk of an entry is one event)
    "eventbridge_event": 1.00 / 1_000_000,
}
