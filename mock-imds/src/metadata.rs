//! The metadata tree as EC2 serves it under `/latest/` (and under every dated version).
//!
//! Listings name one level only, one name per line, folders with a trailing `/`
//! (`iam/`, `placement/`), no trailing newline. The version root (`/latest/`) lists
//! `dynamic`, `meta-data` and, when set, `user-data`, without slashes, as EC2 does.

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
    /// Builds the tree the config describes.
    pub fn new(config: &ImdsConfig) -> Self {
        let id = &config.identity;
        let mut leaves: Vec<(String, Node)> = vec![
            ("meta-data/ami-id".into(), Node::Text(id.ami_id.clone())),
            ("meta-data/hostname".into(), Node::Text(id.hostname.clone())),
            (
                "meta-data/instance-id".into(),
                Node::Text(id.instance_id.clone()),
            ),
            (
                "meta-data/instance-type".into(),
                Node::Text(id.instance_type.clone()),
            ),
            (
                "meta-data/local-hostname".into(),
                Node::Text(id.hostname.clone()),
            ),
            (
                "meta-data/local-ipv4".into(),
                Node::Text(id.local_ipv4.clone()),
            ),
            (
                "meta-data/placement/availability-zone".into(),
                Node::Text(id.availability_zone.clone()),
            ),
            (
                "meta-data/placement/region".into(),
                Node::Text(id.region.clone()),
            ),
            (
                "meta-data/services/domain".into(),
                Node::Text("amazonaws.com".into()),
            ),
            (
                "dynamic/instance-identity/document".into(),
                Node::Text(identity_document(config)),
            ),
        ];
        if let Some(role) = &config.role_name {
            leaves.push(("meta-data/iam/info".into(), Node::IamInfo));
            leaves.push((
                format!("meta-data/iam/security-credentials/{role}"),
                Node::RoleCredentials,
            ));
            if config.extended_credentials {
                leaves.push((
                    format!("meta-data/iam/security-credentials-extended/{role}"),
                    Node::RoleCredentialsExtended,
                ));
            }
        }
        if let Some(user_data) = &config.user_data {
            leaves.push(("user-data".into(), Node::Text(user_data.clone())));
        }

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
            Some(&Node::Text("#!/bin/sh".into()))
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
    fn identity_document_is_json_with_ec2_fields() {
        let doc: serde_json::Value =
            serde_json::from_str(&identity_document(&ImdsConfig::default())).unwrap();
        assert_eq!(doc["region"], "us-east-1");
        assert_eq!(doc["instanceId"], "i-0123456789abcdef0");
        assert_eq!(doc["accountId"], "123456789012");
    }
}
