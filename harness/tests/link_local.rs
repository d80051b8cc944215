//! The link-local mode's safety argument, tested as root: nothing is ever sent to a
//! link-local address outside a namespace the harness made.
//!
//! - `no_packet_to_a_link_local_address_leaves_the_cells_namespace` runs link-local cells
//!   with `imds-harness run` inside an outer namespace this test makes, whose only way to
//!   169.254.0.0/16 is one end of a veth pair where nothing answers, counting every
//!   packet sent there: its transmit counter must not move during the run, and does move
//!   for one connection the test makes itself (so the counter is shown to see such a
//!   packet). The cells: every kind of driver through an IMDS outage at
//!   169.254.169.254:80, `scenarios/link-local-ecs-relative.toml` (every child driver
//!   through `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` at 169.254.170.2:80) and Pod
//!   Identity at 169.254.170.23:80 (`scenarios/link-local-pod-identity.toml` when its
//!   older SDKs' environments exist, else two current drivers), and
//!   `scenarios/link-local-imds.toml` (JS v3 3.20.0, which always connects to
//!   169.254.169.254) when its environment exists.
//! - `a_relative_uri_cell_runs_and_passes` runs `RELATIVE_URI` cells through the library
//!   (`runner::run_cell`): each passes, and its only requests are the relative URI's,
//!   without a token.
//! - `guards_refuse_link_local_unless_inside_the_named_namespace` starts every child
//!   driver kind (boto3, aiobotocore, aws-cli, js-v3, js-v2, ruby, go-v2, go-v1) in a
//!   namespace of the test's (so a broken guard reaches nothing real): in the loopback mode (no guard variables) pointed at each of
//!   169.254.169.254, 169.254.170.2 (`RELATIVE_URI`) and 169.254.170.23; and at
//!   169.254.169.254 with variables that name another namespace or the harness's, and in
//!   a namespace that has an interface besides `lo`: each refuses the connection as a
//!   driver error and says why.
//! - `relative_uri_on_loopback_is_refused` (no root needed): a `RELATIVE_URI` scenario
//!   moved to the loopback mode in code is the cell's setup error, naming the link-local
//!   mode; nothing is started.
//!
//! Needs root, `ip` (iproute2), `unshare` (util-linux), `sysctl` (procps) and veth;
//! where they are missing the tests print `SKIPPED: <reason>` on stderr (with
//! `CI=true` they fail instead).

use std::io::Write;
use std::process::Command;

use harness::driver::{
    self, CallOutcome, DriverError, DriverKind, DriverSetup, DriverSpec, Endpoints, SdkSettings,
};
use harness::netns::{guard_env, CellNamespace, NetnsError};
use harness::report::model::CellOutcome;
use harness::scenario::{self, NetworkSettings};

mod support;

/// Skips the test, saying so on stderr; under `CI=true`, fails it instead.
fn skip(reason: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{reason}; with CI=true this test must run, not be skipped");
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED: {reason}");
}

/// A namespace of the harness's making, or why there is none (not root, no `ip`).
fn namespace() -> Result<CellNamespace, String> {
    CellNamespace::create().map_err(|e| match e {
        NetnsError::Unshare(_) | NetnsError::Ip(_) | NetnsError::Unsupported(_) => {
            format!("link_local: {e}")
        }
        other => panic!("{other}"),
    })
}

/// Runs `f` on a thread of its own that entered `ns`.
fn on_thread_in<T: Send>(ns: &CellNamespace, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            ns.enter().unwrap();
            f()
        })
        .join()
        .unwrap()
    })
}

/// Where a guard test points the driver, and the address its guard must refuse.
#[derive(Clone, Copy)]
enum Target {
    /// IMDS at `http://ADDR:80` (any SDK connects to the IMDS endpoint it is given).
    Imds(&'static str),
    /// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, which SDKs send to 169.254.170.2:80
    /// (IMDS at `127.0.0.1:80`, where nothing listens in the test's namespace; port 80
    /// because Ruby's driver refuses any other).
    RelativeUri,
}

impl Target {
    fn address(self) -> &'static str {
        match self {
            Target::Imds(addr) => addr,
            Target::RelativeUri => "169.254.170.2",
        }
    }
}

