//! Verdicts per outage, overlapping windows, and the reports a new user met (issues #12
//! items 3–4, #15's report bullets), black-box through the `imds-harness` binary.

mod support;

use support::{harness, ok, text, write};

/// Two outages of the Rust SDK: its first call is made while IMDS is up, so a client
/// reused across the outages (`call-retry`) keeps its cached credentials and rides
/// through both, while a new client per attempt (`client-retry`) fails during each and
/// recovers after each (measured here: aws-sdk-sts 1.124.0, aws-config 1.13.0; refused
/// connections fail a new client's call within ~20 ms, `CredentialsNotLoaded`; under
/// heavy load one call failed with `ProviderError` while IMDS was up, so no error kind is
/// pinned).
const TWO_OUTAGES: &str = r#"
[[schedule]]
at = "300ms"
state = "refuse"
[[schedule]]
at = "700ms"
state = "up"
[[schedule]]
at = "1100ms"
state = "refuse"
[[schedule]]
at = "1500ms"
state = "up"
[matrix]
drivers = ["rust-sdk"]
strategies = ["call-retry", "client-retry"]
[strategy.call-retry]
attempts = 12
interval = "150ms"
continue_after_success = true
[strategy.client-retry]
kind = "client-retry"
attempts = 12
interval = "150ms"
continue_after_success = true
[[expect]]
strategy = "call-retry"
outcome = "rode-through"
[[expect]]
strategy = "client-retry"
outcome = "recovered"
[[expect]]
strategy = "client-retry"
outage = 2
outcome = "recovered"
"#;

fn cell<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cell"] == id)
        .unwrap_or_else(|| panic!("no cell {id}"))
}

/// Each outage gets its outcome in the JSON, the table and the expectations; a call
/// accepted during a fault is riding through, never a recovery "after IMDS".
#[test]
fn each_outage_gets_an_outcome_in_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "two.toml", TWO_OUTAGES);
    let json = dir.path().join("r.json");
    let junit = dir.path().join("r.xml");
    let out = harness()
        .arg("run")
        .arg(&path)
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    let table = ok(&out, &[0]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["schema_version"], 2);

    let riding = &cell(&report, "rust-sdk/call-retry")["ran"]["verdict"];
    assert_eq!(riding["outcome"], "rode-through", "{riding:#}");
    let outages = riding["outages"].as_array().unwrap();
    assert_eq!(outages.len(), 2, "{riding:#}");
    for o in outages {
        assert_eq!(o["outcome"], "rode-through", "{o:#}");
        assert_eq!(o["failed_calls"], 0);
        assert!(o.get("recovery_ms").is_none(), "{o:#}");
    }
    assert_eq!(riding["accepted_calls"], 12);

    let recovering = &cell(&report, "rust-sdk/client-retry")["ran"]["verdict"];
    assert_eq!(recovering["outcome"], "recovered", "{recovering:#}");
    for (i, o) in recovering["outages"].as_array().unwrap().iter().enumerate() {
        assert_eq!(o["index"], i + 1);
        assert_eq!(o["outcome"], "recovered", "{o:#}");
        assert!(o["failed_calls"].as_u64().unwrap() >= 1, "{o:#}");
        assert!(o["recovery_ms"].as_f64().unwrap() >= 0.0, "{o:#}");
        assert!(o["end_ms"].as_f64().unwrap() > o["start_ms"].as_f64().unwrap());
    }

    // The table: worst outcome, per-outage notes, accepted calls; no "up→accepted".
    assert!(!table.contains("up→accepted"), "{table}");
    assert!(table.contains("rode through"), "{table}");
    assert!(
        table.contains("two rust-sdk/client-retry outages: #1 recovered in"),
        "{table}"
    );
    assert!(table.contains("12/12"), "{table}");
    // JUnit carries the same outcome.
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"name="outcome" value="rode through""#),
        "{xml}"
    );
    assert!(xml.contains("outage #2 recovered in"), "{xml}");

    // explain tells each outage, and no recovery "after IMDS" for a ride-through.
    let out = harness()
        .args(["explain", "--report"])
        .arg(&json)
        .arg("two/rust-sdk/call-retry")
        .output()
        .unwrap();
    let explained = ok(&out, &[0]);
    assert!(!explained.contains("after IMDS"), "{explained}");
    assert!(
        explained.contains("Outage 2 (") && explained.contains("rode through"),
        "{explained}"
    );

    // An expectation on an outage that does not hold says what was seen.
    let wrong = write(
        dir.path(),
        "wrong.toml",
        &TWO_OUTAGES.replace(
            "outage = 2\noutcome = \"recovered\"",
            "outage = 2\noutcome = \"rode-through\"",
        ),
    );
    let out = harness().arg("run").arg(&wrong).output().unwrap();
    let table = ok(&out, &[1]);
    assert!(
        table.contains("expected outage 2 to be rode-through, it was recovered"),
        "{table}"
    );
}

