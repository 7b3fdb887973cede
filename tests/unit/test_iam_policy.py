"""The local IAM policy evaluator against AWS's documented evaluation logic for one account: an explicit
Deny anywhere wins; otherwise an Allow in an identity policy or in the resource's policy allows;
otherwise the request is implicitly denied. Actions match without case, resources with case; conditions
follow the operators' documented semantics; what the evaluator does not know fails at parse time."""

from __future__ import annotations

from typing import Any

import pytest

from lipsync.local.iam.policy import (
    AuthRequest,
    Decision,
    Policy,
    Principal,
    UnsupportedPolicyError,
    evaluate,
)

ROLE = "arn:aws:iam::123456789012:role/worker"
OBJECT = "arn:aws:s3:::media/outputs/a.mp4"


def statement(**fields: Any) -> Policy:
    return Policy.parse({"Statement": [{"Effect": "Allow", **fields}]})


def decide(policy: Policy, action: str, resource: str, **context: Any) -> Decision:
    return policy.decide(AuthRequest(action, (resource,), context), resource=resource)


def test_actions_match_without_case_and_resources_with_case() -> None:
    policy = statement(Action="S3:get*", Resource="arn:aws:s3:::media/outputs/*")
    assert decide(policy, "s3:GetObject", OBJECT) is Decision.ALLOW
    assert decide(policy, "s3:GetObject", OBJECT.replace("outputs", "Outputs")) is Decision.NEUTRAL
    assert decide(policy, "s3:PutObject", OBJECT) is Decision.NEUTRAL
    single = statement(Action="s3:GetObjec?", Resource="*")
    assert decide(single, "s3:GetObject", OBJECT) is Decision.ALLOW
    assert decide(single, "s3:GetObjectVersion", OBJECT) is Decision.NEUTRAL


def test_not_action_and_not_resource_exclude() -> None:
    policy = statement(NotAction="s3:Delete*", NotResource="arn:aws:s3:::media/private/*")
    assert decide(policy, "s3:PutObject", OBJECT) is Decision.ALLOW
    assert decide(policy, "s3:DeleteObject", OBJECT) is Decision.NEUTRAL
    assert decide(policy, "s3:PutObject", "arn:aws:s3:::media/private/x") is Decision.NEUTRAL


@pytest.mark.parametrize(
    ("condition", "context", "applies"),
    [
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}, False),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "false"}, True),
        ({"StringLike": {"s3:prefix": ["inputs/*", "jobs/*"]}}, {"s3:prefix": "jobs/a"}, True),
        ({"StringLike": {"s3:prefix": "inputs/*"}}, {}, False),  # a missing key never matches
        ({"StringLikeIfExists": {"s3:prefix": "inputs/*"}}, {}, True),
        ({"StringNotEquals": {"aws:SourceAccount": "123456789012"}}, {"aws:SourceAccount": "1"}, True),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:*:*:alarm:LipSync-*"}},
            {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:1:alarm:LipSync-x"},
            True,
        ),
        ({"StringNotLike": {"s3:prefix": "private/*"}}, {}, True),  # a missing key matches no pattern
        ({"Null": {"aws:SourceArn": "true"}}, {}, True),
        ({"Null": {"aws:SourceArn": "false"}}, {}, False),
        ({"NumericLessThanEquals": {"s3:max-keys": "100"}}, {"s3:max-keys": "1000"}, False),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["a"]}, True),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["c"]}}, {"aws:TagKeys": ["a", "b"]}, False),
    ],
)
def test_conditions(condition: dict[str, Any], context: dict[str, Any], applies: bool) -> None:
    policy = statement(Action="s3:*", Resource="*", Condition=condition)
    assert (decide(policy, "s3:ListBucket", "arn:aws:s3:::media", **context) is Decision.ALLOW) == applies


def test_an_explicit_deny_wins_and_either_policy_allows_in_one_account() -> None:
    identity = Policy.parse(
        {
            "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": "s3:PutObject",
                    "Resource": "arn:aws:s3:::media/outputs/locked/*",
                },
            ]
        }
    )
    principal = Principal(ROLE, (identity,))
    bucket_policy = Policy.parse(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ROLE},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::shared/*",
                },
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:DeleteObject",
                    "Resource": "arn:aws:s3:::media/*",
                },
            ]
        }
    )
    policies = {"arn:aws:s3:::media": [bucket_policy], "arn:aws:s3:::shared": [bucket_policy]}
    assert evaluate(principal, AuthRequest("s3:PutObject", (OBJECT,)), policies) == (True, "")
    allowed, why = evaluate(
        principal, AuthRequest("s3:PutObject", ("arn:aws:s3:::media/outputs/locked/a",)), policies
    )
    assert not allowed
    assert "explicit deny in an identity-based policy" in why
    allowed, why = evaluate(principal, AuthRequest("s3:DeleteObject", (OBJECT,)), policies)
    assert not allowed
    assert "explicit deny in a resource-based policy" in why
    # only the bucket policy allows this one (same account: enough)
    nobody = Principal(ROLE, ())
    assert evaluate(nobody, AuthRequest("s3:GetObject", ("arn:aws:s3:::shared/a",)), policies)[0]
    allowed, why = evaluate(nobody, AuthRequest("s3:GetObject", (OBJECT,)), policies)
    assert not allowed
    assert "no identity-based policy allows the s3:GetObject action" in why
    # every resource of a request must be allowed (CopyObject: the target and the source)
    two = AuthRequest("s3:GetObject", ("arn:aws:s3:::shared/a", OBJECT))
    assert not evaluate(nobody, two, policies)[0]


@pytest.mark.parametrize(
    "raw",
    [
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"DateGreaterThan": {"aws:x": "1"}},
        },
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Unknown": 1},
        {"Effect": "Maybe", "Action": "s3:*", "Resource": "*"},
    ],
)
def test_what_the_evaluator_does_not_know_fails_at_parse_time_never_per_request(raw: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedPolicyError):
        Policy.parse({"Statement": [raw]})
