//! Reading an amazon-ec2-metadata-mock (AEMM, v1.13) JSON config, so its users can bring
//! theirs: `metadata`, `dynamic` and `userdata` sections (`paths`: name → path,
//! `values`: name → value; a name given only a value takes AEMM's default path for it,
//! from its `aemm-metadata-default-values.json`) and `imdsv2`. What mock-imds does
//! otherwise is named in the warnings returned: notices come from schedule steps or
//! `ctl notice` (not `spot`, `events`, `asglifecycle` or `mock-delay-sec`), ports from
//! `serve`'s flags, role credentials from the credential store (AEMM's expired in 2020).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::{normalize_path, HttpTokens, ImdsConfig};

/// AEMM's default names and paths (its `aemm-metadata-default-values.json`), for the
/// names whose value a config may set without a path. Credentials and the role are not
/// here: the credential store serves them.
const DEFAULT_PATHS: &[(&str, &str)] = &[
    ("ami-id", "/latest/meta-data/ami-id"),
    ("ami-launch-index", "/latest/meta-data/ami-launch-index"),
    ("ami-manifest-path", "/latest/meta-data/ami-manifest-path"),
    (
        "block-device-mapping-ami",
        "/latest/meta-data/block-device-mapping/ami",
    ),
    (
        "block-device-mapping-ebs",
        "/latest/meta-data/block-device-mapping/ebs0",
    ),
    (
        "block-device-mapping-ephemeral",
        "/latest/meta-data/block-device-mapping/ephemeral0",
    ),
    (
        "block-device-mapping-root",
        "/latest/meta-data/block-device-mapping/root",
    ),
    (
        "block-device-mapping-swap",
        "/latest/meta-data/block-device-mapping/swap",
    ),
    ("hostname", "/latest/meta-data/hostname"),
    ("instance-action", "/latest/meta-data/instance-action"),
    ("instance-id", "/latest/meta-data/instance-id"),
    (
        "instance-life-cycle",
        "/latest/meta-data/instance-life-cycle",
    ),
    ("instance-type", "/latest/meta-data/instance-type"),
    ("kernel-id", "/latest/meta-data/kernel-id"),
    ("local-hostname", "/latest/meta-data/local-hostname"),
    ("local-ipv4", "/latest/meta-data/local-ipv4"),
    ("mac", "/latest/meta-data/mac"),
    (
        "placement-availability-zone",
        "/latest/meta-data/placement/availability-zone",
    ),
    (
        "placement-availability-zone-id",
        "/latest/meta-data/placement/availability-zone-id",
    ),
    (
        "placement-group-name",
        "/latest/meta-data/placement/group-name",
    ),
    ("placement-host-id", "/latest/meta-data/placement/host-id"),
    (
        "placement-partition-number",
        "/latest/meta-data/placement/partition-number",
    ),
    ("placement-region", "/latest/meta-data/placement/region"),
    ("product-codes", "/latest/meta-data/product-codes"),
    ("public-hostname", "/latest/meta-data/public-hostname"),
    ("public-ipv4", "/latest/meta-data/public-ipv4"),
    ("public-key", "/latest/meta-data/public-keys/0/openssh-key"),
    ("ramdisk-id", "/latest/meta-data/ramdisk-id"),
    ("reservation-id", "/latest/meta-data/reservation-id"),
    ("security-groups", "/latest/meta-data/security-groups"),
    ("services-domain", "/latest/meta-data/services/domain"),
    ("services-partition", "/latest/meta-data/services/partition"),
    ("tags-instance-name", "/latest/meta-data/tags/instance/Name"),
    ("tags-instance-test", "/latest/meta-data/tags/instance/Test"),
    (
        "instance-identity-document",
        "/latest/dynamic/instance-identity/document",
    ),
    (
        "instance-identity-pkcs",
        "/latest/dynamic/instance-identity/pkcs7",
    ),
    (
        "instance-identity-signature",
        "/latest/dynamic/instance-identity/signature",
    ),
    (
        "fws-instance-monitoring",
        "/latest/dynamic/fws/instance-monitoring",
    ),
];

