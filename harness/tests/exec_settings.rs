//! `imds-harness exec --env / --profile / --region-from-imds`: the SDK settings a user
//! gives their own program, the shell form of a driver's `env`, `profile` and
//! `region_from_imds` (`harness/src/driver/passthrough.rs`). What reaches the program is
//! read back by the program itself; what must never reach it is refused before anything
//! starts (exit 2, saying why).

mod support;
use support::{harness, ok, text};

#[test]
fn settings_reach_the_program_and_the_region_is_left_to_it() {
    let out = harness()
        .args([
            "exec",
            "--env",
            "AWS_METADATA_SERVICE_NUM_ATTEMPTS=2",
            "--env",
            "MY_NOTE=x=y",
            "--profile",
            "metadata_service_timeout=3",
            "--profile",
            "role_arn=arn:aws:iam::123456789012:role/chained",
            "--profile",
            "credential_source=Ec2InstanceMetadata",
            "--region-from-imds",
            "--",
            "sh",
            "-c",
            r#"echo "attempts=$AWS_METADATA_SERVICE_NUM_ATTEMPTS note=$MY_NOTE region=${AWS_REGION-unset}/${AWS_DEFAULT_REGION-unset}"; cat "$AWS_CONFIG_FILE""#,
        ])
        .output()
        .unwrap();
    let stdout = ok(&out, &[0]);
    assert!(
        stdout.contains("attempts=2 note=x=y region=unset/unset"),
        "{}",
        text(&out)
    );
    assert!(
        stdout.contains(
            "[default]\ncredential_source = Ec2InstanceMetadata\nmetadata_service_timeout = 3\nrole_arn = arn:aws:iam::123456789012:role/chained\n"
        ),
        "{}",
        text(&out)
    );

    // Without --region-from-imds the harness gives the region, and the profile file
    // stays empty.
    let out = harness()
        .args([
            "exec",
            "--",
            "sh",
            "-c",
            r#"echo "region=$AWS_REGION"; wc -c < "$AWS_CONFIG_FILE""#,
        ])
        .output()
        .unwrap();
    let stdout = ok(&out, &[0]);
    assert_eq!(stdout.trim(), "region=us-east-1\n0", "{}", text(&out));
}

#[test]
fn credentials_and_what_the_harness_owns_are_refused() {
    for (args, says) in [
        (
            &["--env", "AWS_SECRET_ACCESS_KEY=x"][..],
            "`env.AWS_SECRET_ACCESS_KEY` is refused: a cell's credentials come only from the mock IMDS",
        ),
        (&["--env", "AWS_REGION=eu-west-1"], "`region_from_imds = true` leaves it"),
        (&["--env", "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://x"], "container credentials"),
        (&["--env", "HOME=/root"], "the harness sets it"),
        (&["--env", "HTTPS_PROXY=http://p:3128"], "a proxy would take"),
        (&["--env", "FAKETIME=+1h"], "libfaketime"),
        (&["--env", "=x"], "`--env` must be NAME=VALUE, not `=x`"),
        (&["--env", "NOVALUE"], "`--env` must be NAME=VALUE"),
        (&["--profile", "aws_access_key_id=AKIA"], "`profile.aws_access_key_id` is refused"),
        (&["--profile", "source_profile=other"], "chain from instance credentials"),
        (&["--profile", "credential_process=/bin/x"], "a credential process is not IMDS"),
        (
            &["--profile", "credential_source=Environment", "--profile", "role_arn=arn:aws:iam::1:role/r"],
            "only `credential_source = \"Ec2InstanceMetadata\"`",
        ),
        (&["--profile", "role_arn=arn:aws:iam::1:role/r"], "needs `credential_source"),
    ] {
        let out = harness()
            .arg("exec")
            .args(args)
            .args(["--", "sh", "-c", "echo RAN"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("RAN"),
            "{args:?}: the command ran"
        );
    }
}