/// Starts `kind` from a thread in `ns`, with `env`, pointed at `target`, and returns
/// the driver error of its first credential fetch.
fn guard_refusal(
    ns: &CellNamespace,
    kind: DriverKind,
    env: Vec<(String, String)>,
    target: Target,
) -> String {
    let runtime = ns.runtime("guard-test", 1, || {}).unwrap();
    let text = runtime.block_on(async move {
        tokio::spawn(async move {
            let setup = DriverSetup::with_python(support::python());
            let spec = DriverSpec::new(kind.clone());
            let mut driver = driver::start_with(&spec, &setup, &env)
                .await
                .expect("run scripts/setup first (.venv, npm ci in harness/drivers/js, Go, Ruby)");
            let (imds, container_env) = match target {
                Target::Imds(addr) => (format!("http://{addr}:80"), Vec::new()),
                Target::RelativeUri => (
                    "http://127.0.0.1:80".to_string(),
                    vec![(
                        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI".to_string(),
                        "/v2/credentials/guard-test".to_string(),
                    )],
                ),
            };
            driver
                .configure(&Endpoints {
                    imds,
                    sts: "http://127.0.0.1:9".into(),
                    region: "us-east-1".into(),
                    settings: SdkSettings::defaults(&kind),
                    passthrough: Default::default(),
                    seed: 0,
                    clock: Default::default(),
                    container_env,
                })
                .await
                .unwrap();
            let broken = match driver.new_client().await {
                Err(e) => e,
                Ok(_) => match driver.call("guard.1").await {
                    Err(e) => e,
                    Ok(CallOutcome::Err { kind: k, message }) => {
                        panic!("{kind}: the guard let it through, the SDK said {k}: {message}")
                    }
                    Ok(ok) => panic!(
                        "{kind}: a call through {} succeeded: {ok:?}",
                        target.address()
                    ),
                },
            };
            match broken {
                DriverError::Broken {
                    message, stderr, ..
                } => format!("{message} {stderr}"),
                other => panic!("{kind}: {other}"),
            }
        })
        .await
        .unwrap()
    });
    runtime.shutdown_background();
    text
}

#[test]
fn guards_refuse_link_local_unless_inside_the_named_namespace() {
    let (ns, other, crowded) = match (namespace(), namespace(), namespace()) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(reason), ..) | (_, Err(reason), _) | (.., Err(reason)) => return skip(&reason),
    };
    // `crowded` gets a second interface: a guard must not trust a namespace with a way out.
    let added = on_thread_in(&crowded, || {
        Command::new("ip")
            .args([
                "link", "add", "extra0", "type", "veth", "peer", "name", "extra1",
            ])
            .status()
            .is_ok_and(|s| s.success())
    });
    if !added {
        return skip("link_local: `ip link add extra0 type veth` failed (no veth driver)");
    }
    let host = harness::netns::host_netns_id().unwrap();
    for kind in [
        DriverKind::Boto3,
        DriverKind::Aiobotocore,
        DriverKind::AwsCli,
        DriverKind::JsV3,
        DriverKind::JsV2,
        DriverKind::Ruby,
        DriverKind::GoV2,
        DriverKind::GoV1,
    ] {
        let imds = Target::Imds("169.254.169.254");
        let cases = [
            // The loopback mode (no guard variables): every agent's address is refused.
            (&ns, Vec::new(), imds, "not a link-local cell"),
            (
                &ns,
                Vec::new(),
                Target::RelativeUri,
                "not a link-local cell",
            ),
            (
                &ns,
                Vec::new(),
                Target::Imds("169.254.170.23"),
                "not a link-local cell",
            ),
            (
                &ns,
                guard_env(other.id(), &host),
                imds,
                "not the cell's namespace",
            ),
            (
                &ns,
                guard_env(ns.id(), ns.id()),
                imds,
                "not the cell's namespace",
            ),
            (
                &crowded,
                guard_env(crowded.id(), &host),
                imds,
                "not only lo",
            ),
        ];
        for (place, env, target, why) in cases {
            let text = guard_refusal(place, kind.clone(), env, target);
            let blocked = format!("imds-harness blocked a connection to {}", target.address());
            assert!(
                text.contains(&blocked) && text.contains(why),
                "{kind}, expected a refusal of {} saying {why:?}: {text}",
                target.address()
            );
        }
    }
}

/// `leak0`'s transmit packet count, as the script printed it after `marker`.
fn tx_packets(output: &str, marker: &str) -> u64 {
    let line = output
        .lines()
        .find_map(|l| l.strip_prefix(marker))
        .unwrap_or_else(|| panic!("no {marker} in:\n{output}"));
    line.trim()
        .parse()
        .unwrap_or_else(|e| panic!("{marker}{line}: {e}"))
}

