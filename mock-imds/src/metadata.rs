//! The metadata tree as EC2 serves it under `/latest/` (and under every dated version).
//!
//! Listings name one level only, one name per line, folders with a trailing `/`
//! (`iam/`, `placement/`), no trailing newline. The version root (`/latest/`) lists
//! `dynamic`, `meta-data` and, when set, `user-data`, without slashes, as EC2 does.
//!
//! The leaves are EC2's categories (EC2 User Guide, "Instance metadata categories"),
//! with AEMM's set as the checklist: identity, `block-device-mapping/`, `placement/`,
//! `network/interfaces/macs/<mac>/`, `services/`, `public-*` when the instance has a
//! public address, `tags/instance/` only when tags in metadata are on (EC2's
//! `InstanceMetadataTags`; 404 otherwise), the notices' leaves ([`crate::notice`]), then
//! the config's `paths`, which override or add any leaf.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::ImdsConfig;

/// Dated API versions IMDS answers besides `latest` (a selection of EC2's list).
pub const VERSIONS: &[&str] = &[
    "1.0",
    "2007-01-19",
    "2009-04-04",
    "2012-01-12",
    "2016-09-02",
    "2018-09-24",
    "2021-07-15",
    "2022-09-24",
    "latest",
];

/// What sits at a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A folder: its listing, ready to serve.
    Listing(String),
    /// A fixed value.
    Text(String),
    /// Raw bytes (`user-data`, which need not be text).
    Data(Vec<u8>),
    /// `meta-data/iam/info`: depends on the current credentials' `LastUpdated`.
    IamInfo,
    /// `meta-data/iam/security-credentials/<role>`: the current credentials document.
    RoleCredentials,
    /// `meta-data/iam/security-credentials-extended/<role>`: the same plus `AccountId`.
    RoleCredentialsExtended,
}

/// Every path under a version root, mapped to its node. Built once from the config.
#[derive(Clone, Debug)]
pub struct MetadataTree {
    nodes: BTreeMap<String, Node>,
    version_list: Node,
}

impl MetadataTree {
    /// Builds the tree the config describes, without notices.
    pub fn new(config: &ImdsConfig) -> Self {
        Self::with_notices(config, &crate::notice::NoticeBoard::default())
    }

    /// Builds the tree the config describes with the leaves `notices` add; the config's
    /// `paths` override both.
    pub fn with_notices(config: &ImdsConfig, notices: &crate::notice::NoticeBoard) -> Self {
        let mut leaves: BTreeMap<String, Node> = ec2_leaves(config).into_iter().collect();
        if let Some(role) = &config.role_name {
            leaves.insert("meta-data/iam/info".into(), Node::IamInfo);
            leaves.insert(
                format!("meta-data/iam/security-credentials/{role}"),
                Node::RoleCredentials,
            );
            if config.extended_credentials {
                leaves.insert(
                    format!("meta-data/iam/security-credentials-extended/{role}"),
                    Node::RoleCredentialsExtended,
                );
            }
        }
        if let Some(user_data) = &config.user_data {
            leaves.insert("user-data".into(), Node::Data(user_data.clone()));
        }
        for (path, body) in notices.leaves() {
            leaves.insert(path, Node::Text(body));
        }
        for (path, value) in &config.paths {
            leaves.insert(path.clone(), Node::Text(value.clone()));
        }
        Self::from_leaves(leaves.into_iter().collect())
    }

    fn from_leaves(leaves: Vec<(String, Node)>) -> Self {
        // Each folder lists its direct children; folders get a trailing slash except at
        // the version root.
        let mut folders: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (path, _) in &leaves {
            let segments: Vec<&str> = path.split('/').collect();
            for depth in 0..segments.len() {
                let folder: String = segments[..depth].iter().map(|s| format!("{s}/")).collect();
                let is_leaf = depth + 1 == segments.len();
                let child = if is_leaf || depth == 0 {
                    segments[depth].to_string()
                } else {
                    format!("{}/", segments[depth])
                };
                folders.entry(folder).or_default().insert(child);
            }
        }
        let mut nodes: BTreeMap<String, Node> = leaves.into_iter().collect();
        for (folder, children) in folders {
            let listing = children.into_iter().collect::<Vec<_>>().join("\n");
            nodes.insert(folder, Node::Listing(listing));
        }
        Self {
            nodes,
            version_list: Node::Listing(VERSIONS.join("\n")),
        }
    }

