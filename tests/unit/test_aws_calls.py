"""Each function logs the IAM actions it used, with the resource each call named (``aws_calls``): what the
least-privilege audit compares with the template's policies (tests/e2e/test_zz_least_privilege.py)."""

from __future__ import annotations

from botocore.stub import Stubber

from igpub.repositories import aws


def test_calls_are_recorded_as_iam_actions_on_resources() -> None:
    aws.take_calls()
    ddb = aws.session().client("dynamodb", region_name="us-east-1")
    with Stubber(ddb) as stub:
        stub.add_response("get_item", {})
        stub.add_response("query", {"Items": []})
        stub.add_response("transact_write_items", {})
        ddb.get_item(TableName="accounts", Key={"account_id": {"S": "1"}})
        ddb.query(TableName="posts", IndexName="insights-due", KeyConditionExpression="a = :a",
                  ExpressionAttributeValues={":a": {"S": "x"}})
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "posts", "Item": {"post_id": {"S": "p"}}}},
            {"Update": {"TableName": "usage", "Key": {"pk": {"S": "u"}}, "UpdateExpression": "SET a = :a",
                        "ExpressionAttributeValues": {":a": {"S": "1"}}}},
        ])
    s3 = aws.session().client("s3", region_name="us-east-1")
    s3.generate_presigned_url("get_object", Params={"Bucket": "media", "Key": "a/b.jpg"}, ExpiresIn=60)
    assert aws.take_calls() == [
        "dynamodb:GetItem accounts",
        "dynamodb:PutItem posts",
        "dynamodb:Query posts/index/insights-due",
        "dynamodb:UpdateItem usage",
        "s3:GetObject media/a/b.jpg",  # a presigned URL uses the function's permission too
    ]
    assert aws.take_calls() == []  # taken once


def test_secrets_parameters_and_events_name_their_resource() -> None:
    aws.take_calls()
    sm = aws.session().client("secretsmanager", region_name="us-east-1")
    events = aws.session().client("events", region_name="us-east-1")
    kms = aws.session().client("kms", region_name="us-east-1")
    with Stubber(sm) as s1, Stubber(events) as s2, Stubber(kms) as s3:
        s1.add_response("get_secret_value", {"SecretString": "x"})
        s2.add_response("put_events", {"Entries": []})
        s3.add_response("decrypt", {"Plaintext": b"x"})
        sm.get_secret_value(SecretId="igpub-app-secret")
        events.put_events(Entries=[{"Source": "igpub", "DetailType": "t", "Detail": "{}"}])
        kms.decrypt(CiphertextBlob=b"x")
    assert aws.take_calls() == [
        "events:PutEvents default", "kms:Decrypt *", "secretsmanager:GetSecretValue igpub-app-secret"]