/// AEMM names mock-imds serves from its credential store or notices, never from values.
const LIVE: &[&str] = &[
    "iam-info",
    "iam-security-credentials",
    "iam-security-credentials-role",
    "spot",
    "spot-termination-time",
    "rebalance-rec-time",
    "events",
    "target-lifecycle-state",
];

/// A value as served: strings as they are, JSON objects and lists pretty-printed,
/// numbers and booleans as written.
fn served(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Object(_) | Value::Array(_) => {
            serde_json::to_string_pretty(value).unwrap_or_default()
        }
        other => other.to_string(),
    }
}

/// Reads an AEMM JSON config over mock-imds's defaults: the config and the warnings
/// (what in the file mock-imds does not take from it, and what to use instead).
///
/// # Errors
/// Text that is not JSON, a section that is not an object, a path that is not a leaf
/// under `/latest/meta-data/`, `/latest/dynamic/` or `/latest/user-data`, user data
/// that is not base64 (AEMM's `userdata.values.userdata` is base64).
pub fn from_aemm_json(text: &str) -> Result<(ImdsConfig, Vec<String>), String> {
    let root: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(root) = root else {
        return Err("an AEMM config is a JSON object".into());
    };
    let mut config = ImdsConfig::default();
    let mut warnings = Vec::new();
    for (key, value) in &root {
        match key.as_str() {
            "metadata" | "dynamic" => section(key, value, &mut config, &mut warnings)?,
            "userdata" => {
                let encoded = value
                    .pointer("/values/userdata")
                    .and_then(Value::as_str)
                    .ok_or("`userdata` needs `values.userdata`, base64 text")?;
                use base64::Engine as _;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .map_err(|e| format!("`userdata.values.userdata` is not base64 ({e})"))?;
                config.user_data = Some(bytes);
            }
            "imdsv2" => {
                if value.as_bool() == Some(true) {
                    config.http_tokens = HttpTokens::Required;
                }
            }
            "spot"
            | "events"
            | "asglifecycle"
            | "mock-delay-sec"
            | "mock-trigger-time"
            | "rebalance-delay-sec"
            | "rebalance-trigger-time"
            | "mock-ip-count" => {
                warnings.push(format!(
                    "`{key}` is not read: mock-imds posts notices from schedule steps (`notice = \"spot-interruption(terminate, 2m)\"`) or `mock-imds ctl notice`"
                ));
            }
            other => warnings.push(format!(
                "`{other}` is not read (ports and addresses are `serve`'s flags)"
            )),
        }
    }
    Ok((config, warnings))
}

fn section(
    name: &str,
    value: &Value,
    config: &mut ImdsConfig,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let object = |key: &str| -> Result<BTreeMap<String, Value>, String> {
        match value.get(key) {
            None => Ok(BTreeMap::new()),
            Some(Value::Object(map)) => Ok(map.clone().into_iter().collect()),
            Some(_) => Err(format!("`{name}.{key}` must be an object")),
        }
    };
    let paths = object("paths")?;
    let values = object("values")?;
    for (key, value) in &values {
        if LIVE.contains(&key.as_str()) {
            if key == "iam-security-credentials-role" {
                if let Some(role) = value.as_str() {
                    config.role_name = Some(role.to_string());
                    continue;
                }
            }
            warnings.push(format!(
                "`{name}.values.{key}` is not read: mock-imds serves it live (credentials from its store, notices from the schedule or `ctl notice`)"
            ));
            continue;
        }
        let path = match paths.get(key) {
            Some(Value::String(p)) => p.clone(),
            Some(_) => return Err(format!("`{name}.paths.{key}` must be a string")),
            None => match DEFAULT_PATHS.iter().find(|(n, _)| n == key) {
                Some((_, p)) => (*p).to_string(),
                None => {
                    warnings.push(format!(
                        "`{name}.values.{key}` has no path (give it one in `{name}.paths`)"
                    ));
                    continue;
                }
            },
        };
        let below = normalize_path(&path).map_err(|why| format!("`{name}.paths.{key}`: {why}"))?;
        let text = served(value);
        identity(config, key, &text);
        if let Some(tag) = below.strip_prefix("meta-data/tags/instance/") {
            config.tags_in_metadata = true;
            config.tags.insert(tag.to_string(), text);
        } else {
            config.paths.insert(below, text);
        }
    }
    Ok(())
}

