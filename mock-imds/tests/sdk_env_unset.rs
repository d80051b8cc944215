//! `mock-imds serve`'s `unset` line names every variable that diverts an SDK from the
//! mock, measured on boto3: with each diverting setting alone, the project's boto3 does not
//! get the mock's credentials; after the `unset` line, it does.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

mod support;
use support::{root, KillOnDrop};

/// Settings found on ECS, CodeBuild, EKS and CI runners (OIDC), or in a user's shell.
const DIVERTING: &[&[(&str, &str)]] = &[
    &[("AWS_EC2_METADATA_DISABLED", "true")],
    &[(
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "/v2/credentials/x",
    )],
    &[
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://127.0.0.1:9/creds",
        ),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "x"),
    ],
    &[
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://127.0.0.1:9/creds",
        ),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            "/nonexistent/token",
        ),
    ],
    &[
        ("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token"),
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ci"),
        ("AWS_ROLE_SESSION_NAME", "ci"),
    ],
    &[("AWS_PROFILE", "nosuch")],
    &[("AWS_DEFAULT_PROFILE", "nosuch")],
    &[
        ("AWS_ACCESS_KEY_ID", "AKIAPLANTEDBYTHETEST"),
        ("AWS_SECRET_ACCESS_KEY", "planted"),
        ("AWS_SESSION_TOKEN", "planted"),
        ("AWS_SECURITY_TOKEN", "planted"),
    ],
];

const PROBE: &str = r#"
import boto3
try:
    c = boto3.Session().get_credentials()
    print("none" if c is None else "%s %s" % (c.method, c.access_key))
except Exception as e:
    print("error %s" % type(e).__name__)
"#;

#[test]
fn the_unset_line_names_every_variable_that_diverts_boto3() {
    let python = std::env::var_os("IMDS_HARNESS_PYTHON")
        .map_or_else(|| root().join(".venv/bin/python"), std::path::PathBuf::from);
    assert!(python.exists(), "run scripts/setup first");
    let mut serve = KillOnDrop(
        support::serve_on_free_ports()
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (mut exports, mut unset) = (Vec::new(), Vec::new());
    for line in BufReader::new(serve.0.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(assignments) = line.strip_prefix("export ") {
            exports.extend(assignments.split_whitespace().map(|a| {
                let (k, v) = a.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            }));
        }
        if let Some(names) = line.strip_prefix("unset ") {
            unset = names.split_whitespace().map(str::to_string).collect();
            break;
        }
    }
    let probe = |setting: &[(&str, &str)], apply_unset: bool| {
        let mut cmd = Command::new(&python);
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", "/nonexistent")
            .env("AWS_METADATA_SERVICE_TIMEOUT", "2")
            .envs(exports.iter().map(|(k, v)| (k, v)))
            .envs(setting.iter().copied());
        if apply_unset {
            for name in &unset {
                cmd.env_remove(name);
            }
        }
        let out = cmd.args(["-c", PROBE]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert!(
        probe(&[], false).starts_with("iam-role ASIAMOCK"),
        "the mock works"
    );
    for setting in DIVERTING {
        for (name, _) in *setting {
            assert!(
                unset.iter().any(|u| u == name),
                "{name} missing from {unset:?}"
            );
        }
        let diverted = probe(setting, false);
        assert!(
            !diverted.starts_with("iam-role ASIAMOCK"),
            "{setting:?} does not divert boto3 (measured: {diverted})"
        );
        let after = probe(setting, true);
        assert!(
            after.starts_with("iam-role ASIAMOCK"),
            "{setting:?}: {after}"
        );
    }
}
