//! Records the versions of the AWS SDK crates this build links, from the workspace's
//! Cargo.lock, so reports can name the SDK version the `rust-sdk` driver ran.

use std::path::PathBuf;

fn main() {
    let lock = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default())
        .join("..")
        .join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let parsed: toml::Value =
        toml::from_str(&text).unwrap_or(toml::Value::Table(Default::default()));
    let version = |name: &str| {
        parsed
            .get("package")
            .and_then(|p| p.as_array())
            .and_then(|packages| {
                packages
                    .iter()
                    .find(|p| p.get("name").and_then(|n| n.as_str()) == Some(name))
            })
            .and_then(|p| p.get("version"))
            .and_then(|v| v.as_str())
            .unwrap_or("unknown")
            .to_string()
    };
    println!(
        "cargo:rustc-env=HARNESS_AWS_SDK_STS_VERSION={}",
        version("aws-sdk-sts")
    );
    println!(
        "cargo:rustc-env=HARNESS_AWS_CONFIG_VERSION={}",
        version("aws-config")
    );
}
