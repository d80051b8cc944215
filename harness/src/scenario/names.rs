//! Scenario names that tell files apart: a scenario is named by its file stem
//! (`trap-refuse`), unless another file given to the same run has that stem too; then
//! each of those is named by its path relative to their common folder, without `.toml`
//! (`team-a/trap-refuse`, `team-b/trap-refuse`), in rows, SVG file names and `explain`.

use std::path::{Component, Path, PathBuf};

use super::Scenario;

/// Renames the scenarios whose names collide with another's (see the module docs).
pub fn make_distinct(scenarios: &mut [Scenario]) {
    let stems: Vec<String> = scenarios.iter().map(|s| s.name.clone()).collect();
    for stem in &stems {
        let same: Vec<usize> = (0..scenarios.len())
            .filter(|&i| scenarios[i].name == *stem)
            .collect();
        if same.len() < 2 {
            continue;
        }
        let absolute: Vec<PathBuf> = same
            .iter()
            .map(|&i| std::path::absolute(&scenarios[i].file).unwrap_or(scenarios[i].file.clone()))
            .collect();
        let root = common_folder(&absolute);
        for (&i, path) in same.iter().zip(&absolute) {
            let relative = path.strip_prefix(&root).unwrap_or(path).with_extension("");
            scenarios[i].name = relative
                .components()
                .filter_map(|c| match c {
                    Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("/");
        }
    }
}

/// The longest folder every path is in.
fn common_folder(paths: &[PathBuf]) -> PathBuf {
    let mut root: PathBuf = paths[0].parent().unwrap_or(Path::new("")).to_path_buf();
    while !paths.iter().all(|p| p.starts_with(&root)) {
        if !root.pop() {
            break;
        }
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_folder_of_siblings_and_nested() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            common_folder(&[p("/x/a/t.toml"), p("/x/b/t.toml")]),
            p("/x")
        );
        assert_eq!(common_folder(&[p("/x/t.toml"), p("/x/b/t.toml")]), p("/x"));
        assert_eq!(common_folder(&[p("/a/t.toml"), p("/b/c/t.toml")]), p("/"));
    }
}