    /// The node at a request path such as `/latest/meta-data/iam/`, or `None` (404).
    /// A folder is found with or without its trailing slash, and so is a leaf: EC2
    /// answers `placement/availability-zone/` with the zone (200, 15 bytes in the AWS
    /// CLI debug log of aws/aws-cli#4976, taken on an instance), the path botocore's
    /// `InstanceMetadataRegionFetcher` asks for.
    pub fn resolve(&self, path: &str) -> Option<&Node> {
        if path == "/" || path.is_empty() {
            return Some(&self.version_list);
        }
        let rest = path.strip_prefix('/')?;
        let (version, below) = match rest.split_once('/') {
            Some((version, below)) => (version, below),
            None => (rest, ""),
        };
        if !VERSIONS.contains(&version) {
            return None;
        }
        self.nodes
            .get(below)
            .or_else(|| match below.strip_suffix('/') {
                Some(leaf) => self
                    .nodes
                    .get(leaf)
                    .filter(|n| !matches!(n, Node::Listing(_))),
                None => self
                    .nodes
                    .get(&format!("{below}/"))
                    .filter(|n| matches!(n, Node::Listing(_))),
            })
    }
}

/// EC2's fixed categories for the config's identity (not the role, user data or
/// notices). Values not in the config are EC2-shaped placeholders (`eni-…`, `sg-…`).
fn ec2_leaves(config: &ImdsConfig) -> Vec<(String, Node)> {
    let id = &config.identity;
    let t = |path: &str, value: &str| (format!("meta-data/{path}"), Node::Text(value.into()));
    let mac = id.mac.as_str();
    let nic = |leaf: &str, value: &str| t(&format!("network/interfaces/macs/{mac}/{leaf}"), value);
    let mut leaves = vec![
        t("ami-id", &id.ami_id),
        t("ami-launch-index", "0"),
        t("ami-manifest-path", "(unknown)"),
        t("block-device-mapping/ami", "/dev/xvda"),
        t("block-device-mapping/root", "/dev/xvda"),
        t("hostname", &id.hostname),
        t("instance-action", "none"),
        t("instance-id", &id.instance_id),
        t("instance-life-cycle", &id.instance_life_cycle),
        t("instance-type", &id.instance_type),
        t("local-hostname", &id.hostname),
        t("local-ipv4", &id.local_ipv4),
        t("mac", mac),
        nic("device-number", "0"),
        nic("interface-id", "eni-0123456789abcdef0"),
        nic("local-hostname", &id.hostname),
        nic("local-ipv4s", &id.local_ipv4),
        nic("mac", mac),
        nic("network-card-index", "0"),
        nic("owner-id", &id.account_id),
        nic("security-group-ids", "sg-0123456789abcdef0"),
        nic("security-groups", "default"),
        nic("subnet-id", "subnet-0123456789abcdef0"),
        nic("subnet-ipv4-cidr-block", "192.0.2.0/24"),
        nic("vpc-id", "vpc-0123456789abcdef0"),
        nic("vpc-ipv4-cidr-block", "192.0.2.0/24"),
        nic("vpc-ipv4-cidr-blocks", "192.0.2.0/24"),
        t("placement/availability-zone", &id.availability_zone),
        t("placement/availability-zone-id", &id.availability_zone_id),
        t("placement/region", &id.region),
        t("reservation-id", "r-0123456789abcdef0"),
        t("security-groups", "default"),
        t("services/domain", "amazonaws.com"),
        t("services/partition", "aws"),
        (
            "dynamic/instance-identity/document".into(),
            Node::Text(identity_document(config)),
        ),
    ];
    if let Some(public) = &id.public_ipv4 {
        let hostname = format!("ec2-{}.compute-1.amazonaws.com", public.replace('.', "-"));
        leaves.push(t("public-ipv4", public));
        leaves.push(t("public-hostname", &hostname));
        leaves.push(nic("public-ipv4s", public));
        leaves.push(nic("public-hostname", &hostname));
        leaves.push(nic(&format!("ipv4-associations/{public}"), &id.local_ipv4));
    }
    if config.tags_in_metadata {
        for (key, value) in &config.tags {
            leaves.push(t(&format!("tags/instance/{key}"), value));
        }
    }
    leaves
}

