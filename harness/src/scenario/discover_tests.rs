//! [`super::discover`]: folders are walked into their subfolders (the built-in suite keeps
//! `scenarios/sdk-tests/`), and the built-in suite's names stay distinct.

use std::path::PathBuf;

use super::discover;

#[test]
fn a_folder_gives_its_toml_files_then_its_subfolders_without_following_folder_links() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "").unwrap();
    };
    for rel in [
        "b.toml",
        "a.toml",
        "notes.txt",
        "sub/c.toml",
        "sub/deeper/d.toml",
        "z.toml",
    ] {
        write(rel);
    }
    // A link back to the root would loop if followed.
    #[cfg(unix)]
    std::os::unix::fs::symlink(root, root.join("sub/loop")).unwrap();

    let found: Vec<PathBuf> = discover(&[root.to_path_buf()])
        .unwrap()
        .into_iter()
        .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
        .collect();
    let want: Vec<PathBuf> = [
        "a.toml",
        "b.toml",
        "z.toml",
        "sub/c.toml",
        "sub/deeper/d.toml",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    assert_eq!(found, want);
}

#[test]
fn a_subfolder_given_beside_its_parent_is_listed_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/c.toml"), "").unwrap();
    let found = discover(&[dir.path().to_path_buf(), dir.path().join("sub")]).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
}

#[test]
fn the_builtin_suite_includes_sdk_tests_and_every_file_stem_is_distinct() {
    let files = discover(&[crate::paths::default_scenarios()]).unwrap();
    assert!(
        files
            .iter()
            .any(|f| f.parent().is_some_and(|p| p.ends_with("sdk-tests"))),
        "no scenarios/sdk-tests/ files found: {files:?}"
    );
    // A scenario is named by its file stem; two equal stems would be renamed to paths
    // (scenario::names), changing the names `merge`, `--filter` and reports rely on.
    let mut stems: Vec<String> = files
        .iter()
        .map(|f| f.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    stems.sort();
    let before = stems.len();
    stems.dedup();
    assert_eq!(
        stems.len(),
        before,
        "two built-in scenarios share a file stem"
    );
}
