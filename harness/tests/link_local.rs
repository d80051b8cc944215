//! The link-local mode's safety argument, tested as root: nothing is ever sent to a
//! link-local address outside a namespace the harness made.
//!
//! - `no_packet_to_a_link_local_address_leaves_the_cells_namespace` runs link-local cells
//!   of every kind of driver (with JS v3 3.20.0, which always connects to
//!   169.254.169.254, when its environment is ready) with `imds-harness run` inside an
//!   outer namespace this test makes, whose only way to 169.254.0.0/16 is one end of a
//!   veth pair where nothing answers, counting every packet sent there: its transmit counter must not move
//!   during the run, and does move for one connection the test makes itself (so the
//!   counter is shown to see such a packet).
//! - `guards_refuse_link_local_unless_inside_the_named_namespace` starts the boto3,
//!   js-v3, ruby and go-v2 drivers pointed at `http://169.254.169.254:80` in a namespace
//!   of the test's (so a broken guard reaches nothing real): with no guard variables
//!   (the loopback mode), with variables that name another namespace, and in a
//!   namespace that has an interface besides `lo`, each refuses the connection as a
//!   driver error and says why.
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

/// Starts `kind` from a thread in `ns`, with `env`, pointed at IMDS on
/// `169.254.169.254:80`, and returns the driver error of its first credential fetch.
fn guard_refusal(ns: &CellNamespace, kind: DriverKind, env: Vec<(String, String)>) -> String {
    let runtime = ns.runtime("guard-test", 1, || {}).unwrap();
    let text = runtime.block_on(async move {
        tokio::spawn(async move {
            let setup = DriverSetup::with_python(support::python());
            let spec = DriverSpec::new(kind.clone());
            let mut driver = driver::start_with(&spec, &setup, &env)
                .await
                .expect("run scripts/setup first (.venv, npm ci in harness/drivers/js, Go, Ruby)");
            driver
                .configure(&Endpoints {
                    imds: "http://169.254.169.254:80".into(),
                    sts: "http://127.0.0.1:9".into(),
                    region: "us-east-1".into(),
                    settings: SdkSettings::defaults(&kind),
                    passthrough: Default::default(),
                    seed: 0,
                    clock: Default::default(),
                    container_env: Vec::new(),
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
                    Ok(ok) => panic!("{kind}: a call through 169.254.169.254 succeeded: {ok:?}"),
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
        DriverKind::JsV3,
        DriverKind::Ruby,
        DriverKind::GoV2,
    ] {
        let cases = [
            (&ns, Vec::new(), "not a link-local cell"),
            (
                &ns,
                guard_env(other.id(), &host),
                "not the cell's namespace",
            ),
            (&ns, guard_env(ns.id(), ns.id()), "not the cell's namespace"),
            (&crowded, guard_env(crowded.id(), &host), "not only lo"),
        ];
        for (place, env, why) in cases {
            let text = guard_refusal(place, kind.clone(), env);
            assert!(
                text.contains("imds-harness blocked a connection to 169.254.169.254")
                    && text.contains(why),
                "{kind}, expected a refusal saying {why:?}: {text}"
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
    let mut files = vec![scenario.display().to_string()];
    // JS v3 3.20.0 ignores the endpoint and always connects to 169.254.169.254; its npm
    // environment cannot be installed from inside the outer namespace (no network), so
    // it runs when an earlier run created it.
    let js_320 = DriverSetup::with_python(support::python())
        .cache_dir
        .join("client-sts-3.20.0/.ready");
    if js_320.exists() {
        files.push(
            support::root()
                .join("scenarios/link-local-imds.toml")
                .display()
                .to_string(),
        );
    } else {
        let _ = writeln!(
            std::io::stderr(),
            "note: {} is missing, so JS v3 3.20.0 is left out (run scenarios/link-local-imds.toml once to create it)",
            js_320.display()
        );
    }
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
        stdout.contains("harness-exit=0") && stdout.contains(" 0 failed"),
        "every link-local cell passes (none skipped): {text}"
    );
    assert!(!stdout.contains("skipped"), "{text}");
}
