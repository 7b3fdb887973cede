"""Who may invoke a function, as the synthesized template's ``AWS::Lambda::Permission``s say, enforced by
the local runtime as each AWS service meets Lambda's refusal: take one permission away and that trigger
fails locally as it would on AWS (the unchanged template runs every other e2e test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from lipsync.local.iam.invocations import API_GATEWAY, EVENTS, S3, InvokePermissions
from lipsync.local.synth import synthesized_template
from lipsync.local.template import Template
from lipsync.local.triggers import UnauthorizedTriggerError
from tests.support.templates import changed, runtime_from, without_invoke_permission

pytestmark = pytest.mark.xdist_group("e2e")

# The stage's permission for POST /jobs (its twin, "...PermissionTest...", is the console's test stage).
API_POST_JOBS = "EntryPointsApijobsPOSTApiPermissionLipSync"
REQUESTED_RULE = "EntryPointsRequestedAllowEventRule"  # the bus's job requests to the start function
BUCKET_NOTIFICATIONS = "StorageMediaAllowBucketNotifications"  # the bucket's manifests to start


def requests_rule_arn(template: Template) -> str:
    [rule] = [lid for lid in template.of_type("AWS::Events::Rule") if lid.startswith("EntryPointsRequested")]
    return str(template.resolve({"Fn::GetAtt": [rule, "Arn"]}))


def test_the_templates_permissions_allow_exactly_their_sources() -> None:
    template = Template(synthesized_template())
    permissions = InvokePermissions.of(template)
    api, start = "lipsync-EntryFunctionsapi", "lipsync-EntryFunctionsstart"
    post_jobs = permissions.api_source("POST", "/jobs")
    get_job = permissions.api_source("GET", "/jobs/job-1")
    assert post_jobs is not None
    assert get_job is not None
    assert permissions.allows(api, API_GATEWAY, post_jobs)
    assert permissions.allows(api, API_GATEWAY, get_job)
    assert permissions.api_source("PUT", "/jobs") is None  # no such route: left to the function
    # a source no permission names, another service or another function is refused
    assert not permissions.allows(api, API_GATEWAY, get_job.replace("/GET/", "/PUT/"))
    assert not permissions.allows(api, EVENTS, post_jobs)
    assert not permissions.allows(start, API_GATEWAY, post_jobs)
    rule_arn = requests_rule_arn(template)
    assert permissions.allows(start, EVENTS, rule_arn)
    assert not permissions.allows("lipsync-Webhookswebhook", EVENTS, rule_arn)
    [media] = [lid for lid in template.of_type("AWS::S3::Bucket") if lid.startswith("StorageMedia")]
    assert permissions.allows(start, S3, f"arn:aws:s3:::{template.physical[media].name}")
    assert not permissions.allows(start, S3, "arn:aws:s3:::another-bucket")


def test_without_their_permissions_the_api_answers_500_and_the_rule_sends_its_event_to_the_dead_letter_queue(
    tmp_path: Path,
) -> None:
    change = changed(without_invoke_permission(API_POST_JOBS), without_invoke_permission(REQUESTED_RULE))
    with runtime_from(tmp_path, change) as runtime:
        assert runtime.endpoints
        assert runtime.dispatcher
        request = {
            "mode": "lite",
            "video": "https://media.example/v.mp4",
            "audio": "https://media.example/a.wav",
        }
        # API Gateway may not invoke the function for POST /jobs: 500, as on AWS; GET /jobs still may
        answer = requests.post(f"{runtime.endpoints.api}/jobs", json=request, timeout=30)
        assert (answer.status_code, answer.json()) == (500, {"message": "Internal server error"})
        listing = requests.get(f"{runtime.endpoints.api}/jobs", timeout=30)
        assert (listing.status_code, listing.json()["jobs"]) == (200, [])
        # EventBridge may not invoke start for a job request: not retried, straight to the rule's DLQ
        sent = runtime.client("events").put_events(
            Entries=[
                {
                    "EventBusName": runtime.endpoints.bus,
                    "Source": "lipsync.client",
                    "DetailType": "LipSync Job Requested",
                    "Detail": json.dumps(request),
                }
            ]
        )
        event_id = sent["Entries"][0]["EventId"]
        sqs = runtime.client("sqs")
        message = sqs.receive_message(
            QueueUrl=runtime.endpoints.failed_deliveries_queue_url,
            WaitTimeSeconds=20,
            MessageAttributeNames=["All"],
        )["Messages"][0]
        assert json.loads(message["Body"])["id"] == event_id
        attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
        assert attributes["ERROR_CODE"] == "NO_PERMISSIONS"
        assert attributes["TARGET_ARN"].endswith(":function:lipsync-EntryFunctionsstart")
        assert runtime.stack
        template = runtime.stack.template
        [rule] = [
            lid for lid in template.of_type("AWS::Events::Rule") if lid.startswith("EntryPointsRequested")
        ]
        assert attributes["RULE_ARN"] == template.resolve({"Fn::GetAtt": [rule, "Arn"]})
        assert ("lipsync-EntryFunctionsstart", True) not in runtime.dispatcher.delivered
        assert requests.get(f"{runtime.endpoints.api}/jobs", timeout=30).json()["jobs"] == []


def test_a_bucket_notification_to_a_function_s3_may_not_invoke_cannot_be_configured(tmp_path: Path) -> None:
    runtime = runtime_from(tmp_path, without_invoke_permission(BUCKET_NOTIFICATIONS))
    with pytest.raises(UnauthorizedTriggerError, match="Unable to validate the following destination"):
        runtime.start()
