"""Test doubles shipped with netverify: build Facts by hand to test checks without any I/O."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from netverify.azure.arm_ids import name_of
from netverify.checklib.catalog import load_checks
from netverify.config import WORKSPACE_TYPE
from netverify.facts import (
    EGRESS_DESCRIPTION,
    DnsAnswer,
    DnsFacts,
    DnsRecordSet,
    EndpointAddresses,
    ExpectedName,
    Facts,
    HttpAnswer,
    KeyVault,
    OnlineDeployment,
    OnlineEndpoint,
    OutboundRule,
    PolicyAssignment,
    PolicyDefinition,
    PrivateDnsZone,
    PrivateEndpoint,
    PrivateEndpointConnection,
    PrivateResolvers,
    Reachability,
    Read,
    ReadFailure,
    ReadProblem,
    Registry,
    Resolver,
    ResolverKind,
    ScoringProbe,
    Subscription,
    VirtualNetwork,
    Workspace,
)
from netverify.model import Agent, CheckMeta, Evidence, Finding, RunContext, Severity, Status
from netverify.runner import evaluate
from netverify.sim.arm_state import microsoft_managed_endpoint
from netverify.sinks.events import to_event

REGISTRY_TYPE = "Microsoft.ContainerRegistry/registries"
STORAGE_TYPE = "Microsoft.Storage/storageAccounts"
V1_POLICY_ID = "/providers/Microsoft.Authorization/policyDefinitions/v1-legacy-mode"

FOUNDATION_CHECKS = ("keyvault_network_bypass_azure_services", "workspace_v1_legacy_mode_disabled")
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
GROUP = "rg-test"


def check_findings(check_id: str, facts: Facts) -> list[Finding]:
    """The findings of the catalog's check ``check_id`` on ``facts``; KeyError if no such check."""
    checks = {c.meta.id: c.module for c in load_checks()}
    return list(checks[check_id].evaluate(facts))


def check_statuses(check_id: str, facts: Facts) -> list[Status]:
    return [f.status for f in check_findings(check_id, facts)]


def only_finding(check_id: str, facts: Facts) -> Finding:
    """The single finding ``check_id`` gives on ``facts``; ValueError when it gives another number."""
    [finding] = check_findings(check_id, facts)
    return finding


