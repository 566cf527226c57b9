"""Install paths in deploy/: the install script for real in a throwaway root; the ARM template,
cloud-init, container image and Kubernetes manifests structurally (no Azure, docker or cluster)."""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from netverify.azure.clouds import CloudName
from netverify.cli import _parser
from netverify.config import load_config, parse_config
from tests.conftest import build_wheel

REPO = Path(__file__).parent.parent
DEPLOY = REPO / "deploy"
INSTALL = DEPLOY / "install.sh"
SUBSCRIPTION = "6d3b1a52-8f1e-4c3a-9a7e-2b5c8d9e0f11"
WORKSPACE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ml/providers/"
    "Microsoft.MachineLearningServices/workspaces/mlw-prod"
)
VNET = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-hub"
UNITS = ("netverify.service", "netverify-run.service", "netverify.timer")
PLACEHOLDER = re.compile(r"@@([A-Z_]+)@@")


# -- install.sh in a throwaway root ----------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """netverify built as the wheel a VM would install."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def install(root: Path, wheel: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run deploy/install.sh with DESTDIR=root, offline.

    Tests may not reach a package index, so pip installs only the wheel (--no-index --no-deps)
    and the installed netverify finds its dependencies in this test venv through PYTHONPATH.
    """
    env = {
        **os.environ,
        "DESTDIR": str(root),
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
    }
    return subprocess.run(
        ["bash", str(INSTALL), "--source", str(wheel), "--pip-args", "--no-index --no-deps", *args],
        cwd=root.parent,  # not the checkout, whose netverify/ would shadow the installed one
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    root = tmp_path_factory.mktemp("timer") / "root"
    done = install(
        root,
        wheel,
        "--cloud",
        "AzureChinaCloud",
        "--workspace",
        WORKSPACE,
        "--client-id",
        "11111111-2222-3333-4444-555555555555",
        "--agent-name",
        "agent-hub",
        "--vnet-id",
        VNET,
    )
    assert 0 == done.returncode, done.stderr
    return root


def test_install_writes_the_config_from_its_parameters(installed: Path) -> None:
    """/etc/netverify/config.toml carries every option given, is valid and world-readable."""
    path = installed / "etc/netverify/config.toml"

    config = load_config(path)

    assert CloudName.CHINA is config.cloud
    assert "11111111-2222-3333-4444-555555555555" == config.credential.client_id
    assert (WORKSPACE,) == config.scope.workspaces
    assert ("agent-hub", VNET) == (config.agent.name, config.agent.vnet_id)
    assert 0o644 == stat.S_IMODE(path.stat().st_mode)


def test_install_puts_netverify_in_a_venv_under_opt(installed: Path) -> None:
    """The venv's netverify runs, and ships its checks and units inside the package."""
    venv = installed / "opt/netverify/venv"
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}

    listed = subprocess.run(
        [str(venv / "bin/netverify"), "checks", "list", "-o", "json"],
        cwd=installed,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert 0 == listed.returncode, listed.stderr
    assert "workspace_v1_legacy_mode_disabled" in {c["id"] for c in json.loads(listed.stdout)}
    [package] = venv.glob("lib/python3*/site-packages/netverify")
    assert {"check.py", "metadata.toml"} <= {p.name for p in package.glob("checks/*/*")}


def test_install_installs_the_units_and_enables_the_timer(installed: Path) -> None:
    """The repository's three units, byte for byte, and the timer wanted by timers.target."""
    units = installed / "etc/systemd/system"

    for name in UNITS:
        assert (REPO / "systemd" / name).read_bytes() == (units / name).read_bytes()
    wanted = units / "timers.target.wants" / "netverify.timer"
    assert "/etc/systemd/system/netverify.timer" == os.readlink(wanted)
    assert not (units / "multi-user.target.wants" / "netverify.service").exists()


def test_daemon_mode_enables_the_service(tmp_path: Path, wheel: Path) -> None:
    """--mode daemon enables netverify.service (multi-user.target) instead of the timer."""
    done = install(tmp_path / "root", wheel, "--mode", "daemon", "--workspace", WORKSPACE)

    assert 0 == done.returncode, done.stderr
    units = tmp_path / "root/etc/systemd/system"
    assert (units / "multi-user.target.wants" / "netverify.service").is_symlink()
    assert not (units / "timers.target.wants").exists()


def test_a_bad_parameter_stops_before_writing_a_config(tmp_path: Path, wheel: Path) -> None:
    """A workspace id that is not one fails with the config error, and no config or unit appears."""
    done = install(tmp_path / "root", wheel, "--workspace", "mlw-prod")

    assert 0 != done.returncode
    assert "scope.workspaces[0]" in done.stderr
    assert not (tmp_path / "root/etc/netverify/config.toml").exists()
    assert not (tmp_path / "root/etc/systemd/system").exists()


def test_keep_config_leaves_an_existing_config_alone(tmp_path: Path, wheel: Path) -> None:
    """An upgrade with --keep-config checks the existing file and does not rewrite it."""
    root = tmp_path / "root"
    config = root / "etc/netverify/config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'cloud = "AzureUSGovernment"\n[scope]\nworkspaces = ["{WORKSPACE}"]\n')

    done = install(root, wheel, "--keep-config", "--workspace", "ignored-when-kept")

    assert 0 == done.returncode, done.stderr
    assert CloudName.US_GOVERNMENT is load_config(config).cloud


def install_options() -> set[str]:
    return set(re.findall(r"^\s+(--[a-z-]+)\)", INSTALL.read_text(), re.M))


# -- cloud-init ------------------------------------------------------------------------------


def cloud_init_text() -> str:
    return (DEPLOY / "cloud-init.yaml").read_text(encoding="utf-8")


def test_cloud_init_is_cloud_config_that_runs_the_install_script() -> None:
    """With its placeholders filled it is YAML cloud-config whose command uses real options."""
    values = {
        "INSTALL_SCRIPT_URL": "https://stnetverify.blob.core.windows.net/dist/install.sh",
        "SOURCE": "https://stnetverify.blob.core.windows.net/dist/netverify-0.1.0-py3-none-any.whl",
        "PIP_ARGS": "",
        "CLOUD": "AzureCloud",
        "CLIENT_ID": "11111111-2222-3333-4444-555555555555",
        "AGENT_NAME": "netverify-agent",
        "VNET_ID": VNET,
        "WORKSPACE_ARGS": f"--workspace '{WORKSPACE}'",
    }
    text = PLACEHOLDER.sub(lambda m: values[m.group(1)], cloud_init_text())

    document = yaml.safe_load(text)
    [command] = document["runcmd"]
    words = shlex.split(command[2].split("bash /root/netverify-install.sh", 1)[1])

    assert text.startswith("#cloud-config\n")
    assert "python3-venv" in document["packages"]
    assert ["bash", "-c"] == command[:2]
    assert {w for w in words if w.startswith("--")} <= install_options()
    assert WORKSPACE == words[words.index("--workspace") + 1]


# -- ARM template ----------------------------------------------------------------------------


def template() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DEPLOY / "azure" / "agent-vm.json").read_text())
    return document


