//! The `cargo fuzz` targets' seeds as regression tests on stable Rust: every file in
//! `fuzz/seeds/TARGET/` goes through the function the target `fuzz/fuzz_targets/TARGET.rs`
//! calls (`mock_imds::fuzzing::*`, `harness::fuzzing::*`), which panics when the target's
//! property does not hold. Fails when a target has no seeds, no runner here, or does not
//! call the function this test runs, and when a seed folder has no target.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// What `fuzz_target!` hands the target's function, for each target.
fn runner(target: &str) -> Option<fn(&[u8])> {
    match target {
        // `fuzz_target!(|input: &str| …)` never calls the body with other bytes, so a
        // seed that is not UTF-8 would test nothing.
        "fault_spec" => Some(|data| {
            let input = std::str::from_utf8(data)
                .expect("not UTF-8: the fault_spec target would skip this seed");
            mock_imds::fuzzing::fault_spec(input);
        }),
        "imds_request" => Some(|data| {
            // As the fuzz target builds it: current thread, paused clock.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .unwrap();
            mock_imds::fuzzing::imds_request(data, &runtime);
        }),
        "scenario" => Some(harness::fuzzing::scenario),
        _ => None,
    }
}

/// The non-hidden files of `dir`, sorted (empty when it does not exist).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(a panic without a message)".into())
}

#[test]
fn every_seed_of_every_fuzz_target_passes() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let targets: Vec<(String, PathBuf)> = files(&fuzz.join("fuzz_targets"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    assert!(!targets.is_empty(), "no fuzz targets in {}", fuzz.display());

    let mut failures = Vec::new();
    let mut ran = 0;
    for (target, source) in &targets {
        let Some(run) = runner(target) else {
            failures.push(format!(
                "{target}: no seed runner in tests/fuzz_seeds.rs for {}",
                source.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(source).unwrap();
        if !text.contains(&format!("fuzzing::{target}(")) {
            failures.push(format!(
                "{target}: {} does not call fuzzing::{target}, the function run here",
                source.display()
            ));
        }
        let seeds = files(&fuzz.join("seeds").join(target));
        if seeds.is_empty() {
            failures.push(format!("{target}: no seeds in fuzz/seeds/{target}/"));
        }
        for seed in seeds {
            let data = std::fs::read(&seed).unwrap();
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| run(&data))) {
                failures.push(format!(
                    "{target}: seed {}: {}",
                    seed.display(),
                    panic_message(&*payload)
                ));
            }
            ran += 1;
        }
    }
    for dir in files(&fuzz.join("seeds")) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if !targets.iter().any(|(t, _)| *t == name) {
            failures.push(format!("fuzz/seeds/{name}/: no fuzz target of that name"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    eprintln!("{ran} seeds of {} fuzz targets passed", targets.len());
}