/// `outcome` and `outage` are checked like every key: file:line:column, did-you-mean.
#[test]
fn outcome_keys_are_validated_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    for (from, to, message) in [
        (
            "outcome = \"rode-through\"",
            "outcome = \"rode-thru\"",
            ":28:11: unknown outcome `rode-thru` (did you mean `rode-through`?)",
        ),
        (
            "outage = 2\n",
            "outage = 3\n",
            ":34:10: outage 3 does not exist: the schedule has 2 outage(s)",
        ),
        (
            "outage = 2\noutcome = \"recovered\"",
            "outage = 2",
            ":34:10: `outage` says which outage `outcome` is about: give `outcome` too",
        ),
    ] {
        let path = write(dir.path(), "v.toml", &TWO_OUTAGES.replace(from, to));
        let out = harness().arg("validate").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("{}{message}", path.display())),
            "{message}\n{stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
}

/// The table fits the terminal: below the full table's width, one block per cell with
/// no line longer than `COLUMNS`; a pipe without `COLUMNS` gets the full table.
#[test]
fn the_table_fits_the_terminal_width() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "narrow.toml",
        &TWO_OUTAGES
            .replace("\"call-retry\", \"client-retry\"", "\"client-retry\"")
            .replace(
                "[[expect]]\nstrategy = \"call-retry\"\noutcome = \"rode-through\"\n",
                "",
            ),
    );
    let narrow = harness()
        .arg("run")
        .arg(&path)
        .env("COLUMNS", "72")
        .output()
        .unwrap();
    let narrow = ok(&narrow, &[0]);
    let block: Vec<&str> = narrow
        .lines()
        .take_while(|l| !l.starts_with("  narrow"))
        .collect();
    assert!(
        block[0].starts_with("✓ as expected  narrow rust-sdk/client-retry"),
        "{narrow}"
    );
    assert!(block
        .iter()
        .any(|l| l.starts_with("    outcome: recovered")));
    for line in &block {
        assert!(line.chars().count() <= 72, "{line:?} in\n{narrow}");
    }
    let full = harness()
        .arg("run")
        .arg(&path)
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    let full = ok(&full, &[0]);
    assert!(full.contains("│ scenario"), "{full}");
    assert!(full.lines().next().unwrap().chars().count() > 72, "{full}");
}