/// The identity fields an AEMM value also sets, so the derived leaves (the identity
/// document, the interface folder) agree with it.
fn identity(config: &mut ImdsConfig, key: &str, text: &str) {
    let id = &mut config.identity;
    let field = match key {
        "ami-id" => &mut id.ami_id,
        "instance-id" => &mut id.instance_id,
        "instance-type" => &mut id.instance_type,
        "local-ipv4" => &mut id.local_ipv4,
        "hostname" => &mut id.hostname,
        "mac" => &mut id.mac,
        "placement-region" => &mut id.region,
        "placement-availability-zone" => &mut id.availability_zone,
        "placement-availability-zone-id" => &mut id.availability_zone_id,
        "instance-life-cycle" => &mut id.instance_life_cycle,
        "public-ipv4" => {
            id.public_ipv4 = Some(text.to_string());
            return;
        }
        _ => return,
    };
    *field = text.to_string();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{MetadataTree, Node};

    /// AEMM's documented example (docs/configuration.md), plus user data and imdsv2.
    const EXAMPLE: &str = r#"{
      "metadata": {
        "paths": {
          "ipv4-associations": "/latest/meta-data/network/interfaces/macs/0e:49:61:0f:c3:77/ipv4-associations/192.0.2.54"
        },
        "values": {
          "mac": "0e:49:61:0f:c3:77",
          "public-ipv4": "54.92.157.77",
          "ipv4-associations": "192.0.2.54",
          "tags-instance-name": "test-instance",
          "iam-security-credentials-role": "baskinc-role",
          "iam-info": {"Code": "Success"}
        }
      },
      "userdata": {"values": {"userdata": "MTIzNCxqb2huLHJlYm9vdCx0cnVlCg=="}},
      "imdsv2": true,
      "spot": {"action": "terminate", "time": "2020-01-07T01:03:47Z"},
      "server": {"port": "1338"}
    }"#;

    #[test]
    fn an_aemm_config_sets_values_paths_user_data_and_imdsv2() {
        let (config, warnings) = from_aemm_json(EXAMPLE).unwrap();
        assert_eq!(config.http_tokens, HttpTokens::Required);
        assert_eq!(config.identity.mac, "0e:49:61:0f:c3:77");
        assert_eq!(config.role_name.as_deref(), Some("baskinc-role"));
        assert_eq!(
            config.user_data.as_deref(),
            Some(&b"1234,john,reboot,true\n"[..])
        );
        let tree = MetadataTree::new(&config);
        let text = |p: &str| match tree.resolve(p) {
            Some(Node::Text(t)) => t.clone(),
            other => panic!("{p}: {other:?}"),
        };
        assert_eq!(text("/latest/meta-data/public-ipv4"), "54.92.157.77");
        assert_eq!(text("/latest/meta-data/mac"), "0e:49:61:0f:c3:77");
        assert_eq!(
            text("/latest/meta-data/network/interfaces/macs/0e:49:61:0f:c3:77/ipv4-associations/192.0.2.54"),
            "192.0.2.54"
        );
        assert_eq!(
            text("/latest/meta-data/tags/instance/Name"),
            "test-instance"
        );
        assert!(tree
            .resolve("/latest/meta-data/iam/security-credentials/baskinc-role")
            .is_some());
        let all = warnings.join("\n");
        assert!(all.contains("`spot` is not read"), "{all}");
        assert!(all.contains("`server` is not read"), "{all}");
        assert!(
            all.contains("`metadata.values.iam-info` is not read"),
            "{all}"
        );
    }

    #[test]
    fn bad_aemm_configs_say_what_is_wrong() {
        assert!(from_aemm_json("{").unwrap_err().starts_with("not JSON"));
        assert!(from_aemm_json("[]").unwrap_err().contains("JSON object"));
        let e = from_aemm_json(
            r#"{"metadata": {"paths": {"x": "/latest/api/token"}, "values": {"x": "1"}}}"#,
        )
        .unwrap_err();
        assert!(e.contains("`metadata.paths.x`"), "{e}");
        let e = from_aemm_json(r#"{"userdata": {"values": {"userdata": "!!"}}}"#).unwrap_err();
        assert!(e.contains("not base64"), "{e}");
    }
}
