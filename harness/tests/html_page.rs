//! The recovery-matrix page (`run --html`, `merge --html`) as a reader sees it: headless
//! Chromium (Debian `chromium`) opens the page `run` wrote for two built-in scenarios
//! (real boto3 and the real AWS SDK for Rust through a refused and a blackholed IMDS), and
//! `tests/browser/probe.mjs` reports every strategy block on it, what the filters hide,
//! and where a block's link leads. Without Chromium or Node the test is skipped, and with
//! `CI=true` it fails (`scripts/setup` installs Chromium).

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use support::{harness, ok, python, root};

/// The outcome the page must show for a cell of the JSON report, from the report's
/// fields (the test's own reading, not the page module's).
fn expected_outcome(cell: &Value) -> &'static str {
    if cell.get("setup-error").is_some() || cell.get("driver-error").is_some() {
        return "error";
    }
    if cell.get("skipped").is_some() {
        return "skipped";
    }
    let ran = &cell["ran"];
    if ran["inconclusive"]
        .as_array()
        .is_some_and(|a| !a.is_empty())
    {
        return "inconclusive";
    }
    let v = &ran["verdict"];
    // The worst outage decides (`verdict.outcome`); a rode-through run with an SDK
    // success STS never saw is not riding through.
    if let Some(worst) = v["outcome"].as_str() {
        return match worst {
            "rode-through" if v["unverified_successes"].as_u64() == Some(0) => "rode-through",
            "rode-through" | "recovered" => "recovered",
            "not-recovered" => "not-recovered",
            "untested" => "untested",
            other => panic!("unknown outcome {other}"),
        };
    }
    // No outage: the whole run.
    let failed: u64 = v["error_kinds"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    match (
        v["recovered"].as_bool().unwrap(),
        failed,
        v["unverified_successes"].as_u64(),
    ) {
        (false, _, _) => "not-recovered",
        (true, 0, Some(0)) => "rode-through",
        (true, _, _) => "recovered",
    }
}

/// The error kinds the page must name for a not-recovered cell: those of the outages
/// that did not recover (the whole run's when it had no outage).
fn not_recovered_kinds(cell: &Value) -> Vec<String> {
    let v = &cell["ran"]["verdict"];
    let mut kinds: Vec<String> = Vec::new();
    for o in v["outages"].as_array().into_iter().flatten() {
        if o["outcome"] == "not-recovered" {
            kinds.extend(o["error_kinds"].as_object().unwrap().keys().cloned());
        }
    }
    if kinds.is_empty() {
        kinds = v["error_kinds"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
    }
    kinds
}

fn tool(name: &str) -> Option<std::path::PathBuf> {
    harness::driver::envs::which(name)
}

/// Chromium and Node, or `None` (skip) where the machine lacks them outside CI.
fn browser_tools() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    match (tool("chromium"), tool("node")) {
        (Some(c), Some(n)) => Some((c, n)),
        missing => {
            let what = format!(
                "chromium: {:?}, node: {:?} (scripts/setup installs chromium)",
                missing.0, missing.1
            );
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true and a browser tool is missing: {what}"
            );
            eprintln!("skipped: {what}");
            None
        }
    }
}

fn probe(node: &Path, chromium: &Path, page: &Path, args: &[&str]) -> Value {
    let out = Command::new(node)
        .arg(root().join("harness/tests/browser/probe.mjs"))
        .arg(page)
        .args(args)
        .env("CHROMIUM", chromium)
        .output()
        .unwrap();
    let stdout = ok(&out, &[0]);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("probe output: {e}\n{stdout}"))
}

/// Which blocks stay visible while a filter box is unchecked.
type Keep = fn(&Value) -> bool;

