"""The configuration file: every bad file gets a message naming file, key and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from netverify.cli import main
from netverify.config import ConfigError, SyslogSink, load_config, parse_config

WS = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
    "/providers/Microsoft.MachineLearningServices/workspaces/mlw"
)

BAD_FILES = [
    ('[dns]\nazure_dnss = "127.0.0.1"\n', "dns.azure_dnss: unknown key (expected one of: "),
    ('[arm]\ntimeout_seconds = "soon"\n', "arm.timeout_seconds: 'soon' is not a number"),
    (
        'cloud = "AzureGermanCloud"\n',
        "cloud: 'AzureGermanCloud' is not 'AzureCloud', 'AzureChinaCloud' or",
    ),
    (
        '[scope]\nworkspaces = ["/subscriptions/x/resourceGroups/rg"]\n',
        "scope.workspaces[0]: '/subscriptions/x/resourceGroups/rg' is not a "
        "Microsoft.MachineLearningServices/workspaces id: expected /subscriptions/<id>/"
        "resourceGroups/<group>/providers/Microsoft.MachineLearningServices/workspaces/<name>",
    ),
    (
        '[scope]\nworkspaces = ["/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"]\n',
        "scope.workspaces[0]: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv' "
        "is a Microsoft.KeyVault/vaults id, expected a Microsoft.MachineLearningServices/workspaces id",
    ),
    (
        '[dns]\ncustom_servers = ["10.0.0.4:70000"]\n',
        "dns.custom_servers[0]: '10.0.0.4:70000' is not host",
    ),
    (
        '[credential]\nkind = "password"\n',
        "credential.kind: 'password' is not 'managed_identity' or 'default'",
    ),
    ('[[sinks]]\ntype = "jsonl_file"\n', "sinks[0].path: required key is missing"),
    (
        '[[sinks]]\ntype = "jsonl_file"\npath = "/x"\nrotate = 3\n',
        "sinks[0].rotate: unknown key (expected one of: type, path, format, name)",
    ),
    (
        '[[sinks]]\ntype = "splunk_hec"\nurl = "http://splunk:8088"\ntoken_env = "T"\n',
        "sinks[0].url: 'http://splunk:8088' is not an https:// URL (TLS is required)",
    ),
    (
        '[[sinks]]\ntype = "splunk_hec"\nurl = "https://splunk:8088"\n',
        "sinks[0]: set token_file or token_env",
    ),
    (
        '[[sinks]]\ntype = "webhook"\nurl = "https://h"\nauthorization_file = "/a"\n'
        'authorization_env = "A"\n',
        "sinks[0]: set authorization_file or authorization_env, not both",
    ),
    (
        '[[sinks]]\ntype = "syslog"\nhost = "10.0.0.9"\nprotocol = "relp"\n',
        "sinks[0].protocol: 'relp' is not 'udp', 'tcp' or 'tls'",
    ),
    (
        '[[sinks]]\ntype = "syslog"\nhost = "10.0.0.9"\nprotocol = "udp"\n'
        "max_message_bytes = 65508\n",
        "sinks[0]: max_message_bytes over udp is at most 65507",
    ),
    (
        '[[sinks]]\ntype = "azure_monitor"\nendpoint = "https://dce.ingest.monitor.azure.com"\n'
        'rule_id = "dcr-0123456789abcdef0123456789abcdef"\nstream = "Custom-NetverifyEvents"\n'
        'format = "ecs"\n',
        "sinks[0].format: 'ecs': the Logs Ingestion sink carries json (the columns of "
        "deploy/azure/netverify-dcr.json) or ocsf; ecs's @timestamp and dotted names, and "
        "cef's text, cannot be columns",
    ),
    (
        '[[sinks]]\ntype = "azure_monitor"\nendpoint = "https://dce.ingest.monitor.azure.com"\n'
        'rule_id = "my-rule"\nstream = "Custom-Netverify_CL"\n',
        "sinks[0].rule_id: String should match pattern",
    ),
    (
        '[[sinks]]\ntype = "stdout"\n[[sinks]]\ntype = "jsonl_file"\npath = "/x"\nname = "stdout-0"\n',
        "(top level): sink names must be unique (got stdout-0, stdout-0)",
    ),
    (
        "[delivery]\nmax_events = 0\n",
        "delivery.max_events: 0 is out of range (expected a whole number at least 1 and at "
        "most 10000000)",
    ),
    (
        '[schedule]\ninterval_minutes = 5\ncron = "* * * * *"\n',
        "schedule: set either interval_minutes or cron, not both",
    ),
    ("cloud = \n", "not valid TOML"),
    (
        '[scope]\nsubscriptions = ["prod"]\n',
        "scope.subscriptions[0]: 'prod' is not a subscription id: expected a GUID",
    ),
    (
        '[scope]\nresource_groups = ["/subscriptions/00000000-0000-0000-0000-000000000000"]\n',
        "scope.resource_groups[0]: '/subscriptions/00000000-0000-0000-0000-000000000000' is not "
        "a resource group id: expected /subscriptions/<id>/resourceGroups/<group>",
    ),
    (
        '[scope]\nresource_groups = ["/subscriptions/x/resourceGroups/rg"]\n',
        "scope.resource_groups[0]: 'x' is not a subscription id",
    ),
    (
        '[scope]\nmanagement_group = "mg/ml"\n',
        "scope.management_group: 'mg/ml' is not a management group: expected its name",
    ),
    (
        '[scope]\nmanagement_groups = ["mg"]\n',
        "scope.management_groups: unknown key (expected one of: workspaces, resource_groups, "
        "subscriptions, management_group)",
    ),
    (
        '[dns.server_map]\n"10.0.0.4" = "127.0.0.1:99999"\n',
        "dns.server_map.10.0.0.4: '127.0.0.1:99999' is not host",
    ),
    (
        "[dns]\nconcurrency = 0\n",
        "dns.concurrency: 0 is out of range (expected a whole number at least 1 and at most 1024)",
    ),
    (
        '[reachability]\nca_file = "/nonexistent/company-ca.pem"\n',
        "reachability.ca_file: /nonexistent/company-ca.pem is not a file",
    ),
    (
        "[reachability]\nenabeld = false\n",
        "reachability.enabeld: unknown key (expected one of: enabled,",
    ),
]


# Values that cannot work: each refused with the whole range, or what was expected.
OUT_OF_RANGE = [
    ("[arm]\ntimeout_seconds = inf\n", "arm.timeout_seconds: inf", "at least 0.01 and at most 600"),
    ("[arm]\ntimeout_seconds = nan\n", "arm.timeout_seconds: nan", "at least 0.01 and at most 600"),
    (
        "[dns]\ntimeout_seconds = 1e-9\n",
        "dns.timeout_seconds: 1e-09",
        "at least 0.01 and at most 60",
    ),
    (
        "[schedule]\ninterval_minutes = inf\n",
        "schedule.interval_minutes: inf",
        "at least 0.01 and at most 10080",
    ),
    (
        "[schedule]\ninterval_minutes = 1e-9\n",
        "schedule.interval_minutes: 1e-09",
        "at least 0.01 and at most 10080",
    ),
    (
        "[schedule]\nrun_timeout_seconds = -1\n",
        "schedule.run_timeout_seconds: -1",
        "at least 1 and at most 86400",
    ),
    (
        "[credential]\ntimeout_seconds = 1000\n",
        "credential.timeout_seconds: 1000",
        "at least 0.01 and at most 300",
    ),
    (
        "[delivery]\nretry_max_seconds = inf\n",
        "delivery.retry_max_seconds: inf",
        "at least 0.01 and at most 86400",
    ),
    (
        "[state]\nreminder_hours = -1\n",
        "state.reminder_hours: -1",
        "at least 0 and at most 8760",
    ),
]


@pytest.mark.parametrize(("text", "key", "bounds"), OUT_OF_RANGE)
def test_a_number_out_of_range_is_refused_with_the_range(text: str, key: str, bounds: str) -> None:
    """inf, nan, 1e-9 and negative durations are refused; the message states the whole range."""
    with pytest.raises(ConfigError) as raised:
        parse_config(text, "c.toml")

    assert f"c.toml: {key} is out of range (expected a finite number {bounds})" == str(raised.value)


INVALID_VALUES = [
    (
        '[dns]\ncustom_servers = ["10.0.0.300"]\n',
        "dns.custom_servers[0]: '10.0.0.300' is not an IP address with an optional port "
        "(expected 10.0.0.4, 10.0.0.4:53 or [fd00::4]:53)",
    ),
    (
        '[dns]\nazure_dns = "dns.example"\n',
        "dns.azure_dns: 'dns.example' is not an IP address with an optional port "
        "(expected 10.0.0.4, 10.0.0.4:53 or [fd00::4]:53)",
    ),
    (
        '[dns.server_map]\n"10.0.0.300" = "127.0.0.1:5301"\n',
        "dns.server_map.10.0.0.300: '10.0.0.300' is not an IP address with an optional port "
        "(expected 10.0.0.4, 10.0.0.4:53 or [fd00::4]:53)",
    ),
    (
        '[reachability.address_map]\n"10.0.1.5" = "10.0.0.300:443"\n',
        "reachability.address_map.10.0.1.5: '10.0.0.300:443': 10.0.0.300 is not an IP address",
    ),
    (
        '[reachability.address_map]\n"ws.example" = "127.0.0.1:443"\n',
        "reachability.address_map.ws.example: 'ws.example' is not an IP address",
    ),
    (
        "[reachability]\nport = 0\n",
        "reachability.port: 0 is out of range (expected a whole number at least 1 and at most "
        "65535)",
    ),
    (
        '[[sinks]]\ntype = "syslog"\nhost = "10.0.0.300"\n',
        "sinks[0].host: '10.0.0.300': 10.0.0.300 is not an IP address",
    ),
    (
        '[health]\nlisten = "10.0.0.300:9464"\n',
        "health.listen: '10.0.0.300:9464': 10.0.0.300 is not an IP address",
    ),
    (
        '[arm]\nendpoint = "http://127.0.0.1:8443"\n',
        "arm.endpoint: 'http://127.0.0.1:8443' is not an https:// URL (TLS is required)",
    ),
    (
        '[arm]\nendpoint = "https://:8443"\n',
        "arm.endpoint: 'https://:8443' names no host (expected https://<host>[:port][/path])",
    ),
    (
        '[arm]\nca_bundle = "ca.pem"\n',
        "arm.ca_bundle: 'ca.pem' is a relative path (expected an absolute path)",
    ),
    (
        '[dns]\nresolv_conf = "resolv.conf"\n',
        "dns.resolv_conf: 'resolv.conf' is a relative path (expected an absolute path)",
    ),
    (
        '[state]\ndirectory = "state"\n',
        "state.directory: 'state' is a relative path (expected an absolute path)",
    ),
    (
        '[[sinks]]\ntype = "jsonl_file"\npath = "findings.jsonl"\n',
        "sinks[0].path: 'findings.jsonl' is a relative path (expected an absolute path)",
    ),
]


@pytest.mark.parametrize(("text", "message"), INVALID_VALUES)
def test_an_address_url_or_path_that_cannot_work_is_refused(text: str, message: str) -> None:
    """10.0.0.300, a name where a DNS server's address goes, http:// ARM, relative paths."""
    with pytest.raises(ConfigError) as raised:
        parse_config(text, "c.toml")

    assert f"c.toml: {message}" == str(raised.value)