/// The outer namespace: lo up, 169.254.0.0/16 routed to `leak0`, one end of a veth pair
/// whose other end (`sink0`, also here) has no address there, so nothing answers: any
/// attempt to reach such an address sends an ARP request or a packet on `leak0`, and
/// none goes further (IPv6 is off on both ends, so they send nothing of their own).
/// Then a connection of the test's own to 169.254.169.254 (the control), then
/// `imds-harness run "$@"`.
const OUTER: &str = r#"
set -e
tx() { sed -n 's/^ *leak0://p' /proc/self/net/dev | awk '{print $10}'; }
ip link set lo up
ip link add leak0 type veth peer name sink0
sysctl -qw net.ipv6.conf.leak0.disable_ipv6=1 net.ipv6.conf.sink0.disable_ipv6=1
ip addr add 198.51.100.1/32 dev leak0
ip link set sink0 up
ip link set leak0 up
ip route add 169.254.0.0/16 dev leak0
echo "control-before=$(tx)"
timeout 2 bash -c ': > /dev/tcp/169.254.169.254/80' 2>/dev/null || true
# The kernel would go on resolving the control's neighbour (ARP, 1 s apart): stop it.
ip neigh flush dev leak0
echo "control-after=$(tx)"
set +e
"$HARNESS" run "$@" --jobs 4
echo "harness-exit=$?"
echo "run-after=$(tx)"
ip -s link show leak0
"#;

#[test]
fn no_packet_to_a_link_local_address_leaves_the_cells_namespace() {
    if let Err(reason) = namespace() {
        return skip(&reason);
    }
    if !Command::new("unshare")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return skip("link_local: `unshare` (util-linux) is not installed");
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = support::write(
        dir.path(),
        "link-local-drivers.toml",
        r#"description = "every kind of driver through an outage, in link-local cells"
[network]
mode = "link-local"
[[schedule]]
at = "0s"
state = "refuse"
[[schedule]]
at = "1s"
state = "up"
[matrix]
drivers = ["rust-sdk", "boto3", "js-v3", "ruby", "go-v2"]
strategies = ["client-retry"]
[strategy.client-retry]
kind = "client-retry"
attempts = 10
interval = "500ms"
[[expect]]
recovers = true
"#,
    );
    let builtin = |name: &str| {
        support::root()
            .join("scenarios")
            .join(name)
            .display()
            .to_string()
    };
    let mut files = vec![
        scenario.display().to_string(),
        builtin("link-local-ecs-relative.toml"),
    ];
    // The older SDKs' environments cannot be installed from inside the outer namespace
    // (no network): their scenarios run when an earlier run created them.
    let setup = DriverSetup::with_python(support::python());
    let cached = |kind: DriverKind, version: &str| driver::envs::is_cached(&kind, version, &setup);
    let note = |what: &str, file: &str| {
        let _ = writeln!(
            std::io::stderr(),
            "note: {what} is not in the cache, so {file} is left out (run it once to create it)"
        );
    };
    // JS v3 3.20.0 ignores the endpoint and always connects to 169.254.169.254.
    if cached(DriverKind::JsV3, "3.20.0") {
        files.push(builtin("link-local-imds.toml"));
    } else {
        note("js-v3@3.20.0", "scenarios/link-local-imds.toml");
    }
    if cached(DriverKind::JsV3, "3.20.0") && cached(DriverKind::Boto3, "1.26.0") {
        files.push(builtin("link-local-pod-identity.toml"));
    } else {
        note(
            "js-v3@3.20.0 or boto3@1.26.0",
            "scenarios/link-local-pod-identity.toml",
        );
        files.push(
            support::write(
                dir.path(),
                "link-local-pod.toml",
                r#"description = "Pod Identity at 169.254.170.23:80, in link-local cells"
[network]
mode = "link-local"
[endpoint]
kind = "pod-identity"
[matrix]
drivers = ["boto3", "js-v3"]
strategies = ["call-retry"]
[strategy.call-retry]
attempts = 1
[[expect]]
imds_requests = [{ method = "GET", path = "/v1/credentials", status = 200, token = true, count = "1+" }]
keys_used = 1
"#,
            )
            .display()
            .to_string(),
        );
    }
    let cells: usize = files
        .iter()
        .map(|f| scenario::load(std::path::Path::new(f)).unwrap().cells.len())
        .sum();
    let out = Command::new("unshare")
        .args(["--net", "--", "sh", "-c", OUTER, "outer"])
        .args(&files)
        .env("HARNESS", env!("CARGO_BIN_EXE_imds-harness"))
        .current_dir(support::root())
        .output()
        .unwrap();
    let text = support::text(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let control = tx_packets(&stdout, "control-after=") - tx_packets(&stdout, "control-before=");
    assert!(
        control >= 1,
        "the control connection to 169.254.169.254 was not counted: {text}"
    );
    assert_eq!(
        tx_packets(&stdout, "run-after="),
        tx_packets(&stdout, "control-after="),
        "a packet to 169.254.0.0/16 left a cell's namespace during the run: {text}"
    );
    assert!(
        stdout.contains("harness-exit=0")
            && stdout.contains(&format!("\n{cells} passed, 0 failed")),
        "every one of the {cells} link-local cells passes (none skipped): {text}"
    );
    assert!(!stdout.contains("skipped"), "{text}");
}

/// `RELATIVE_URI` cells of a Python, a JS, a Go and the Ruby driver, run through the
/// library as `imds-harness run` runs them: each passes, and its only requests are GETs of
/// the relative URI without `Authorization` (the mock's ECS endpoint listens only at
/// 169.254.170.2:80 inside the cell's namespace). Without root the cells are skipped,
/// saying why (and this test with them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relative_uri_cell_runs_and_passes() {
    let dir = tempfile::tempdir().unwrap();
    let path = support::write(dir.path(), "relative.toml", RELATIVE);
    let scenario = scenario::load(&path).unwrap();
    let setup = DriverSetup::with_python(support::python());
    assert_eq!(scenario.cells.len(), 4);
    for cell in &scenario.cells {
        let result = harness::runner::run_cell(&scenario, cell, &setup).await;
        let run = match &result.outcome {
            CellOutcome::Skipped(why) if !is_root() => {
                assert!(why.reason.contains("run as root"), "{why:?}");
                return skip(&format!("link_local: {} ({})", why.reason, why.install));
            }
            CellOutcome::Ran(run) => run,
            other => panic!("{}: {other:?}", cell.id()),
        };
        assert!(result.passed(), "{}: {run:#?}", cell.id());
        let requests = &run.verdict.imds_requests;
        assert!(!requests.is_empty(), "{}", cell.id());
        for r in requests {
            assert!(
                r.method == "GET"
                    && r.path == "/v2/credentials/6d4c9a1e-0b7f-4f38-9d2a-mock1mds0001"
                    && r.status == Some(200)
                    && !r.token,
                "{}: {r}",
                cell.id()
            );
        }
    }
}