/// The instance identity document (`/latest/dynamic/instance-identity/document`), with
/// EC2's field names and `" : "` separators.
pub fn identity_document(config: &ImdsConfig) -> String {
    let id = &config.identity;
    let q = crate::ec2_http::json_string;
    format!(
        "{{\n  \"accountId\" : {},\n  \"architecture\" : \"x86_64\",\n  \"availabilityZone\" : {},\n  \"billingProducts\" : null,\n  \"devpayProductCodes\" : null,\n  \"marketplaceProductCodes\" : null,\n  \"imageId\" : {},\n  \"instanceId\" : {},\n  \"instanceType\" : {},\n  \"kernelId\" : null,\n  \"pendingTime\" : \"2026-01-01T00:00:00Z\",\n  \"privateIp\" : {},\n  \"ramdiskId\" : null,\n  \"region\" : {},\n  \"version\" : \"2017-09-30\"\n}}",
        q(&id.account_id),
        q(&id.availability_zone),
        q(&id.ami_id),
        q(&id.instance_id),
        q(&id.instance_type),
        q(&id.local_ipv4),
        q(&id.region),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(tree: &MetadataTree, path: &str) -> String {
        match tree.resolve(path) {
            Some(Node::Listing(l)) => l.clone(),
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn listings_name_one_level_with_folder_slashes() {
        let tree = MetadataTree::new(&ImdsConfig::default());
        let root = listing(&tree, "/latest/meta-data/");
        assert!(root.lines().any(|l| l == "iam/"), "{root}");
        assert!(root.lines().any(|l| l == "placement/"), "{root}");
        assert!(root.lines().any(|l| l == "instance-id"), "{root}");
        assert!(!root.contains("security-credentials"), "{root}");
        assert!(!root.ends_with('\n'));
        assert_eq!(
            listing(&tree, "/latest/meta-data/iam/"),
            "info\nsecurity-credentials/"
        );
        assert_eq!(
            listing(&tree, "/latest/meta-data/iam/security-credentials/"),
            "mock-imds-role"
        );
        assert_eq!(
            listing(&tree, "/latest/meta-data/iam"),
            "info\nsecurity-credentials/"
        );
        assert_eq!(listing(&tree, "/latest/"), "dynamic\nmeta-data");
        assert!(listing(&tree, "/").ends_with("latest"));
        assert_eq!(
            tree.resolve("/2021-07-15/meta-data/placement/region"),
            Some(&Node::Text("us-east-1".into()))
        );
    }

    #[test]
    fn unknown_paths_and_versions_are_absent() {
        let tree = MetadataTree::new(&ImdsConfig::default());
        assert!(tree.resolve("/latest/meta-data/nope").is_none());
        assert!(tree.resolve("/1999-01-01/meta-data/").is_none());
        assert!(tree.resolve("/latest/user-data").is_none());
        // A leaf with a trailing slash is the leaf (as EC2 answers botocore's
        // `placement/availability-zone/`); a double slash is not.
        assert_eq!(
            tree.resolve("/latest/meta-data/placement/availability-zone/"),
            tree.resolve("/latest/meta-data/placement/availability-zone")
        );
        assert!(tree
            .resolve("/latest/meta-data/placement/availability-zone/")
            .is_some());
        assert!(tree
            .resolve("/latest/meta-data/placement/availability-zone//")
            .is_none());
        let no_role = MetadataTree::new(&ImdsConfig {
            role_name: None,
            user_data: Some("#!/bin/sh".into()),
            ..ImdsConfig::default()
        });
        assert!(no_role.resolve("/latest/meta-data/iam/").is_none());
        assert_eq!(
            no_role.resolve("/latest/user-data"),
            Some(&Node::Data(b"#!/bin/sh".to_vec()))
        );
    }

    #[test]
    fn extended_credentials_only_when_switched_on() {
        let off = MetadataTree::new(&ImdsConfig::default());
        assert!(off
            .resolve("/latest/meta-data/iam/security-credentials-extended/")
            .is_none());
        let on = MetadataTree::new(&ImdsConfig {
            extended_credentials: true,
            ..ImdsConfig::default()
        });
        assert_eq!(
            listing(&on, "/latest/meta-data/iam/"),
            "info\nsecurity-credentials-extended/\nsecurity-credentials/"
        );
        assert_eq!(
            on.resolve("/latest/meta-data/iam/security-credentials-extended/mock-imds-role"),
            Some(&Node::RoleCredentialsExtended)
        );
    }

    #[test]
    fn the_rest_of_ec2s_tree_tags_only_when_on_and_paths_override() {
        let tree = MetadataTree::new(&ImdsConfig::default());
        let text = |path: &str| match tree.resolve(path) {
            Some(Node::Text(t)) => t.clone(),
            other => panic!("{path}: {other:?}"),
        };
        assert_eq!(text("/latest/meta-data/mac"), "0e:49:61:0f:c3:11");
        assert_eq!(
            listing(&tree, "/latest/meta-data/network/interfaces/macs/"),
            "0e:49:61:0f:c3:11/"
        );
        assert_eq!(
            text("/latest/meta-data/network/interfaces/macs/0e:49:61:0f:c3:11/local-ipv4s"),
            "192.0.2.10"
        );
        assert_eq!(text("/latest/meta-data/public-ipv4"), "198.51.100.10");
        assert_eq!(
            text("/latest/meta-data/public-hostname"),
            "ec2-198-51-100-10.compute-1.amazonaws.com"
        );
        assert_eq!(
            listing(&tree, "/latest/meta-data/block-device-mapping/"),
            "ami\nroot"
        );
        assert_eq!(
            text("/latest/meta-data/placement/availability-zone-id"),
            "use1-az4"
        );
        assert_eq!(text("/latest/meta-data/services/partition"), "aws");
        // EC2's InstanceMetadataTags is off by default: no tags/ at all.
        assert!(tree.resolve("/latest/meta-data/tags/instance/").is_none());
        assert!(tree
            .resolve("/latest/meta-data/tags/instance/Name")
            .is_none());
        let mut config = ImdsConfig {
            tags_in_metadata: true,
            ..ImdsConfig::default()
        };
        config.identity.public_ipv4 = None;
        config.tags.insert("team".into(), "infra".into());
        config
            .paths
            .insert("meta-data/instance-type".into(), "m5.large".into());
        config
            .paths
            .insert("meta-data/custom/leaf".into(), "v".into());
        let on = MetadataTree::new(&config);
        assert_eq!(
            listing(&on, "/latest/meta-data/tags/instance/"),
            "Name\nteam"
        );
        assert_eq!(
            on.resolve("/latest/meta-data/tags/instance/team"),
            Some(&Node::Text("infra".into()))
        );
        assert!(on.resolve("/latest/meta-data/public-ipv4").is_none());
        assert_eq!(
            on.resolve("/latest/meta-data/instance-type"),
            Some(&Node::Text("m5.large".into()))
        );
        assert!(listing(&on, "/latest/meta-data/")
            .lines()
            .any(|l| l == "custom/"));
    }

    #[test]
    fn identity_document_is_json_with_ec2_fields() {
        let doc: serde_json::Value =
            serde_json::from_str(&identity_document(&ImdsConfig::default())).unwrap();
        assert_eq!(doc["region"], "us-east-1");
        assert_eq!(doc["instanceId"], "i-0123456789abcdef0");
        assert_eq!(doc["accountId"], "123456789012");
    }
}