def expressions(value: Any) -> Iterator[str]:
    """Every string in a template part (keys too: userAssignedIdentities are keyed by id)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from expressions(item)
    elif isinstance(value, str):
        yield value


def references(part: Any, kind: str) -> set[str]:
    return {m for s in expressions(part) for m in re.findall(rf"{kind}\('([A-Za-z]+)'\)", s)}


def nested(document: dict[str, Any]) -> dict[str, Any]:
    [deployment] = [
        r for r in document["resources"] if r["type"] == "Microsoft.Resources/deployments"
    ]
    return deployment


def resource(document: dict[str, Any], kind: str) -> dict[str, Any]:
    [found] = [r for r in document["resources"] if r["type"] == kind]
    return found


@pytest.mark.parametrize("level", ["subscription", "resource group"])
def test_template_parameters_and_variables_are_declared_and_used(level: str) -> None:
    """At both levels every parameters()/variables() names a declaration, and each is used."""
    outer = template()
    inner = nested(outer)["properties"].pop("template")  # judged on its own, at its level
    document = outer if level == "subscription" else inner
    body = {k: v for k, v in document.items() if k not in ("parameters", "variables")}
    body_and_variables = [body, document.get("variables", {})]

    assert set(document["parameters"]) == references(body_and_variables, "parameters") | references(
        document["parameters"], "parameters"
    )
    assert set(document.get("variables", {})) == references(body_and_variables, "variables")


def test_the_nested_deployment_passes_every_inner_parameter() -> None:
    """Inner-scoped evaluation: each inner parameter gets a value from an outer parameter."""
    deployment = nested(template())
    inner = deployment["properties"]["template"]

    assert "inner" == deployment["properties"]["expressionEvaluationOptions"]["scope"]
    assert set(inner["parameters"]) == set(deployment["properties"]["parameters"])
    assert set(template()["parameters"]) >= references(
        deployment["properties"]["parameters"], "parameters"
    )


def test_the_template_deploys_at_subscription_scope() -> None:
    """Subscription scope, so the role assignment can cover the whole subscription."""
    assert template()["$schema"].endswith("/subscriptionDeploymentTemplate.json#")
    assert all(
        re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["apiVersion"]) for r in expressions_of_resources()
    )


def expressions_of_resources() -> list[dict[str, Any]]:
    inner = nested(template())["properties"]["template"]
    return [*template()["resources"], *inner["resources"]]


def test_the_vm_has_the_identity_no_public_ip_and_ssh_keys_only() -> None:
    """User-assigned identity, a NIC in the given subnet without a public IP, no password login."""
    inner = nested(template())["properties"]["template"]
    vm = resource(inner, "Microsoft.Compute/virtualMachines")
    nic = resource(inner, "Microsoft.Network/networkInterfaces")
    [ip] = nic["properties"]["ipConfigurations"]

    assert "UserAssigned" == vm["identity"]["type"]
    [identity_key] = vm["identity"]["userAssignedIdentities"]
    assert "Microsoft.ManagedIdentity/userAssignedIdentities" in identity_key
    assert "[parameters('subnetId')]" == ip["properties"]["subnet"]["id"]
    assert "publicIPAddress" not in ip["properties"]
    assert (
        vm["properties"]["osProfile"]["linuxConfiguration"]["disablePasswordAuthentication"] is True
    )


def test_custom_data_fills_every_cloud_init_placeholder() -> None:
    """customData is base64 of cloud-init.yaml with each of its @@NAME@@ replaced, none invented."""
    inner = nested(template())["properties"]["template"]
    custom_data = resource(inner, "Microsoft.Compute/virtualMachines")["properties"]["osProfile"][
        "customData"
    ]

    assert custom_data.startswith("[base64(")
    assert "parameters('cloudInit')" in custom_data
    assert set(PLACEHOLDER.findall(cloud_init_text())) == set(PLACEHOLDER.findall(custom_data))


def test_the_role_assignment_gives_the_identity_the_netverify_role() -> None:
    """At the subscription, to the identity's principal (a service principal), after the VM."""
    assignment = resource(template(), "Microsoft.Authorization/roleAssignments")
    props = assignment["properties"]

    assert "parameters('roleDefinitionId')" in props["roleDefinitionId"]
    assert props["roleDefinitionId"].startswith(
        "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions'"
    )
    assert "outputs.principalId.value" in props["principalId"]
    assert "ServicePrincipal" == props["principalType"]
    assert any("Microsoft.Resources/deployments" in d for d in assignment["dependsOn"])