def test_addresses_names_and_absolute_paths_that_work_are_accepted() -> None:
    config = parse_config(
        '[arm]\nendpoint = "https://127.0.0.1:8443"\n'
        '[dns]\ncustom_servers = ["10.0.0.4", "10.0.0.5:5353", "[fd00::4]:53"]\n'
        'resolv_conf = "/run/systemd/resolve/resolv.conf"\n'
        '[reachability.address_map]\n"10.0.1.5" = "front.example:8443"\n'
        '[[sinks]]\ntype = "syslog"\nhost = "siem.example"\n',
        "c.toml",
    )

    [syslog] = config.sinks
    assert isinstance(syslog, SyslogSink)
    assert ("front.example:8443", "siem.example") == (
        config.reachability.address_map["10.0.1.5"],
        syslog.host,
    )


def test_a_file_that_is_not_utf8_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'cloud = "AzureCloud"\n# r\xe9seau\n')

    with pytest.raises(ConfigError) as raised:
        load_config(path)

    assert f"{path}: line 2: byte 0xe9 is not UTF-8 (expected a UTF-8 TOML file)" == str(
        raised.value
    )


@pytest.mark.parametrize("depth", [101, 100_000])
def test_a_file_nested_too_deeply_is_named(tmp_path: Path, depth: int) -> None:
    """Deep nesting (beyond tomllib's recursion too) is a ConfigError naming the file."""
    path = tmp_path / "config.toml"
    path.write_text("x = " + "[" * depth + "]" * depth + "\n")

    with pytest.raises(ConfigError) as raised:
        load_config(path)

    assert f"{path}: nested too deeply (expected at most 100 levels of arrays and tables)" == str(
        raised.value
    )