fn visible_ids(state: &Value) -> Vec<String> {
    state["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["visible"].as_bool().unwrap())
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn chromium_shows_every_cell_filters_rows_and_opens_timelines() {
    let Some((chromium, node)) = browser_tools() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (json, page_dir) = (dir.path().join("report.json"), dir.path().join("page"));
    let out = harness()
        .arg("run")
        .arg(root().join("scenarios/trap-refuse.toml"))
        .arg(root().join("scenarios/trap-blackhole.toml"))
        .arg("--python")
        .arg(python())
        .arg("--json")
        .arg(&json)
        .arg("--html")
        .arg(&page_dir)
        .output()
        .unwrap();
    // 1: an expectation did not hold on a loaded machine; the page shows it either way.
    ok(&out, &[0, 1]);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let cells = report["cells"].as_array().unwrap();
    // Every driver × strategy of the two scenarios' matrices.
    let matrix_cells: usize = [
        "scenarios/trap-refuse.toml",
        "scenarios/trap-blackhole.toml",
    ]
    .iter()
    .map(|f| {
        let t: toml::Value =
            toml::from_str(&std::fs::read_to_string(root().join(f)).unwrap()).unwrap();
        let n = |k: &str| t["matrix"][k].as_array().unwrap().len();
        n("drivers") * n("strategies")
    })
    .sum();
    assert!(matrix_cells >= 8, "{matrix_cells}");
    assert_eq!(
        cells.len(),
        matrix_cells,
        "two scenarios × their drivers × call-retry, client-retry"
    );
    let page = page_dir.join("index.html");
    let seen = probe(
        &node,
        &chromium,
        &page,
        &[
            "--sdk",
            "boto3",
            "--fault",
            "refuse",
            "--strategy",
            "client-retry",
            "--click",
            "trap-refuse/boto3/call-retry",
        ],
    );
    assert_eq!(
        seen["errors"],
        Value::Array(vec![]),
        "the page's script threw"
    );

    // Every cell of the report, once, with its outcome, in its row.
    let on_page: BTreeMap<String, &Value> = seen["initial"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap().to_string(), c))
        .collect();
    assert_eq!(on_page.len(), cells.len(), "{seen}");
    for cell in cells {
        let id = format!(
            "{}/{}",
            cell["scenario"].as_str().unwrap(),
            cell["cell"].as_str().unwrap()
        );
        let shown = on_page
            .get(&id)
            .unwrap_or_else(|| panic!("{id} not on the page"));
        let want = expected_outcome(cell);
        assert_eq!(shown["outcome"], want, "{id}");
        assert_eq!(shown["row"], cell["driver"], "{id}");
        assert!(shown["visible"].as_bool().unwrap(), "{id}");
        let text = shown["text"].as_str().unwrap();
        match want {
            "recovered" => assert!(text.contains("recovered after"), "{id}: {text}"),
            "not-recovered" => {
                for kind in not_recovered_kinds(cell) {
                    assert!(text.contains(kind.as_str()), "{id}: {text} lacks {kind}");
                }
            }
            _ => {}
        }
        assert!(
            shown["timeline"].as_str().unwrap().ends_with(&format!(
                "/timelines/{}.svg",
                cell["scenario"].as_str().unwrap()
            )),
            "{id}"
        );
        let explain = shown["explain"].as_str().unwrap();
        let explain = explain.strip_prefix("file://").unwrap();
        let text = std::fs::read_to_string(explain).unwrap();
        assert!(
            text.starts_with(&id) && text.contains("diagnosis: "),
            "{text}"
        );
    }
    // The measured trap, when the run carried a verdict (a loaded machine can make it
    // inconclusive): boto3's call-retry never recovers from a refused IMDS.
    let trap = &on_page["trap-refuse/boto3/call-retry"]["outcome"];
    assert!(trap == "not-recovered" || trap == "inconclusive", "{trap}");

    // Each filter hides exactly its rows or blocks, and shows them again.
    let all: Vec<String> = on_page.keys().cloned().collect();
    let filters: [(&str, Keep); 3] = [
        ("sdk", |c| c["row"] != "boto3"),
        ("fault", |c| c["fault"] != "refuse"),
        ("strategy", |c| c["strategy"] != "client-retry"),
    ];
    for (name, keep) in filters {
        let f = &seen["filter"][name];
        assert_eq!(f["checkedAfterFirstClick"], false, "{name}");
        assert_eq!(f["checkedAfterSecondClick"], true, "{name}");
        let want: Vec<String> = f["hidden"]["cells"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| keep(c))
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect();
        let mut visible = visible_ids(&f["hidden"]);
        visible.sort();
        let mut want = want;
        want.sort();
        assert_eq!(visible, want, "{name} unchecked");
        assert!(
            visible.len() < all.len() && !visible.is_empty(),
            "{name}: {visible:?}"
        );
        let mut again = visible_ids(&f["shown"]);
        again.sort();
        assert_eq!(again, all, "{name} checked again");
    }
    let rows = |state: &Value| -> Vec<(String, bool)> {
        state["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["sdk"].as_str().unwrap().into(),
                    r["visible"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    // Hiding boto3 hides its row only.
    let hidden = rows(&seen["filter"]["sdk"]["hidden"]);
    assert!(hidden.len() >= 2, "{hidden:?}");
    for (sdk, visible) in &hidden {
        assert_eq!(*visible, sdk != "boto3", "{hidden:?}");
    }
    assert!(rows(&seen["filter"]["sdk"]["shown"]).iter().all(|r| r.1));

    // A click on a block opens its scenario's timeline, with the block's lane in it.
    let t = &seen["timeline"];
    assert!(
        t["url"]
            .as_str()
            .unwrap()
            .ends_with("/timelines/trap-refuse.svg"),
        "{t}"
    );
    assert_eq!(t["root"], "svg");
    assert!(
        t["lanes"]
            .as_array()
            .unwrap()
            .contains(&Value::from("boto3/call-retry")),
        "{t}"
    );

    // The run date, the seed and every SDK version are stated.
    let meta = &seen["meta"];
    let date = meta["runDate"].as_str().unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(date, "%Y-%m-%d %H:%M:%S UTC").is_ok(),
        "{date}"
    );
    assert!(meta["meta"].as_str().unwrap().contains("seed 0"), "{meta}");
    for cell in cells {
        let version = cell["sdk_version"].as_str().unwrap();
        assert!(
            meta["sdkVersions"].as_str().unwrap().contains(version),
            "{version}"
        );
    }

    // `merge --html` writes the same cells from the JSON report.
    let merged = dir.path().join("merged");
    ok(
        &harness()
            .arg("merge")
            .arg(&json)
            .arg("--html")
            .arg(&merged)
            .output()
            .unwrap(),
        &[0, 1],
    );
    let again = probe(&node, &chromium, &merged.join("index.html"), &[]);
    let mut ids: Vec<String> = visible_ids(&again["initial"]);
    ids.sort();
    assert_eq!(ids, all);
}
