"""online_endpoint_traffic_to_succeeded_deployment, judged from hand-built facts."""

from netverify.checklib.catalog import load_checks
from netverify.facts import ReadProblem
from netverify.model import Status
from netverify.testing import deployment, endpoint, facts, failed, workspace

[check] = [
    c.module
    for c in load_checks()
    if c.meta.id == "online_endpoint_traffic_to_succeeded_deployment"
]


def test_zero_traffic_fails_with_404_and_the_update_command() -> None:
    """No positive weight: scoring answers 404; the command gives a succeeded deployment 100."""
    ep = endpoint(traffic={"blue": 0})
    [finding] = check.evaluate(
        facts([workspace()], endpoints=[ep], deployments=[deployment(of=ep)])
    )

    assert finding.status == Status.FAIL
    assert "404" in finding.message
    assert finding.remediation.command.endswith('--traffic "blue=100"')


def test_traffic_only_to_a_failed_deployment_fails() -> None:
    """Traffic to a Failed deployment does not count; the succeeded one is proposed."""
    ep = endpoint(traffic={"green": 100, "blue": 0})
    deployments = [deployment("green", of=ep, state="Failed"), deployment("blue", of=ep)]
    [finding] = check.evaluate(facts([workspace()], endpoints=[ep], deployments=deployments))

    assert finding.status == Status.FAIL
    assert "green" in finding.message
    assert finding.remediation.command.endswith('--traffic "blue=100"')


def test_traffic_to_a_succeeded_deployment_passes() -> None:
    """A positive weight on a Succeeded deployment passes and records the access flags."""
    ep = endpoint(traffic={"blue": 90, "green": 10}, public_network_access="Enabled")
    deployments = [deployment("blue", of=ep), deployment("green", of=ep, state="Failed")]
    [finding] = check.evaluate(facts([workspace()], endpoints=[ep], deployments=deployments))

    assert finding.status == Status.PASS
    assert "Enabled" == finding.evidence.observed["publicNetworkAccess"]
    assert {"blue": "Disabled", "green": "Disabled"} == finding.evidence.observed[
        "egressPublicNetworkAccess"
    ]


def test_endpoint_list_that_failed_is_an_error() -> None:
    """A workspace whose endpoints cannot be listed gives an error, not a pass."""
    ws = workspace()
    down = failed(f"{ws.id}/onlineEndpoints", ReadProblem.UNAVAILABLE, status_code=503)
    [finding] = check.evaluate(facts([ws], failed_lists=[down]))

    assert finding.status == Status.ERROR


def test_traffic_to_a_scaling_deployment_keeps_serving() -> None:
    """H08: a deployment being scaled out (or updated) keeps answering: no 404 claim."""
    ep = endpoint(traffic={"blue": 100})
    [finding] = check.evaluate(
        facts([workspace()], endpoints=[ep], deployments=[deployment(of=ep, state="Scaling")])
    )

    assert finding.status == Status.PASS
    assert "serving deployment(s) blue" in finding.message


def test_traffic_only_to_a_deployment_being_created_is_a_note() -> None:
    """The only weighted deployment is still Creating: not yet serving, not yet a failure."""
    ep = endpoint(traffic={"green": 100})
    deployments = [deployment("green", of=ep, state="Creating")]
    [finding] = check.evaluate(facts([workspace()], endpoints=[ep], deployments=deployments))

    assert finding.status == Status.SKIPPED
    assert "still Creating" in finding.message
