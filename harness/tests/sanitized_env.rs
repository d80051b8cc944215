//! Child drivers never see the user's AWS settings: plant fake ones in this process's
//! environment and in a would-be `~/.aws/credentials`, and look at what a child sees.

use harness::driver::child::sanitized_command;

#[tokio::test]
async fn children_get_no_inherited_aws_variables_or_profile() {
    // This test binary has only this test, so changing the environment races nothing.
    std::env::set_var("AWS_ACCESS_KEY_ID", "AKIAPLANTEDBYTHETEST");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "planted-secret");
    std::env::set_var("AWS_PROFILE", "planted");
    std::env::set_var("HTTPS_PROXY", "http://proxy.invalid:3128");
    let real_home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(real_home.path().join(".aws")).unwrap();
    std::fs::write(
        real_home.path().join(".aws/credentials"),
        "[default]\naws_access_key_id = AKIAPLANTEDINFILE000\naws_secret_access_key = x\n",
    )
    .unwrap();
    std::env::set_var("HOME", real_home.path());

    let child_home = tempfile::tempdir().unwrap();
    let mut cmd =
        sanitized_command(std::path::Path::new("/usr/bin/env"), child_home.path()).unwrap();
    let out = cmd.output().await.unwrap();
    let env = String::from_utf8(out.stdout).unwrap();
    assert!(
        !env.contains("PLANTED") && !env.contains("planted"),
        "{env}"
    );
    assert!(!env.contains("HTTPS_PROXY"), "{env}");
    assert!(
        env.contains(&format!("HOME={}", child_home.path().display())),
        "{env}"
    );
    let aws: Vec<&str> = env.lines().filter(|l| l.starts_with("AWS_")).collect();
    assert_eq!(aws.len(), 2, "only the two empty-file pointers: {aws:?}");
    for line in aws {
        let file = line.split_once('=').unwrap().1;
        assert_eq!(
            std::fs::read_to_string(file).unwrap(),
            "",
            "{line} must point at an empty file"
        );
    }
}