/// The timeline: an accepted call's mark at its arrival at STS, the legend's marks in
/// their colours, each lane's verdict, the axis from what the cells did (a step at 10 min
/// does not squeeze the attempts), and a reused folder without the harness's old SVGs
/// (other files kept).
#[test]
fn timelines_mark_acceptance_show_verdicts_and_replace_their_own_svgs() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = TWO_OUTAGES.replace(
        "[matrix]",
        "[[schedule]]\nat = \"10m\"\nstate = \"status(500) on token\"\n[matrix]",
    );
    let path = write(dir.path(), "late.toml", &scenario);
    let timelines = dir.path().join("timelines");
    std::fs::create_dir_all(&timelines).unwrap();
    let stale = write(
        &timelines,
        "gone.svg",
        "<svg xmlns=\"http://www.w3.org/2000/svg\" data-generator=\"imds-harness\"></svg>\n",
    );
    let older = write(
        &timelines,
        "older.svg",
        "<svg xmlns=\"http://www.w3.org/2000/svg\">\n<rect/>\n<text>x</text>\n<g class=\"imds-state\"></g></svg>\n",
    );
    let foreign = write(&timelines, "mine.svg", "<svg>not the harness's</svg>\n");
    let notes = write(&timelines, "notes.txt", "keep me\n");
    let json = dir.path().join("r.json");
    let out = harness()
        .arg("run")
        .arg(&path)
        .arg("--json")
        .arg(&json)
        .arg("--timeline")
        .arg(&timelines)
        .output()
        .unwrap();
    ok(&out, &[0]);
    assert!(
        !stale.exists() && !older.exists(),
        "the harness's old SVGs stay"
    );
    assert!(
        foreign.exists() && notes.exists(),
        "other files were removed"
    );
    let svg = std::fs::read_to_string(timelines.join("late.svg")).unwrap();

    // Lanes show their verdict; the legend's marks have their colours.
    assert!(
        svg.contains(r##"class="lane-verdict" x="10""##)
            && svg.contains("rode through · 12/12 accepted"),
        "{svg}"
    );
    assert!(svg.contains(r##"<tspan fill="#27ae60">●</tspan> call accepted"##));
    // Each lane's outages, as its mock applied them, with their outcome.
    assert!(
        svg.contains(r#"class="outage""#) && svg.contains("<title>outage #2 recovered in"),
        "{svg}"
    );
    assert!(svg.contains(r##"<tspan fill="#d9534f">●</tspan> call failed"##));

    // Each accepted mark is at the STS arrival of its call.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let ran = &cell(&report, "rust-sdk/client-retry")["ran"];
    let arrivals: Vec<f64> = ran["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "sts-request" && e["result"] == "accepted")
        .map(|e| e["at_ms"].as_f64().unwrap())
        .collect();
    assert!(!arrivals.is_empty());
    for at in arrivals {
        let title = format!("accepted by STS at {at:.0}ms");
        assert!(svg.contains(&title), "{title} not in\n{svg}");
    }

    // The axis spans the attempts (~2–3 s here), not the 10-minute step.
    let ticks: Vec<f64> = svg
        .split(r##"text-anchor="middle">"##)
        .skip(1)
        .filter_map(|rest| rest.split("s</text>").next()?.parse().ok())
        .collect();
    let last = ticks.iter().copied().fold(0.0, f64::max);
    assert!((1.0..30.0).contains(&last), "last tick {last}s: {ticks:?}");
}

/// `exec` keeps an outer window's fault when an inner one ends: `refuse 0s..3s` with
/// `status(500) 1s..2s` refuses again from 2 s (it served 200 there before).
#[test]
fn exec_nested_windows_restore_the_outer_fault() {
    let out = harness()
        .args([
            "exec",
            "--schedule",
            "refuse 0s..3s",
            "--schedule",
            "status(500) 1s..2s",
            "--",
            "sh",
            "-c",
            r#"sleep 2.4; curl -s -m 2 -o /dev/null -w '%{http_code}' "${AWS_EC2_METADATA_SERVICE_ENDPOINT}latest/meta-data/"; echo " curl=$?""#,
        ])
        .output()
        .unwrap();
    let stdout = ok(&out, &[0]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // curl 7: connection refused.
    assert_eq!(stdout.trim(), "000 curl=7", "{}", text(&out));
    assert!(
        stderr.contains(
            "schedule: refuse at 0s, status(500) at 1s, refuse at 2s, up on listener at 3s"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("IMDS requests: 0"), "{stderr}");

    // Two windows starting together on one target cannot nest: rejected, exit 2.
    let out = harness()
        .args([
            "exec",
            "--schedule",
            "refuse 1s..3s",
            "--schedule",
            "status(500) 1s..2s",
            "--",
            "true",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--schedule `status(500) 1s..2s`: two overlapping windows set different faults on listener at 1s"),
        "{}",
        text(&out)
    );
}

/// A command that ended before IMDS came back is not said to have made "0 requests after
/// it came back", and a huge status body is cut in the summary, with its length.
#[test]
fn exec_summary_says_what_it_did_not_see_and_cuts_huge_bodies() {
    let out = harness()
        .args(["exec", "--schedule", "refuse 0s..5s", "--", "true"])
        .output()
        .unwrap();
    ok(&out, &[0]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("IMDS requests after it came back"),
        "{stderr}"
    );
    assert!(
        stderr.contains("IMDS came back at 5s, after the command ended"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().unwrap();
    let body = "x".repeat(200 * 1024);
    let file = write(
        dir.path(),
        "big.toml",
        &format!("[[schedule]]\nat = \"0s\"\nstate = 'status(500, \"{body}\")'\n[[schedule]]\nat = \"100ms\"\nstate = \"up\"\n"),
    );
    let out = harness()
        .arg("exec")
        .arg("--schedule-file")
        .arg(&file)
        .args(["--", "true"])
        .output()
        .unwrap();
    ok(&out, &[0]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.len() < 4096, "{} bytes of summary", stderr.len());
    assert!(
        stderr.contains(&format!("… ({} characters in all", body.len() + 15)),
        "{stderr}"
    );
}

/// A `[[generate]]` flap inside a `[[schedule]]` refuse does not cut the refuse short:
/// the mock applies the combined state (refuse again after each flap period, until the
/// step that ends it), and the run has one outage; a bare `up` that would also end the
/// generator's fault is rejected at its line and column.
#[test]
fn a_generated_flap_inside_a_scheduled_refuse_restores_it() {
    let scenario = r#"
[[schedule]]
at = "50ms"
state = "refuse"
[[schedule]]
at = "1s"
state = "up on listener"
[[generate]]
kind = "flap"
fault = "status(500)"
down = ["100ms", "100ms"]
up = ["100ms", "100ms"]
until = "400ms"
[matrix]
drivers = ["rust-sdk"]
strategies = ["call-retry"]
[strategy.call-retry]
attempts = 8
interval = "200ms"
continue_after_success = true
"#;
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "nested.toml", scenario);
    let json = dir.path().join("r.json");
    let out = harness()
        .arg("run")
        .arg(&path)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let table = ok(&out, &[0]);
    assert!(
        table.contains("nested: IMDS status(500) at 0s, refuse at 50ms, status(500) at 200ms, refuse at 300ms, up on listener at 1s"),
        "{table}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let ran = &cell(&report, "rust-sdk/call-retry")["ran"];
    let states: Vec<(f64, String)> = ran["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "transition")
        .map(|e| {
            (
                e["at_ms"].as_f64().unwrap(),
                e["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let names: Vec<&str> = states.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        names,
        ["status(500)", "refuse", "status(500)", "refuse", "up"],
        "{states:?}"
    );
    // The refuse after the flap lasts until the step at 1 s.
    let (last_refuse, _) = states[3];
    let (up, _) = states[4];
    assert!(last_refuse < 400.0 && up >= 1000.0, "{states:?}");
    let outages = ran["verdict"]["outages"].as_array().unwrap();
    assert_eq!(outages.len(), 1, "{outages:?}");

    let bare_up = write(
        dir.path(),
        "bare.toml",
        &scenario
            .replace("state = \"up on listener\"", "state = \"up\"")
            .replace("until = \"400ms\"", "until = \"2s\""),
    );
    let out = harness().arg("validate").arg(&bare_up).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:5:1: `up` at 1s would also end the fault of an overlapping window or generator",
            bare_up.display()
        )),
        "{stderr}"
    );
}

/// IMDS up throughout (as in `rust-clock-skew`): no "recovered … after IMDS" anywhere,
/// the table says there was no outage.
#[test]
fn no_outage_is_not_called_a_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "calm.toml",
        "[matrix]\ndrivers = [\"rust-sdk\"]\nstrategies = [\"once\"]\n[strategy.once]\nkind = \"call-retry\"\nattempts = 1\n[[expect]]\nrecovers = true\n",
    );
    let json = dir.path().join("r.json");
    let out = harness()
        .arg("run")
        .arg(&path)
        .arg("--json")
        .arg(&json)
        .env_remove("COLUMNS")
        .output()
        .unwrap();
    let table = ok(&out, &[0]);
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(!progress.contains("after IMDS"), "{progress}");
    assert!(
        progress.contains("calm rust-sdk/once: no outage, 1/1 calls accepted"),
        "{progress}"
    );
    assert!(table.contains("┆ no outage "), "{table}");
    let out = harness()
        .args(["explain", "--report"])
        .arg(&json)
        .arg("calm/rust-sdk/once")
        .output()
        .unwrap();
    let explained = ok(&out, &[0]);
    assert!(!explained.contains("after IMDS"), "{explained}");
    assert!(
        explained.contains("diagnosis: IMDS was up throughout; 1 of 1 calls accepted"),
        "{explained}"
    );
}

/// `exec --endpoint ecs` gives the command the ECS variables of the container endpoint
/// the mock serves beside IMDS (FULL_URI on loopback + its authorization token), and
/// `… on container` windows reach it: a 429 for the first second, then the credentials
/// document for the token (issue #13 item 2).
#[test]
fn exec_gives_the_command_the_container_endpoint_variables() {
    let out = harness()
        .args([
            "exec",
            "--endpoint",
            "ecs",
            "--schedule",
            "status(429) on container 0s..1s",
            "--",
            "sh",
            "-c",
            r#"get() { curl -s -m 2 -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" -w ' %{http_code}' "$AWS_CONTAINER_CREDENTIALS_FULL_URI" | tr -d '\n'; echo; }; get; sleep 1.5; get"#,
        ])
        .output()
        .unwrap();
    let stdout = ok(&out, &[0]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", text(&out));
    assert_eq!(lines[0], "Too Many Requests 429", "{}", text(&out));
    assert!(
        lines[1].contains("\"AccessKeyId\":\"ASIAMOCK"),
        "{}",
        text(&out)
    );
    assert!(lines[1].ends_with(" 200"), "{}", text(&out));
    assert!(stderr.contains("IMDS requests: 2"), "{stderr}");
    assert!(stderr.contains("2 × GET /v2/credentials/"), "{stderr}");

    // Without --endpoint the command gets no container variable.
    let out = harness()
        .args([
            "exec",
            "--",
            "sh",
            "-c",
            "echo \"[${AWS_CONTAINER_CREDENTIALS_FULL_URI-}]\"",
        ])
        .output()
        .unwrap();
    assert_eq!(ok(&out, &[0]).trim(), "[]", "{}", text(&out));
}