def arm_id(resource_type: str, name: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/{resource_type}/{name}"


def workspace(
    name: str = "mlw-test",
    *,
    v1_legacy_mode: bool = False,
    key_vault: str | None = "kv-test",
    guid: str = "11111111-2222-4333-8444-555555555555",
    location: str = "eastus",
    registry: str | None = None,
    image_build_compute: str | None = None,
    managed_network: str | None = None,
    managed_network_status: str | None = None,
    storage: str | None = None,
    outbound_rules: Sequence[OutboundRule] = (),
) -> Workspace:
    return Workspace(
        id=arm_id(WORKSPACE_TYPE, name),
        name=name,
        resource_group=GROUP,
        subscription=SUBSCRIPTION,
        location=location,
        workspace_guid=guid,
        v1_legacy_mode=v1_legacy_mode,
        public_network_access="Disabled",
        key_vault_id=arm_id("Microsoft.KeyVault/vaults", key_vault) if key_vault else None,
        container_registry_id=arm_id(REGISTRY_TYPE, registry) if registry else None,
        storage_account_id=arm_id(STORAGE_TYPE, storage) if storage else None,
        image_build_compute=image_build_compute,
        managed_network_isolation=managed_network,
        managed_network_status=managed_network_status,
        outbound_rules=tuple(outbound_rules),
    )


def outbound_rule(
    service_resource_id: str,
    subresource_target: str,
    *,
    name: str | None = None,
    status: str | None = "Active",
    category: str | None = "Required",
) -> OutboundRule:
    """A managed VNet's private-endpoint outbound rule to ``subresource_target`` of the resource;
    unnamed, it takes Azure's name for a Required rule (``__SYS_PE_<resource>_<target>``)."""
    return OutboundRule(
        name=name or f"__SYS_PE_{name_of(service_resource_id)}_{subresource_target}",
        type="PrivateEndpoint",
        status=status,
        category=category,
        service_resource_id=service_resource_id,
        subresource_target=subresource_target,
    )


def registry(
    name: str = "crtest",
    *,
    egress_status: str | None = "Approved",
    egress_description: str = EGRESS_DESCRIPTION,
    public_network_access: str | None = "Disabled",
    default_action: str | None = None,
    own_connections: Sequence[PrivateEndpointConnection] = (),
) -> Registry:
    """A registry; ``egress_status=None`` gives it no online-endpoint egress connection (whose
    endpoint Azure ML keeps in Microsoft's subscription); ``own_connections`` are the tenant's."""
    rid = arm_id(REGISTRY_TYPE, name)
    egress = (
        (
            PrivateEndpointConnection(
                id=f"{rid}/privateEndpointConnections/pe-{name}-egress",
                private_endpoint_id=microsoft_managed_endpoint(f"pe-{name}-egress"),
                status=egress_status,
                description=egress_description,
            ),
        )
        if egress_status
        else ()
    )
    connections = (*egress, *own_connections)
    return Registry(
        id=rid,
        name=name,
        resource_group=GROUP,
        public_network_access=public_network_access,
        default_action=default_action,
        private_endpoint_connections=connections,
    )


def endpoint(
    name: str = "ep-test",
    *,
    workspace_name: str = "mlw-test",
    traffic: dict[str, int] | None = None,
    public_network_access: str = "Disabled",
    scoring_uri: str | None = "",
    kind: str = "Managed",
) -> OnlineEndpoint:
    """An endpoint; ``scoring_uri`` "" gives it the managed one of its name, None none yet."""
    ws_id = arm_id(WORKSPACE_TYPE, workspace_name)
    return OnlineEndpoint(
        id=f"{ws_id}/onlineEndpoints/{name}",
        name=name,
        workspace_id=ws_id,
        location="eastus",
        provisioning_state="Succeeded" if scoring_uri is not None else "Creating",
        public_network_access=public_network_access,
        traffic={"blue": 100} if traffic is None else traffic,
        kind=kind,
        scoring_uri=f"https://{name}.eastus.inference.ml.azure.com/score"
        if scoring_uri == ""
        else scoring_uri,
    )


def deployment(
    name: str = "blue",
    *,
    of: OnlineEndpoint | None = None,
    state: str = "Succeeded",
    egress: str = "Disabled",
    modified_at: datetime | None = None,
) -> OnlineDeployment:
    parent = of or endpoint()
    return OnlineDeployment(
        id=f"{parent.id}/deployments/{name}",
        name=name,
        endpoint_id=parent.id,
        provisioning_state=state,
        egress_public_network_access=egress,
        compute_type="Managed",
        last_modified_at=modified_at,
    )


def assignment(
    scope: str = f"/subscriptions/{SUBSCRIPTION}",
    *,
    name: str = "require-v1",
    definition_id: str = V1_POLICY_ID,
    effect: str | None = "Deny",
    enforcement_mode: str = "Default",
    not_scopes: tuple[str, ...] = (),
) -> PolicyAssignment:
    return PolicyAssignment(
        id=f"{scope}/providers/Microsoft.Authorization/policyAssignments/{name}",
        name=name,
        display_name=name,
        scope=scope,
        not_scopes=not_scopes,
        policy_definition_id=definition_id,
        enforcement_mode=enforcement_mode,
        parameters={"effect": effect} if effect else {},
    )


def v1_legacy_mode_policy(
    definition_id: str = V1_POLICY_ID, *, fields: tuple[str, ...] | None = None
) -> PolicyDefinition:
    """The built-in V1LegacyMode definition as the probe records it (effect parameterised)."""
    return PolicyDefinition(
        id=definition_id,
        display_name="Azure Machine Learning workspaces should enable V1LegacyMode",
        policy_type="BuiltIn",
        fields=fields if fields is not None else ("type", f"{WORKSPACE_TYPE}/v1LegacyMode"),
        effect="[parameters('effect')]",
        parameter_defaults={"effect": "Audit"},
    )


def key_vault(
    name: str = "kv-test",
    *,
    bypass: str | None = "AzureServices",
    default_action: str | None = "Deny",
    public_network_access: str | None = "Disabled",
    location: str = "eastus",
) -> KeyVault:
    return KeyVault(
        id=arm_id("Microsoft.KeyVault/vaults", name),
        name=name,
        resource_group=GROUP,
        bypass=bypass,
        default_action=default_action,
        ip_rules=(),
        virtual_network_rules=(),
        public_network_access=public_network_access,
        location=location,
    )


def failed(
    resource_id: str,
    problem: ReadProblem,
    *,
    message: str | None = None,
    status_code: int | None = None,
    permission: str | None = None,
) -> Read[Any]:
    """A read that failed, as the ARM probe reports it."""
    failure = ReadFailure(problem, message or problem.value, status_code, permission)
    return Read(resource_id, failure=failure)


def facts(
    workspaces: Sequence[Workspace | Read[Workspace]] = (),
    vaults: Sequence[KeyVault | Read[KeyVault]] = (),
    *,
    registries: Sequence[Registry | Read[Registry]] = (),
    endpoints: Sequence[OnlineEndpoint] = (),
    deployments: Sequence[OnlineDeployment] = (),
    failed_lists: Sequence[Read[Any]] = (),
    assignments: Sequence[PolicyAssignment] | Read[Any] = (),
    definitions: Sequence[PolicyDefinition | Read[PolicyDefinition]] = (),
    subscriptions: Read[tuple[Subscription, ...]] | None = None,
    observed_at: datetime | None = None,
) -> Facts:
    """Facts from resources (read fine) and failed reads, in any mix.

    Every workspace gets its endpoint list and every endpoint its deployment list (empty when
    none is given); ``failed_lists`` (reads of ``<parent>/onlineEndpoints`` or
    ``<parent>/deployments``, as the probe makes them) replace the lists of their parents.
    ``assignments`` apply in the test subscription; the identity sees the test subscription
    unless ``subscriptions`` says otherwise.
    """
    read = _reads
    ws_reads = read(workspaces)
    by_parent: dict[str, Read[Any]] = {
        r.value.id.lower(): Read(
            f"{r.value.id}/onlineEndpoints",
            value=tuple(e for e in endpoints if e.workspace_id.lower() == r.value.id.lower()),
        )
        for r in ws_reads
        if r.value is not None
    }
    deployment_lists: dict[str, Read[Any]] = {
        e.id.lower(): Read(
            f"{e.id}/deployments",
            value=tuple(d for d in deployments if d.endpoint_id.lower() == e.id.lower()),
        )
        for e in endpoints
    }
    for failure in failed_lists:
        key = failure.resource_id.lower()
        if key.endswith("/deployments"):
            deployment_lists[key.removesuffix("/deployments")] = failure
        else:
            by_parent[key.removesuffix("/onlineendpoints")] = failure

    listed = (
        assignments
        if isinstance(assignments, Read)
        else Read(f"/subscriptions/{SUBSCRIPTION}", value=tuple(assignments))
    )
    return Facts(
        workspaces=tuple(ws_reads),
        key_vaults={r.resource_id.lower(): r for r in read(vaults)},
        registries={r.resource_id.lower(): r for r in read(registries)},
        online_endpoints=by_parent,
        online_deployments=deployment_lists,
        policy_assignments={SUBSCRIPTION: listed},
        policy_definitions={r.resource_id.lower(): r for r in read(definitions)},
        subscriptions=subscriptions or VISIBLE_SUBSCRIPTIONS,
        observed_at=observed_at,
    )


VISIBLE_SUBSCRIPTIONS: Read[tuple[Subscription, ...]] = Read(
    "/subscriptions", value=(Subscription(SUBSCRIPTION, "Test subscription", "Enabled"),)
)


def _reads(items: Sequence[Any]) -> list[Read[Any]]:
    return [i if isinstance(i, Read) else Read(i.id, value=i) for i in items]


def finding_event(
    check_id: str,
    resource: str,
    status: Status = Status.FAIL,
    *,
    observed: dict[str, Any] | None = None,
    expected: dict[str, Any] | None = None,
    subject: str = "",
    message: str | None = None,
    command: str | None = "az resource show --ids {resource_id}",
    run_id: str = "00000000-0000-4000-8000-000000000001",
    observed_at: datetime = datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
) -> dict[str, Any]:
    """A finding event made by ``netverify.sinks.events.to_event``, for report and sink tests.

    ``resource`` with a dot is an FQDN (as DNS findings have); otherwise a workspace's name.
    """
    resource_id = resource if "." in resource else arm_id(WORKSPACE_TYPE, resource)
    meta = CheckMeta(
        check_id,
        check_id.replace("_", " ").capitalize(),
        Severity.HIGH,
        f"Why {check_id} matters.",
        "Fix {name}.",
        command or "",
    )
    finding = Finding(
        meta,
        status,
        resource_id,
        message or f"{check_id} is {status.value} for {resource}.",
        Evidence(observed or {}, expected or {}),
        meta.remediation(name=resource, resource_id=resource_id)
        if status in (Status.FAIL, Status.ERROR)
        else None,
        subject,
    )
    run = RunContext(run_id, observed_at, observed_at, Agent("agent-test", None), "AzureCloud")
    return to_event(finding, run)


def resolution(
    fqdn: str,
    resolver: str,
    kind: str,
    rcode: str = "NOERROR",
    addresses: Sequence[str] = (),
    cname_chain: Sequence[str] = (),
    detail: str = "",
) -> dict[str, Any]:
    """One resolver's answer for one name, as DNS findings carry it in ``evidence.observed.resolutions``."""
    return {
        "fqdn": fqdn,
        "resolver": resolver,
        "resolver_kind": kind,
        "rcode": rcode,
        "addresses": list(addresses),
        "cname_chain": list(cname_chain),
        "detail": detail,
    }


def finding_events(
    workspace_count: int = 1, *, broken: bool = True, agent: str = "agent-test"
) -> list[dict[str, Any]]:
    """The events of one run of the two foundation checks (v1_legacy_mode, Key Vault bypass)
    over ``workspace_count`` workspaces and vaults: two events per workspace, whatever other
    checks exist, so sink tests can count.

    Broken workspaces have v1_legacy_mode on and a vault without the AzureServices bypass.
    """
    checks = [c for c in load_checks() if c.meta.id in FOUNDATION_CHECKS]

    names = [f"mlw-{i:06d}" for i in range(workspace_count)]
    observed = facts(
        [workspace(n, v1_legacy_mode=broken, key_vault=f"kv-{n}") for n in names],
        [key_vault(f"kv-{n}", bypass=None if broken else "AzureServices") for n in names],
    )
    now = datetime.now(UTC)
    context = RunContext(str(uuid.uuid4()), now, now, Agent(agent, None), "AzureCloud")
    return [to_event(f, context) for f in evaluate(checks, observed)]


# -- DNS -------------------------------------------------------------------------------------

VNET_ID = arm_id("Microsoft.Network/virtualNetworks", "vnet-hub")
ZONE_ID = arm_id("Microsoft.Network/privateDnsZones", "privatelink.api.azureml.ms")
ENDPOINT_ID = arm_id("Microsoft.Network/privateEndpoints", "pe-mlw-test")
API_NAME = "ws.workspace.eastus.api.azureml.ms"
HOST, CUSTOM, AZURE = "host", "custom 10.0.0.4", "azure 168.63.129.16"
RESOLVERS = (
    Resolver(HOST, ResolverKind.HOST, "/etc/resolv.conf", ("10.0.0.4:53",)),
    Resolver(CUSTOM, ResolverKind.CUSTOM, "10.0.0.4", ("10.0.0.4:53",)),
    Resolver(AZURE, ResolverKind.AZURE, "168.63.129.16", ("168.63.129.16:53",)),
)


def expected_name(
    fqdn: str = API_NAME,
    *,
    ips: tuple[str, ...] = ("10.0.1.5",),
    record: str = "ws.workspace.eastus",
    zone_ids: tuple[str, ...] = (ZONE_ID,),
    forwarder_zones: tuple[str, ...] = ("api.azureml.ms",),
    endpoints: Sequence[EndpointAddresses] | None = None,
    reachable: tuple[str, ...] = (),
) -> ExpectedName:
    """A name served by one endpoint in the hub VNet with ``ips``, unless ``endpoints`` says
    otherwise (``reachable``: the ids of those the agent's VNet reaches)."""
    return ExpectedName(
        fqdn=fqdn,
        purpose="workspace API",
        workspace_id=arm_id(WORKSPACE_TYPE, "mlw-test"),
        workspace_name="mlw-test",
        endpoints=tuple(endpoints)
        if endpoints is not None
        else (EndpointAddresses(ENDPOINT_ID, ips, VNET_ID),),
        reachable=reachable,
        zone_name="privatelink.api.azureml.ms",
        record_name=record,
        zone_ids=zone_ids,
        forwarder_zones=forwarder_zones,
    )


def private_zone(
    records: dict[str, tuple[str, ...]] | None = None,
    *,
    linked: tuple[str, ...] = (VNET_ID,),
    zone_id: str = ZONE_ID,
) -> PrivateDnsZone:
    chosen = {"ws.workspace.eastus": ("10.0.1.5",)} if records is None else records
    return PrivateDnsZone(
        zone_id,
        zone_id.rsplit("/", 1)[-1],
        tuple(DnsRecordSet(name, "A", values) for name, values in chosen.items()),
        linked,
    )


def dns_answer(
    resolver: str,
    addresses: tuple[str, ...] = ("10.0.1.5",),
    *,
    fqdn: str = API_NAME,
    rcode: str = "NOERROR",
    chain: tuple[str, ...] = ("ws.workspace.eastus.privatelink.api.azureml.ms",),
) -> DnsAnswer:
    return DnsAnswer(fqdn, resolver, "10.0.0.4:53", rcode, chain, addresses, 1.0)


def dns_facts(
    answers: Sequence[DnsAnswer] = (),
    *,
    names: Sequence[ExpectedName] | None = None,
    zones: Sequence[PrivateDnsZone | Read[PrivateDnsZone]] | None = None,
    vnet: VirtualNetwork | Read[VirtualNetwork] | None = None,
    agent_vnet: bool = True,
    resolvers: Sequence[Resolver] = RESOLVERS,
    host_resolver: bool = True,
    reachability: Sequence[Reachability] = (),
    private_endpoints: Sequence[Read[PrivateEndpoint]] = (),
    gaps: Sequence[Read[Any]] = (),
    zone_search: Read[tuple[str, ...]] | None = None,
    private_resolvers: Sequence[Read[PrivateResolvers]] = (),
    endpoint_vnets: Sequence[VirtualNetwork] = (),
    scoring: Sequence[ScoringProbe] = (),
) -> Facts:
    """Facts with DNS: by default one workspace API name, a linked zone holding its record and
    a hub VNet (10.0.0.0/16, DNS server 10.0.0.4); ``answers`` as given.

    The varied shapes real estates have: ``vnet`` may be a failed read (``failed``);
    ``agent_vnet=False`` leaves agent.vnet_id unset; ``host_resolver=False`` drops the host's
    resolver (``use_host_resolver = false``); ``private_endpoints`` are reads of the endpoints
    (failed ones, typically); ``gaps`` are failed endpoint-list reads (names that could not be
    known); ``zone_search`` is the search for zones by name; ``private_resolvers`` the
    per-subscription reads of DNS Private Resolvers and rulesets; ``endpoint_vnets`` the VNets
    of the private endpoints (``spoke_vnet`` for ``spoke_name``); ``scoring`` the scoring path
    probes (``scoring_probe``).
    """
    zone_reads = [
        z if isinstance(z, Read) else Read(z.id, value=z)
        for z in ([private_zone()] if zones is None else zones)
    ]
    chosen = vnet or VirtualNetwork(VNET_ID, "vnet-hub", ("10.0.0.0/16",), ("10.0.0.4",))
    vnet_read = chosen if isinstance(chosen, Read) else Read(chosen.id, value=chosen)
    return Facts(
        dns=DnsFacts(
            agent_vnet_id=vnet_read.resource_id if agent_vnet else None,
            agent_vnet=vnet_read if agent_vnet else None,
            private_endpoints={r.resource_id.lower(): r for r in private_endpoints},
            zones={r.resource_id.lower(): r for r in zone_reads},
            expected=tuple([expected_name()] if names is None else names),
            resolvers=tuple(
                r for r in resolvers if host_resolver or r.kind is not ResolverKind.HOST
            ),
            answers=tuple(answers),
            reachability=tuple(reachability),
            gaps=tuple(gaps),
            zone_search=zone_search,
            private_resolvers=tuple(private_resolvers),
            endpoint_vnets={v.id.lower(): Read(v.id, value=v) for v in endpoint_vnets},
            scoring=tuple(scoring),
        )
    )


def healthy_answers(
    fqdn: str = API_NAME,
    ip: str = "10.0.1.5",
    *,
    failing: Sequence[str] = (),
    rcode: str = "TIMEOUT",
) -> list[DnsAnswer]:
    """Every resolver answers ``fqdn`` with ``ip``, except those in ``failing`` (e.g. ``HOST``:
    a host resolver that fails), which answer ``rcode`` with no address."""
    return [
        dns_answer(r, rcode=rcode, addresses=(), fqdn=fqdn, chain=())
        if r in failing
        else dns_answer(r, (ip,), fqdn=fqdn)
        for r in (HOST, CUSTOM, AZURE)
    ]


def scoring_probe(answer: HttpAnswer, *, kubernetes: bool = False) -> ScoringProbe:
    """The scoring path probe of endpoint ep-test of mlw-test (its inference router's when
    ``kubernetes``), which got ``answer``."""
    ep = endpoint(kind="K8S" if kubernetes else "Managed")
    return ScoringProbe(ep.id, ep.name, ep.workspace_id, kubernetes, answer)


# A spoke VNet peered with the hub, holding a private endpoint of the workspace.
SPOKE_VNET_ID = arm_id("Microsoft.Network/virtualNetworks", "vnet-spoke")
SPOKE_ENDPOINT_ID = arm_id("Microsoft.Network/privateEndpoints", "pe-mlw-spoke")


def spoke_vnet() -> VirtualNetwork:
    """The spoke (10.2.0.0/16), peered with the hub."""
    return VirtualNetwork(SPOKE_VNET_ID, "vnet-spoke", ("10.2.0.0/16",), (), (VNET_ID,))


def spoke_name(fqdn: str = API_NAME, ip: str = "10.2.0.5") -> ExpectedName:
    """A name served only by the private endpoint in the peered spoke, which the hub reaches."""
    return expected_name(
        fqdn,
        endpoints=[EndpointAddresses(SPOKE_ENDPOINT_ID, (ip,), SPOKE_VNET_ID)],
        reachable=(SPOKE_ENDPOINT_ID,),
    )


def mixed_case(resource_id: str) -> str:
    """``resource_id`` as ARM sometimes spells it back: provider namespace and types lower
    case, the subscription GUID and resource group upper case, names as given. ARM ids are
    case-insensitive; a check that compares them as strings flips its verdict on this."""
    head, _, tail = resource_id.partition("/providers/")
    parts = head.split("/")  # ['', 'subscriptions', GUID, 'resourceGroups', group]
    upper = [p.upper() if i in (2, 4) else p for i, p in enumerate(parts)]
    namespace, *rest = tail.split("/")
    types = [p.lower() if i % 2 == 0 else p for i, p in enumerate(rest)]
    return "/".join(upper) + "/providers/" + "/".join([namespace.lower(), *types])


def failed_list(parent_id: str, listed: str = "onlineEndpoints") -> Read[Any]:
    """A list read under ``parent_id`` (its ``onlineEndpoints`` or ``deployments``) that
    failed: ARM answered 503 until the retries ran out."""
    return failed(
        f"{parent_id}/{listed}",
        ReadProblem.UNAVAILABLE,
        message="ARM answered 503 after retries",
        status_code=503,
    )


# A second DNS server the hub VNet hands out (10.0.0.5), beside CUSTOM (10.0.0.4).
SECOND_SERVER = Resolver("custom 10.0.0.5", ResolverKind.CUSTOM, "10.0.0.5", ("10.0.0.5:53",))
TWO_SERVERS_VNET = VirtualNetwork(VNET_ID, "vnet-hub", ("10.0.0.0/16",), ("10.0.0.4", "10.0.0.5"))
