//! `imds-harness bisect` end to end: release lists from the real registries (npm, PyPI),
//! each tested release in its own cached `kind@VERSION` environment, the real SDKs
//! through a refused IMDS. Needs the registries (as `scripts/setup` does); the
//! environments are cached (~/.cache/imds-harness), so a second run builds none.

mod support;

use serde_json::Value;

use support::{harness, ok, root, text};

fn bisect(args: &[&str]) -> (String, Value) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bisect.json");
    let out = harness()
        .arg("bisect")
        .args(args)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = ok(&out, &[0]);
    let report = std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("{e}\n{}", text(&out)));
    (stdout, serde_json::from_str(&report).unwrap())
}

fn run_of<'a>(report: &'a Value, version: &str) -> &'a Value {
    report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["version"] == version)
        .unwrap_or_else(|| panic!("{version} was not run: {report:#}"))
}

/// Every run is a verdict or a reported skip, and only releases of the range ran.
fn runs_are_reported(report: &Value) {
    let releases: Vec<&str> = report["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        releases.iter().all(|v| !v.contains('-')),
        "a pre-release: {releases:?}"
    );
    for run in report["runs"].as_array().unwrap() {
        assert!(
            releases.contains(&run["version"].as_str().unwrap()),
            "{run}"
        );
        match run["result"].as_str().unwrap() {
            "verdict" => assert!(run["class"].is_string() && run["text"].is_string(), "{run}"),
            "skipped" => assert!(!run["reason"].as_str().unwrap().is_empty(), "{run}"),
            other => panic!("result {other}"),
        }
    }
    assert!(report["took_ms"].as_f64().unwrap() > 0.0);
}

#[test]
fn js_v3_cached_failure_changes_at_3_27_0() {
    let scenario = root().join("scenarios/js-v3-cached-failure.toml");
    let (stdout, report) = bisect(&[
        scenario.to_str().unwrap(),
        "--driver",
        "js-v3",
        "--from",
        "3.20.0",
        "--to",
        "3.40.0",
    ]);
    assert_eq!(report["registry"], "npm @aws-sdk/client-sts");
    let releases = report["releases"].as_array().unwrap();
    assert_eq!(releases.first().unwrap(), "3.20.0");
    assert_eq!(releases.last().unwrap(), "3.40.0");
    runs_are_reported(&report);
    assert_eq!(report["finding"], "changed", "{stdout}");
    assert_eq!(report["first_different"], "3.27.0", "{stdout}");
    assert_eq!(report["last_same"], "3.26.0", "{stdout}");
    let (before, after) = (run_of(&report, "3.26.0"), run_of(&report, "3.27.0"));
    assert_eq!(before["class"], "not-recovered", "{before}");
    assert!(before["text"]
        .as_str()
        .unwrap()
        .contains("CredentialsProviderError"));
    assert_eq!(after["class"], "recovered", "{after}");
    assert!(before["sdk_version"]
        .as_str()
        .unwrap()
        .contains("client-sts 3.26.0"));
    assert!(after["sdk_version"]
        .as_str()
        .unwrap()
        .contains("client-sts 3.27.0"));
    // Measured here: 3.20.0 sends its IMDS requests to 169.254.169.254 whatever the
    // endpoint setting; the loopback guard stops it, and bisect reports it skipped and
    // takes the first testable release as the reference.
    let oldest = run_of(&report, "3.20.0");
    assert_eq!(oldest["result"], "skipped", "{oldest}");
    assert!(
        oldest["reason"]
            .as_str()
            .unwrap()
            .contains("169.254.169.254"),
        "{oldest}"
    );
    assert_eq!(report["reference"], "3.26.0", "{stdout}");
    // A binary search, not every release.
    let runs = report["runs"].as_array().unwrap().len();
    assert!(
        runs < releases.len(),
        "{runs} runs for {} releases",
        releases.len()
    );
    assert!(
        stdout.contains("first release whose verdict differs from 3.26.0's")
            && stdout.contains(": 3.27.0\n"),
        "{stdout}"
    );
    assert!(stdout.contains("environment"), "{stdout}");
}

#[test]
fn boto3_trap_is_unchanged_across_releases() {
    let scenario = root().join("scenarios/boto3-versions.toml");
    let (stdout, report) = bisect(&[
        scenario.to_str().unwrap(),
        "--driver",
        "boto3",
        "--from",
        "1.26.0",
        "--to",
        "1.34.162",
        "--cell",
        "boto3*/call-retry",
    ]);
    assert_eq!(report["registry"], "PyPI boto3");
    runs_are_reported(&report);
    assert!(report["releases"].as_array().unwrap().len() > 100);
    assert_eq!(report["finding"], "unchanged", "{stdout}");
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "only the ends run: {stdout}");
    for (run, botocore) in runs.iter().zip(["botocore 1.29.0", "botocore 1.34.162"]) {
        assert_eq!(run["class"], "not-recovered", "{run}");
        assert!(run["text"].as_str().unwrap().contains("NoCredentialsError"));
        // Each release with the botocore it required (its lowest allowed).
        assert!(
            run["sdk_version"].as_str().unwrap().contains(botocore),
            "{run}"
        );
    }
    assert!(
        stdout.contains("the verdict does not change from 1.26.0 to 1.34.162"),
        "{stdout}"
    );
}

#[test]
fn bad_ranges_and_kinds_are_input_errors() {
    let scenario = root().join("scenarios/boto3-versions.toml");
    let scenario = scenario.to_str().unwrap();
    for (args, says) in [
        (
            vec![
                scenario, "--driver", "rust-sdk", "--from", "1.0.0", "--to", "1.1.0",
            ],
            "has no release list to bisect",
        ),
        (
            vec![
                scenario,
                "--driver",
                "boto3",
                "--from",
                "1.26",
                "--to",
                "1.34.162",
                "--cell",
                "boto3*/call-retry",
            ],
            "--from 1.26: not a release version",
        ),
        (
            vec![
                scenario, "--driver", "js-v3", "--from", "3.20.0", "--to", "3.40.0",
            ],
            "no js-v3 cell",
        ),
        (
            vec![
                scenario, "--driver", "boto3", "--from", "1.26.0", "--to", "1.34.162",
            ],
            "differ in strategy or SDK settings",
        ),
    ] {
        let out = harness().arg("bisect").args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}\n{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}\n{}",
            text(&out)
        );
    }
}