def test_an_empty_scope_fails_config_check_and_run_naming_scope(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A file that names nothing to verify: `config check` and `run` exit 2 naming scope
    (`run` would otherwise exit 0 having checked nothing)."""
    path = tmp_path / "config.toml"
    path.write_text('cloud = "AzureCloud"\n[scope]\nworkspaces = []\n')

    assert 2 == main(["config", "check", str(path)])
    assert 2 == main(["run", "--config", str(path)])
    assert [
        f"{path}: scope: nothing to verify (expected scope.workspaces, scope.resource_groups, "
        "scope.subscriptions or scope.management_group)"
    ] * 2 == [line.removeprefix("netverify: ") for line in capsys.readouterr().err.splitlines()]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_bad_file_names_key_and_expectation(text: str, message: str) -> None:
    """Each bad file fails with its exact message, prefixed by the file name."""
    with pytest.raises(ConfigError) as raised:
        parse_config(text, "/etc/netverify/config.toml")

    assert str(raised.value).startswith("/etc/netverify/config.toml: ")
    assert message in str(raised.value)


def test_a_secret_pasted_into_token_env_is_refused_and_not_shown() -> None:
    """token_env holds a HEC token instead of a variable name: refused, the value not echoed."""
    pasted = "4a3b2c1d-1111-2222-3333-444455556666"
    text = f'[[sinks]]\ntype = "splunk_hec"\nurl = "https://splunk:8088"\ntoken_env = "{pasted}"\n'

    with pytest.raises(ConfigError) as raised:
        parse_config(text, "/etc/netverify/config.toml")

    assert (
        "/etc/netverify/config.toml: sinks[0]: token_env must be the name of an environment "
        "variable (letters, digits and _, not starting with a digit), not the secret itself; "
        "its value is not shown"
    ) == str(raised.value)


def test_every_problem_is_reported_at_once() -> None:
    """Two mistakes give two lines, so a fix does not need two round trips."""
    with pytest.raises(ConfigError) as raised:
        parse_config('cloud = "Mars"\n[dns]\ntimeout = 1\n', "c.toml")

    assert len(str(raised.value).splitlines()) == 2


def test_defaults_point_at_azure_dns_and_the_public_cloud() -> None:
    """An empty file is valid: public cloud, managed identity, Azure DNS at 168.63.129.16."""
    config = parse_config("", "c.toml")

    assert config.cloud.value == "AzureCloud"
    assert config.credential.kind == "managed_identity"
    assert config.dns.azure_dns == "168.63.129.16"


def test_the_shipped_example_is_valid(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`netverify config example` prints a file that `netverify config check` accepts."""
    assert main(["config", "example"]) == 0
    example = tmp_path / "config.toml"
    example.write_text(capsys.readouterr().out)

    assert main(["config", "check", str(example)]) == 0
    assert "valid" in capsys.readouterr().out
    assert load_config(example).scope.workspaces


def test_config_check_exits_2_without_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A bad file makes `config check` and `run` exit 2 with the message on stderr."""
    bad = tmp_path / "config.toml"
    bad.write_text("[dns]\nazure_dnss = 1\n")

    assert main(["config", "check", str(bad)]) == 2
    assert main(["run", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: dns.azure_dnss: unknown key" in err
    assert "Traceback" not in err


def test_config_path_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """NETVERIFY_CONFIG is used when --config is not given."""
    path = tmp_path / "from-env.toml"
    path.write_text(f'[scope]\nworkspaces = ["{WS}"]\n')
    monkeypatch.setenv("NETVERIFY_CONFIG", str(path))

    assert main(["config", "check"]) == 0
    assert str(path) in capsys.readouterr().out


def test_missing_file_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A config file that does not exist is exit 2 with its path."""
    assert main(["config", "check", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml: cannot read the configuration" in capsys.readouterr().err


def test_wider_scopes_are_accepted_in_both_spellings() -> None:
    """Subscriptions with or without /subscriptions/, a management group by name or by id."""
    config = parse_config(
        "[scope]\n"
        'subscriptions = ["/subscriptions/00000000-0000-0000-0000-000000000001"]\n'
        'resource_groups = ["/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg"]\n'
        'management_group = "/providers/Microsoft.Management/managementGroups/mg-ml"\n',
        "c.toml",
    )

    assert ("00000000-0000-0000-0000-000000000001",) == config.scope.subscriptions
    assert "mg-ml" == config.scope.management_group
    assert config.scope.needs_discovery


SUB = "00000000-0000-0000-0000-000000000001"
GROUP = "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg-ml"


@pytest.mark.parametrize(
    ("scope", "described"),
    [
        (f'workspaces = ["{WS}"]', "1 workspace named"),
        (
            f'subscriptions = ["{SUB}"]',
            f"0 workspaces named; subscription {SUB}, whose workspaces netverify lists when it runs",
        ),
        (
            f'resource_groups = ["{GROUP}"]',
            "0 workspaces named; resource group rg-ml (subscription "
            "00000000-0000-0000-0000-000000000002), whose workspaces netverify lists when it runs",
        ),
        (
            'management_group = "mg-ml"',
            "0 workspaces named; management group mg-ml and every subscription under it, whose "
            "workspaces netverify lists when it runs",
        ),
        (
            f'workspaces = ["{WS}", "{WS}2"]\nsubscriptions = ["{SUB}"]\n'
            'management_group = "mg-ml"',
            f"2 workspaces named; subscription {SUB}, management group mg-ml and every "
            "subscription under it, where the workspaces netverify lists when it runs",
        ),
    ],
    ids=["workspaces", "subscription", "resource-group", "management-group", "mixed"],
)
def test_config_check_describes_each_scope_kind_without_reading_azure(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, scope: str, described: str
) -> None:
    """`config check` names what the scope holds by kind, and that the wider scopes' workspaces
    are only known when netverify runs (it reads nothing: the test allows loopback only and
    runs no Azure stand-in), never "0 workspaces" for a scope that verifies some."""
    path = tmp_path / "config.toml"
    path.write_text(f"[scope]\n{scope}\n")

    assert 0 == main(["config", "check", str(path)])
    assert [
        f"{path}: valid (AzureCloud); nothing in Azure was read",
        f"  scope: {described}",
    ] == capsys.readouterr().out.splitlines()


def test_config_check_shows_where_dns_server_map_sends_queries(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """dns.server_map's pairs are shown, the Azure DNS one marked: doctor and the probe ask
    Azure DNS there, not at 168.63.129.16."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[scope]\nworkspaces = ["{WS}"]\n[dns.server_map]\n'
        '"168.63.129.16" = "127.0.0.1:5300"\n"10.0.0.4" = "127.0.0.2:53"\n'
    )

    assert 0 == main(["config", "check", str(path)])
    assert (
        "  dns.server_map: 168.63.129.16 -> 127.0.0.1:5300 (Azure DNS), 10.0.0.4 -> 127.0.0.2:53"
        == capsys.readouterr().out.splitlines()[-1]
    )


VNET = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-net"
    "/providers/Microsoft.Network/virtualNetworks/vnet-hub"
)
VNET_SHAPE = (
    "expected /subscriptions/<id>/resourceGroups/<group>/providers/"
    "Microsoft.Network/virtualNetworks/<name>"
)

SCOPED = '[scope]\nmanagement_group = "mg"\n'
# Values a new user's trial passed through `config check` that `run` then tripped over.
UNUSABLE_VALUES = [
    (
        SCOPED + '[agent]\nvnet_id = "junk"\n',
        f"agent.vnet_id: 'junk' is not a Microsoft.Network/virtualNetworks id: {VNET_SHAPE}",
    ),
    (
        SCOPED + '[agent]\nvnet_id = "/subscriptions/sub1/resourceGroups/rg/providers/'
        'Microsoft.Network/virtualNetworks/v"\n',
        "agent.vnet_id: '/subscriptions/sub1/resourceGroups/rg/providers/Microsoft.Network/"
        "virtualNetworks/v' is not a Microsoft.Network/virtualNetworks id: subscription 'sub1' "
        "is not a GUID",
    ),
    (
        f'[agent]\nvnet_id = "{VNET}/subnets/pe"\n',
        f"agent.vnet_id: '{VNET}/subnets/pe' is a Microsoft.Network/virtualNetworks/subnets id, "
        "expected a Microsoft.Network/virtualNetworks id",
    ),
    (
        '[scope]\nworkspaces = ["/subscriptions/sub1/resourceGroups/rg/providers/'
        'Microsoft.MachineLearningServices/workspaces/w"]\n',
        "scope.workspaces[0]: '/subscriptions/sub1/resourceGroups/rg/providers/"
        "Microsoft.MachineLearningServices/workspaces/w' is not a "
        "Microsoft.MachineLearningServices/workspaces id: subscription 'sub1' is not a GUID",
    ),
    (
        SCOPED + '[credential]\nclient_id = "id-netverify"\n',
        "credential.client_id: 'id-netverify' is not a client id: expected a GUID such as "
        "00000000-0000-0000-0000-000000000000 (the identity's clientId, not its name)",
    ),
    (
        SCOPED + '[schedule]\ncron = "0 0 31 2 *"\n',
        "schedule.cron: '0 0 31 2 *' never fires (no date matches it, e.g. February 31st)",
    ),
    (
        SCOPED + '[[sinks]]\ntype = "jsonl_file"\npath = "/var/log/f.jsonl"\n'
        '[[sinks]]\ntype = "stdout"\n'
        '[[sinks]]\ntype = "jsonl_file"\npath = "/var/log/./f.jsonl"\nname = "copy"\n',
        "sinks: [0] and [2] both write /var/log/f.jsonl (give each sink its own path)",
    ),
    (
        f'[scope]\nsubscriptions = ["{SUB}", "{SUB.upper()}", "/subscriptions/{SUB}/"]\n',
        f"scope.subscriptions: [0] and [1] are the same subscription {SUB.upper()} "
        "(list each once)",
    ),
    (
        f'[scope]\nworkspaces = ["{WS}", "{WS.lower()}/"]\n',
        f"scope.workspaces: [0] and [1] are the same workspace {WS.lower()} (list each once)",
    ),
    (
        f'[scope]\nresource_groups = ["{GROUP}", "{GROUP.upper()}"]\n',
        f"scope.resource_groups: [0] and [1] are the same resource group {GROUP.upper()} "
        "(list each once)",
    ),
    ("scope = []\n", "scope: [] is not a table"),
    ('[scope]\nworkspaces = "x"\n', "scope.workspaces: 'x' is not an array"),
    ("[health]\nlisten = 9464\n", "health.listen: 9464 is not a string"),
    ("[arm]\nretry_total = 1.5\n", "arm.retry_total: 1.5 is not a whole number"),
    (
        SCOPED + '[[sinks]]\npath = "/x"\n',
        "sinks[0]: required key type is missing (expected one of: 'jsonl_file', 'stdout', "
        "'syslog', 'azure_monitor', 'splunk_hec', 'webhook')",
    ),
    (
        SCOPED + '[[sinks]]\ntype = "jsonlfile"\n',
        "sinks[0]: type 'jsonlfile' is unknown (expected one of: 'jsonl_file', 'stdout', "
        "'syslog', 'azure_monitor', 'splunk_hec', 'webhook')",
    ),
]


@pytest.mark.parametrize(("text", "message"), UNUSABLE_VALUES)
def test_a_value_run_cannot_use_fails_config_check_naming_file_and_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, message: str
) -> None:
    """Exit 2 (could not run) with one line naming the file, the key and the problem, in TOML's
    words (no pydantic wording, no traceback)."""
    path = tmp_path / "config.toml"
    path.write_text(text)

    assert 2 == main(["config", "check", str(path)])
    assert f"netverify: {path}: {message}\n" == capsys.readouterr().err


def test_a_state_directory_that_is_a_file_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "state").write_text("")
    path = tmp_path / "config.toml"
    path.write_text(f'[scope]\nworkspaces = ["{WS}"]\n[state]\ndirectory = "{tmp_path}/state"\n')

    assert 2 == main(["config", "check", str(path)])
    assert (
        f"netverify: {path}: state.directory: '{tmp_path}/state' is a file, not a directory\n"
        == capsys.readouterr().err
    )


def test_ids_in_any_case_with_a_trailing_slash_and_distinct_entries_are_accepted(
    tmp_path: Path,
) -> None:
    """ARM compares ids without case; a trailing slash is dropped; a cron that fires only in
    leap years still fires; a state directory that does not exist yet is created later."""
    config = parse_config(
        f'[scope]\nworkspaces = ["{WS.upper()}/", "{WS}2"]\n'
        f'subscriptions = ["{SUB}", "00000000-0000-0000-0000-000000000003"]\n'
        f'[agent]\nvnet_id = "{VNET.lower()}/"\n'
        '[credential]\nclient_id = "3F2A9C1E-5B7D-4E8F-A1C2-D3E4F5A6B7C8"\n'
        '[schedule]\ncron = "0 0 29 2 *"\n'
        f'[state]\ndirectory = "{tmp_path}/not-yet"\n'
        '[[sinks]]\ntype = "jsonl_file"\npath = "/var/log/a.jsonl"\n'
        '[[sinks]]\ntype = "jsonl_file"\npath = "/var/log/b.jsonl"\n',
        "c.toml",
    )

    assert (WS.upper(), f"{WS}2") == config.scope.workspaces
    assert VNET.lower() == config.agent.vnet_id
    assert "3F2A9C1E-5B7D-4E8F-A1C2-D3E4F5A6B7C8" == config.credential.client_id


def test_a_byte_order_mark_is_read_past(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Windows editors write a UTF-8 BOM; TOML has none, so netverify reads past it."""
    path = tmp_path / "config.toml"
    path.write_bytes(f'\ufeff[scope]\nworkspaces = ["{WS}"]\n'.encode())

    assert 0 == main(["config", "check", str(path)])
    assert f"{path}: valid (AzureCloud); nothing in Azure was read\n" in capsys.readouterr().out