/// A `RELATIVE_URI` link-local scenario: boto3, js-v3, go-v2 and ruby, one call each.
const RELATIVE: &str = r#"description = "RELATIVE_URI in link-local cells"
[network]
mode = "link-local"
[endpoint]
kind = "ecs"
uri = "relative"
[matrix]
drivers = ["boto3", "js-v3", "go-v2", "ruby"]
strategies = ["call-retry"]
[strategy.call-retry]
attempts = 1
[[expect]]
keys_used = 1
sts_rejections = 0
"#;

/// Whether this process is root (the namespace needs CAP_SYS_ADMIN).
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A `RELATIVE_URI` scenario moved to the loopback mode in code (parsing refuses it) is
/// refused by the runner as the cell's setup error before anything starts: on loopback
/// the SDK would send it to 169.254.170.2 on the host's network.
#[tokio::test]
async fn relative_uri_on_loopback_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = support::write(dir.path(), "relative.toml", RELATIVE);
    let mut scenario = scenario::load(&path).unwrap();
    scenario.network = NetworkSettings::default();
    assert!(!scenario.network.is_link_local());
    let setup = DriverSetup::with_python(support::python());
    for cell in &scenario.cells {
        let result = harness::runner::run_cell(&scenario, cell, &setup).await;
        match &result.outcome {
            CellOutcome::SetupError(e) => assert!(
                e.contains("needs the link-local mode") && e.contains("169.254.170.2"),
                "{e}"
            ),
            other => panic!("{}: {other:?}", cell.id()),
        }
        assert_eq!(result.sdk_version, None, "no driver was started");
    }
}
