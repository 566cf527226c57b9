"""online_endpoint_traffic_to_succeeded_deployment, judged from hand-built facts."""

from netverify.checklib.catalog import load_checks
from netverify.facts import ReadProblem
from netverify.model import Link, Status
from netverify.testing import deployment, endpoint, facts, failed, failed_list, workspace

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


UPDATE = (
    "az ml online-endpoint update --name ep-test --subscription 00000000-1111-2222-3333-444444444444 --resource-group rg-test --workspace-name "
    'mlw-test --traffic "{}=100"'
)


def _one(world):  # type: ignore[no-untyped-def]
    [finding] = check.evaluate(world)
    return finding


def test_two_serving_deployments_with_traffic_are_named() -> None:
    """Weights of 1 and 99 on two succeeded deployments: both serve."""
    ep = endpoint(traffic={"green": 1, "blue": 99})
    finding = _one(
        facts(
            [workspace()],
            endpoints=[ep],
            deployments=[deployment("blue", of=ep), deployment("green", of=ep)],
        )
    )

    assert (Status.PASS, ep.id) == (finding.status, finding.resource_id)
    assert finding.message == "Endpoint ep-test sends traffic to serving deployment(s) blue, green."


def test_traffic_to_two_deployments_being_created_names_both() -> None:
    """Both weighted deployments still Creating: judged next run, naming both."""
    ep = endpoint(traffic={"blue": 50, "green": 50})
    deps = [deployment(n, of=ep, state="Creating") for n in ("blue", "green")]
    finding = _one(facts([workspace()], endpoints=[ep], deployments=deps))

    assert (Status.SKIPPED, ep.id) == (finding.status, finding.resource_id)
    assert finding.message == (
        "Endpoint ep-test: its traffic goes to blue, green, still Creating; judged again next run."
    )


def test_traffic_to_two_failed_deployments_and_a_missing_one() -> None:
    """Traffic to two Failed deployments and one that does not exist: fail following from the
    two that exist; no deployment succeeded, so the command leaves the name to fill in."""
    ep = endpoint(traffic={"blue": 40, "green": 40, "ghost": 20})
    deps = [deployment(n, of=ep, state="Failed") for n in ("blue", "green")]
    finding = _one(facts([workspace()], endpoints=[ep], deployments=deps))

    assert Status.FAIL is finding.status
    assert finding.message == (
        "Endpoint ep-test (workspace mlw-test) answers scoring with 404: its traffic goes only to "
        "blue, ghost, green, which did not succeed."
    )
    assert UPDATE.format("<deployment-name>") == finding.remediation.command
    assert frozenset(Link.resource(d.id) for d in deps) == finding.needs
    assert frozenset({Link.resource(ep.id)}) == finding.breaks
    assert {
        "traffic": {"blue": 40, "green": 40, "ghost": 20},
        "deployments": {"blue": "Failed", "green": "Failed"},
        "publicNetworkAccess": "Disabled",
        "egressPublicNetworkAccess": {"blue": "Disabled", "green": "Disabled"},
    } == finding.evidence.observed


def test_no_positive_weight_names_the_succeeded_deployment_to_give_traffic() -> None:
    """All weights 0: fail, and the command gives traffic to the succeeded deployment."""
    ep = endpoint(traffic={"blue": 0})
    finding = _one(facts([workspace()], endpoints=[ep], deployments=[deployment("blue", of=ep)]))

    assert finding.message == (
        "Endpoint ep-test (workspace mlw-test) answers scoring with 404: no deployment has a "
        "positive traffic weight."
    )
    assert (UPDATE.format("blue"), frozenset()) == (finding.remediation.command, finding.needs)


def test_a_deployment_list_that_failed_is_an_error_not_a_verdict() -> None:
    """The endpoint's deployments could not be listed (503): an error on the list, no 404."""
    ep = endpoint()
    finding = _one(
        facts([workspace()], endpoints=[ep], failed_lists=[failed_list(ep.id, "deployments")])
    )

    assert (Status.ERROR, f"{ep.id}/deployments") == (finding.status, finding.resource_id)
    assert finding.message == (
        f"Cannot read the online deployment list {ep.id}/deployments: ARM answered 503 after retries"
    )