def test_the_cloud_defaults_to_the_deployment_environment() -> None:
    """`environment().name` gives the cloud's name as netverify spells it; all three are allowed."""
    cloud = template()["parameters"]["cloud"]

    assert "[environment().name]" == cloud["defaultValue"]
    assert [c.value for c in CloudName] == cloud["allowedValues"]


# -- container image -------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (DEPLOY / "container" / "Dockerfile").read_text(encoding="utf-8")
    lines = [
        line
        for line in text.replace("\\\n", " ").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_the_image_copies_what_exists_and_runs_netverify_as_non_root() -> None:
    """Each COPY source exists in the repo; the final stage runs netverify as UID 10001."""
    instructions = dockerfile()
    final = instructions[max(i for i, (op, _) in enumerate(instructions) if op == "FROM") :]

    sources = [a.split()[:-1] for op, a in instructions if op == "COPY" and "--from" not in a]
    assert all((REPO / s).exists() for group in sources for s in group)
    assert 2 == sum(op == "FROM" for op, _ in instructions)
    assert ("USER", "10001") in final
    assert ["netverify"] == json.loads(dict(final)["ENTRYPOINT"])
    default = json.loads(dict(final)["CMD"])
    _parser().parse_args(default)  # the default command is one netverify accepts
    assert "/opt/netverify/venv" in dict(final)["COPY"]


# -- Kubernetes ------------------------------------------------------------------------------


def manifests() -> dict[str, dict[str, Any]]:
    """kind -> manifest, for every file the kustomization lists."""
    kustomization = yaml.safe_load((DEPLOY / "kubernetes" / "kustomization.yaml").read_text())
    found = {}
    for name in kustomization["resources"]:
        for document in yaml.safe_load_all((DEPLOY / "kubernetes" / name).read_text()):
            found[document["kind"]] = document
    return found


def pod_spec(manifest: dict[str, Any]) -> dict[str, Any]:
    if manifest["kind"] == "CronJob":
        template: dict[str, Any] = manifest["spec"]["jobTemplate"]["spec"]["template"]
    else:
        template = manifest["spec"]["template"]
    return template


def test_the_manifests_are_the_expected_kinds_in_one_namespace() -> None:
    """Namespace, ServiceAccount, ConfigMap, CronJob (one-shot), Deployment (daemon)."""
    found = manifests()

    assert {
        "Namespace": "v1",
        "ServiceAccount": "v1",
        "ConfigMap": "v1",
        "CronJob": "batch/v1",
        "Deployment": "apps/v1",
    } == {kind: m["apiVersion"] for kind, m in found.items()}
    names = {m["metadata"].get("namespace") for kind, m in found.items() if kind != "Namespace"}
    assert {found["Namespace"]["metadata"]["name"]} == names


def test_the_configmap_holds_a_valid_config() -> None:
    """The config.toml in the ConfigMap passes netverify's own validation."""
    config = parse_config(manifests()["ConfigMap"]["data"]["config.toml"], "configmap.yaml")

    assert config.scope.workspaces


@pytest.mark.parametrize("kind", ["CronJob", "Deployment"])
def test_pods_use_workload_identity_the_config_and_no_privileges(kind: str) -> None:
    """Workload identity, the ConfigMap at /etc/netverify, non-root, read-only, no capabilities."""
    found = manifests()
    template = pod_spec(found[kind])
    spec = template["spec"]
    [container] = spec["containers"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}

    assert "true" == template["metadata"]["labels"]["azure.workload.identity/use"]
    assert found["ServiceAccount"]["metadata"]["name"] == spec["serviceAccountName"]
    assert "azure.workload.identity/client-id" in found["ServiceAccount"]["metadata"]["annotations"]
    assert (
        found["ConfigMap"]["metadata"]["name"]
        == volumes[mounts["/etc/netverify"]]["configMap"]["name"]
    )
    assert "/var/lib/netverify" in mounts
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def test_the_cronjob_runs_once_without_retries_or_overlap() -> None:
    """`netverify run` (arguments the CLI accepts), never two at once, a failed run not retried."""
    cronjob = manifests()["CronJob"]
    [container] = pod_spec(cronjob)["spec"]["containers"]

    _parser().parse_args(container["args"])
    assert "run" == container["args"][0]
    assert "Forbid" == cronjob["spec"]["concurrencyPolicy"]
    assert 0 == cronjob["spec"]["jobTemplate"]["spec"]["backoffLimit"]


def test_the_deployment_runs_the_daemon_like_the_systemd_unit() -> None:
    """One replica of `netverify serve` with the arguments of systemd/netverify.service."""
    deployment = manifests()["Deployment"]
    [container] = pod_spec(deployment)["spec"]["containers"]
    exec_start = re.search(
        r"^ExecStart=\S+/netverify (.*)$", (REPO / "systemd/netverify.service").read_text(), re.M
    )

    assert exec_start is not None
    assert exec_start.group(1).split() == container["args"]
    assert 1 == deployment["spec"]["replicas"]
    assert "Recreate" == deployment["spec"]["strategy"]["type"]
