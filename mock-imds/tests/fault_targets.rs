//! Every fault × every target: meaningful, or refused when parsed with the reason — the
//! one parser that scenarios, `ctl`, `serve --state` and the control API share; and the
//! same refusals through `mock-imds ctl` and `serve`.

use std::process::Command;

use mock_imds::fault::{Targets, CATALOGUE};
use mock_imds::FaultSpec;

mod support;

/// One way to write each fault of the catalogue (a new row needs one here).
fn sample(name: &str) -> &'static str {
    match name {
        "refuse" => "refuse",
        "blackhole" => "blackhole",
        "drop-syn" => "drop-syn",
        "status" => "status(500)",
        "latency" => "latency(10ms, 0s)",
        "reset" => "reset",
        "truncate" => "truncate",
        "malformed-json" => "malformed-json",
        "no-role" => "no-role",
        "expired-credentials" => "expired-credentials",
        "error-document" => "error-document(AssumeRoleUnauthorizedAccess)",
        "throttle" => "throttle(5)",
        "empty-body" => "empty-body",
        "binary-body" => "binary-body",
        "empty-reply" => "empty-reply",
        other => panic!("add a sample of the new fault `{other}` here"),
    }
}

/// Which targets each kind of fault means something on, written out (not derived from
/// the catalogue, so a changed row shows up here).
fn meaningful(targets: Targets, target: &str) -> bool {
    match targets {
        Targets::Any => true,
        Targets::ListenerOnly => target == "listener",
        Targets::CredentialsDocument => target == "credentials" || target.starts_with("path("),
        Targets::NotToken => target != "token",
    }
}

#[test]
fn every_fault_on_every_target_is_meaningful_or_refused_with_the_reason() {
    let targets = [
        "listener",
        "token",
        "credentials",
        "path(/latest/meta-data/iam/*)",
    ];
    let mut refused = Vec::new();
    for kind in CATALOGUE {
        for target in targets {
            let text = format!("{} on {target}", sample(kind.name));
            match text.parse::<FaultSpec>() {
                Ok(spec) => {
                    assert!(meaningful(kind.targets, target), "{text} was accepted");
                    assert_eq!(spec.to_string().parse::<FaultSpec>().unwrap(), spec);
                }
                Err(e) => {
                    assert!(!meaningful(kind.targets, target), "{text}: {e}");
                    let e = e.to_string();
                    assert!(e.contains("so its target can"), "{text}: {e}");
                    refused.push(text);
                }
            }
        }
    }
    for must in [
        "no-role on token",
        "expired-credentials on listener",
        "refuse on token",
        "malformed-json on token",
    ] {
        assert!(refused.iter().any(|r| r == must), "{must} accepted");
    }
}

#[test]
fn status_codes_are_final_answers_and_throttle_is_at_least_one() {
    for code in 0..=1000u32 {
        let parsed = format!("status({code})").parse::<FaultSpec>();
        assert_eq!(
            parsed.is_ok(),
            (200..=599).contains(&code),
            "status({code})"
        );
        if (100..=199).contains(&code) {
            assert!(
                parsed.unwrap_err().reason.contains("informational (1xx)"),
                "{code}"
            );
        }
    }
    assert!("throttle(0)".parse::<FaultSpec>().is_err());
    assert!("throttle(1)".parse::<FaultSpec>().is_ok());
    let e = "refuse p=2".parse::<FaultSpec>().unwrap_err();
    assert!(e.reason.contains("takes no probability"), "{e}");
    let e = "reset p=2".parse::<FaultSpec>().unwrap_err();
    assert!(e.reason.contains("in 0..=1"), "{e}");
}

#[test]
fn ctl_and_serve_refuse_them_too() {
    let serve = support::Serve::start(&[]);
    let control_port = serve.control_port.clone();
    for (spec, says) in [
        ("no-role on token", "can only be `credentials`"),
        ("status(101)", "informational"),
        ("throttle(0)", "at least 1"),
        ("refuse p=2", "takes no probability"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_mock-imds"))
            .args(["ctl", "--control-port", &control_port, "fault", spec])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "ctl fault {spec}: {stderr}");
        assert!(stderr.contains(says), "ctl fault {spec}: {stderr}");

        let out = support::serve_on_free_ports()
            .args(["--state", spec])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "serve --state {spec}: {stderr}");
        assert!(stderr.contains(says), "serve --state {spec}: {stderr}");
    }
}
