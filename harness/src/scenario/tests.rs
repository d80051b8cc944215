//! Whole scenario files through [`super::parse`]: what each element accepts, and that every
//! refusal names the file, line and column.

use std::time::Duration;

use super::*;
use crate::strategy::StrategyKind;

const GOOD: &str = r#"
description = "trap"
[[schedule]]
at = "0s"
state = "refuse"
[[schedule]]
at = "2s"
state = "up"
[matrix]
drivers = ["rust-sdk", "boto3"]
strategies = ["call-retry", "fresh"]
[strategy.call-retry]
attempts = 10
interval = "500ms"
[strategy.fresh]
kind = "client-retry"
attempts = 3
interval = "1s"
[[expect]]
driver = "boto3"
strategy = "call-retry"
recovers = false
error_kind = "NoCredentialsError"
imds_requests_after_recovery = 0
[[expect]]
driver = "rust-sdk"
recovers = true
within = "1500ms"
"#;

fn err(text: &str) -> String {
    parse(Path::new("s/x.toml"), text).unwrap_err().to_string()
}

#[test]
fn parses_a_full_scenario() {
    let s = parse(Path::new("scenarios/trap.toml"), GOOD).unwrap();
    assert_eq!(s.name, "trap");
    assert_eq!(s.cells.len(), 4);
    assert_eq!(s.cells[1].id(), "rust-sdk/fresh");
    assert_eq!(s.cells[1].strategy.kind, StrategyKind::ClientRetry);
    assert_eq!(s.schedule.recoveries(), vec![Duration::from_secs(2)]);
    assert_eq!(s.expectations[1].within, Some(Duration::from_millis(1500)));
    assert!(s.expectations[1].applies_to(&s.cells[0]));
    assert!(!s.expectations[0].applies_to(&s.cells[0]));
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);

    let short = parse(
        Path::new("short.toml"),
        &GOOD.replace("attempts = 3", "attempts = 2"),
    )
    .unwrap();
    assert_eq!(short.warnings.len(), 1);
    assert!(
        short.warnings[0]
            .contains("strategy `fresh` makes its last attempt at 1s, before IMDS recovers at 2s"),
        "{:?}",
        short.warnings
    );
}

/// A bare `recovers = false` also holds when the driver broke or the SDK failed for
/// another reason: validation warns unless some expectation of the cell says why.
#[test]
fn a_never_recovers_expectation_without_a_reason_is_warned_about() {
    let bare = GOOD.replace(
        "error_kind = \"NoCredentialsError\"\nimds_requests_after_recovery = 0\n",
        "",
    );
    let s = parse(Path::new("bare.toml"), &bare).unwrap();
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert!(
        s.warnings[0].contains(
            "cell boto3/call-retry is expected never to recover, but no [[expect]] says why"
        ),
        "{:?}",
        s.warnings
    );
    // The reason may come from another block that applies to the same cell.
    let split =
        format!("{bare}\n[[expect]]\ndriver = \"boto3\"\nerror_kind = \"NoCredentialsError\"\n");
    let s = parse(Path::new("split.toml"), &split).unwrap();
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn premise_is_checked_and_named() {
    let good = GOOD.replace(
        "imds_requests_after_recovery = 0\n",
        "imds_requests_after_recovery = 0\npremise = \"resolved-during-outage\"\n",
    );
    let s = parse(Path::new("p.toml"), &good).unwrap();
    assert_eq!(
        s.expectations[0].premise,
        Some(Premise::ResolvedDuringOutage)
    );
    let bad = GOOD.replace(
        "imds_requests_after_recovery = 0\n",
        "imds_requests_after_recovery = 0\npremise = \"resolved\"\n",
    );
    let e = err(&bad);
    assert!(e.starts_with("s/x.toml:"), "{e}");
    assert!(
        e.contains("unknown premise `resolved`; expected one of: resolved-during-outage"),
        "{e}"
    );
}

/// Found by the `scenario` fuzz target: a name or value with an escaped newline or
/// ESC was quoted raw, so the error spanned lines or sent ESC to the terminal.
#[test]
fn errors_quote_control_characters_escaped() {
    for (text, expected) in [
        (
            "[matrix]\ndrivers = [\"rust\\nsdk\"]\nstrategies = [\"call-retry\"]\n",
            "x.toml:2:12: unknown driver `rust\\nsdk`",
        ),
        (
            "[matrix]\ndrivers = [\"rust-sdk\"]\nstrategies = [\"call\\u2028retry\"]\n",
            "x.toml:3:15: unknown strategy `call\\u{2028}retry`",
        ),
        (
            "[strategy.x]\ninterval = \"100\\u001bms\"\n",
            "x.toml:2:12: invalid duration `100\\u{1b}ms`",
        ),
    ] {
        let e = parse(Path::new("x.toml"), text).unwrap_err().to_string();
        assert!(e.starts_with(expected), "{e}");
        assert!(!e.chars().any(char::is_control), "{e:?}");
    }
}

#[test]
fn errors_name_file_line_column_and_what_is_allowed() {
    let e = err(&GOOD.replace("attempts = 10", "atempts = 10"));
    assert!(
        e.starts_with("s/x.toml:13:1: unknown field `atempts`"),
        "{e}"
    );
    assert!(!e.contains('\n'), "one line: {e}");

    let e = err(&GOOD.replace("interval = \"500ms\"", "interval = \"fast\""));
    assert!(
        e.starts_with("s/x.toml:14:12: invalid duration `fast`"),
        "{e}"
    );

    let e = err(&GOOD.replace("\"boto3\"]", "\"boto\"]"));
    assert!(
        e.starts_with("s/x.toml:10:24: unknown driver `boto` (did you mean `boto3`?)"),
        "{e}"
    );

    let e = err(&GOOD.replace("\"fresh\"]", "\"frsh\"]"));
    assert!(
        e.contains("unknown strategy `frsh` (did you mean `fresh`?)"),
        "{e}"
    );
    assert!(e.starts_with("s/x.toml:11:"), "{e}");

    let e = err(&GOOD.replace("at = \"2s\"", "at = \"0s\""));
    assert!(
        e.starts_with("s/x.toml:6:1: two schedule steps at 0s"),
        "{e}"
    );

    let e = err(&GOOD.replace("state = \"refuse\"", "state = \"refused\""));
    assert!(e.contains("invalid fault `refused`"), "{e}");
    assert!(e.starts_with("s/x.toml:5:9"), "{e}");

    let e = err(&GOOD.replace("attempts = 3", "attempts = \"3\""));
    assert!(
        e.contains("invalid type: string \"3\", expected u32"),
        "{e}"
    );

    let e = err(&GOOD.replace("kind = \"client-retry\"", "kind = \"retry\""));
    assert!(e.contains("unknown strategy kind `retry`"), "{e}");

    let e = err(&GOOD.replace("[matrix]", "[matrx]"));
    assert!(e.contains("unknown field `matrx`"), "{e}");

    let e = err(&GOOD.replace("interval = \"500ms\"", "interval = \"500m\""));
    assert!(
        e.contains("would run for 3days 3h") && e.contains("did you mean ms"),
        "{e}"
    );
    let e = err(&GOOD.replace("attempts = 10", "attempts = 100000"));
    assert!(e.contains("attempts must be between 1 and 10000"), "{e}");

    let e = err(&GOOD.replace("recovers = true\nwithin", "recovers = false\nwithin"));
    assert!(e.contains("cannot go with `recovers = false`"), "{e}");
    let e = err(&format!("{GOOD}[[expect]]\ndriver = \"boto3\"\n"));
    assert!(e.contains("checks nothing"), "{e}");

    let no_tables = GOOD[..GOOD.find("[strategy.call-retry]").unwrap()].to_string();
    let e = err(&no_tables);
    assert!(
        e.contains("unknown strategy `call-retry`: none is defined"),
        "{e}"
    );
}

#[test]
fn clock_and_rotate_steps_parse_and_share_a_time() {
    let jumped = GOOD.replace(
        "[[schedule]]\nat = \"2s\"\nstate = \"up\"",
        "[[schedule]]\nat = \"2s\"\nstate = \"up\"\n[[schedule]]\nat = \"2s\"\nclock = \"+5h52m\"\nrotate = true",
    );
    let s = parse(Path::new("s/x.toml"), &jumped).unwrap();
    assert!(s.schedule.moves_clock());
    let steps: Vec<String> = s
        .schedule
        .steps()
        .iter()
        .map(|st| st.change.to_string())
        .collect();
    assert_eq!(steps, ["refuse", "up", "clock +5h 52m, rotate"]);
    assert_eq!(s.schedule.recoveries(), vec![Duration::from_secs(2)]);

    let e = err(&jumped.replace("clock = \"+5h52m\"", "clock = \"5h52m\""));
    assert!(e.starts_with("s/x.toml:11:9: "), "{e}");
    assert!(e.contains("must start with `+` or `-`"), "{e}");
    let e = err(&jumped.replace("\nrotate = true", "\nrotate = 1"));
    assert!(e.starts_with("s/x.toml:12:10: "), "{e}");
    let e = err(&jumped.replace("clock = \"+5h52m\"\nrotate = true", "rotate = false"));
    assert!(
        e.starts_with("s/x.toml:9:1: this schedule step changes nothing"),
        "{e}"
    );
    assert!(e.contains("`clock` (a signed jump"), "{e}");
    // Two fault changes at one time on one target stay an error.
    let e = err(&jumped.replace("clock = \"+5h52m\"\nrotate = true", "state = \"refuse\""));
    assert!(
        e.starts_with("s/x.toml:9:1: two schedule steps at 2s"),
        "{e}"
    );
}

#[test]
fn generators_expand_with_the_seed() {
    let text = GOOD.replace(
        "[matrix]",
        "[[generate]]\nkind = \"flap\"\nfault = \"status(500) on token\"\ndown = [\"100ms\", \"300ms\"]\nup = [\"100ms\", \"300ms\"]\nuntil = \"1s\"\n[matrix]",
    );
    let a = parse_with_seed(Path::new("g.toml"), &text, Some(1)).unwrap();
    let b = parse_with_seed(Path::new("g.toml"), &text, Some(1)).unwrap();
    let c = parse_with_seed(Path::new("g.toml"), &text, Some(2)).unwrap();
    assert_eq!(a.schedule, b.schedule);
    assert_ne!(a.schedule, c.schedule);
    assert!(a.schedule.steps().len() > 4);
    assert_eq!(a.seed, 1);

    let e = err(&text.replace("until = \"1s\"\n", ""));
    assert!(e.contains("a `flap` generator needs `until`"), "{e}");
    let e = err(&text.replace("kind = \"flap\"", "kind = \"flip\""));
    assert!(
        e.contains("unknown generator kind `flip` (did you mean `flap`?)"),
        "{e}"
    );
    let e = err(&text.replace("[\"100ms\", \"300ms\"]\nup", "[\"300ms\", \"100ms\"]\nup"));
    assert!(e.contains("MIN no larger than MAX"), "{e}");
}

/// `command` tables: no `sdk`, a non-empty array of strings; `./` words relative to the
/// scenario file; mistakes are one line at the table, naming what is accepted.
#[test]
fn command_tables_are_checked_and_resolved() {
    let with = |table: &str| {
        format!(
            "[matrix]\ndrivers = [\"mine\"]\nstrategies = [\"call-retry\"]\n[strategy.call-retry]\nattempts = 2\ninterval = \"100ms\"\n{table}"
        )
    };
    let s = parse(
        Path::new("dir/x.toml"),
        &with("[driver.mine]\ncommand = [\"./drv\", \"--flag\", \"../a.py\", \"plain\"]\n"),
    )
    .unwrap();
    let spec = &s.cells[0].driver;
    assert_eq!(spec.kind, crate::driver::DriverKind::Command);
    // Absolute (the child runs elsewhere), under the scenario's folder.
    let here = std::env::current_dir().unwrap().join("dir");
    assert_eq!(
        spec.settings.command().unwrap(),
        &[
            here.join("./drv").display().to_string(),
            "--flag".to_string(),
            here.join("../a.py").display().to_string(),
            "plain".to_string()
        ]
    );

    let e = err(&with("[driver.mine]\ncommand = []\n"));
    assert!(
        e.starts_with(
            "s/x.toml:7:1: [driver.mine]: `command` must be an array of strings, the program first"
        ),
        "{e}"
    );
    let e = err(&with("[driver.mine]\ncommand = \"python3 d.py\"\n"));
    assert!(e.contains("`command` must be an array of strings"), "{e}");
    let e = err(&with("[driver.mine]\ntimeout_ms = 5\n"));
    assert!(
        e.starts_with("s/x.toml:7:1: [driver.mine] needs `sdk = \"kind[@version]\"`")
            && e.contains("or `command = [\"prog\", \"arg\"]`"),
        "{e}"
    );
    let e = err(&with("[driver.mine]\ncommand = [\"d\"]\nsdk = \"js-v2\"\n"));
    assert!(e.contains("`js-v2` has no setting `command`; it takes `timeout_ms`, `connect_timeout_ms`, `max_retries`, `ec2_metadata_v1_disabled`, `logger`"), "{e}");
    let e = err(&with("[driver.mine]\nsdk = \"command\"\n"));
    assert!(e.contains("`command` needs the setting `command`"), "{e}");
    let e = err(&with("").replace("[\"mine\"]", "[\"command\"]"));
    assert!(
        e.contains("the command driver runs a program of yours"),
        "{e}"
    );
}

#[test]
fn a_go_driver_in_a_scenario_whose_clock_jumps_is_refused_at_its_matrix_entry() {
    let jumped = GOOD.replace(
        "drivers = [\"rust-sdk\", \"boto3\"]",
        "drivers = [\"rust-sdk\", \"boto3\", \"go-v2\"]",
    ) + "[[schedule]]\nat = \"1s\"\nclock = \"+5h52m\"\n";
    let e = err(&jumped);
    assert!(
        e.starts_with("s/x.toml:10:33: `go-v2` cannot follow the cell clock"),
        "{e}"
    );
    // Without a jump, Go is welcome.
    let still = GOOD.replace(
        "drivers = [\"rust-sdk\", \"boto3\"]",
        "drivers = [\"rust-sdk\", \"boto3\", \"go-v2\"]",
    );
    assert!(parse(Path::new("s/x.toml"), &still).is_ok());
}

#[test]
fn passthrough_settings_are_allowlisted_with_file_line_column_errors() {
    let with = |table: &str| {
        format!(
            "[matrix]\ndrivers = [\"mine\"]\nstrategies = [\"call-retry\"]\n[strategy.call-retry]\nattempts = 2\ninterval = \"100ms\"\n{table}"
        )
    };
    let s = parse(
        Path::new("s/x.toml"),
        &with("[driver.mine]\nsdk = \"js-v3\"\nenv = { AWS_EC2_METADATA_DISABLED = true }\nregion_from_imds = true\n"),
    )
    .unwrap();
    let spec = &s.cells[0].driver;
    assert_eq!(spec.passthrough.env["AWS_EC2_METADATA_DISABLED"], "true");
    assert!(spec.passthrough.region_from_imds);
    for (table, want) in [
        (
            "[driver.mine]\nsdk = \"boto3\"\nenv = { AWS_SECRET_ACCESS_KEY = \"x\" }\n",
            "s/x.toml:7:1: [driver.mine]: `env.AWS_SECRET_ACCESS_KEY` is refused: a cell's credentials come only from the mock IMDS",
        ),
        (
            "[driver.mine]\nsdk = \"aws-cli\"\nprofile = { web_identity_token_file = \"/t\" }\n",
            "s/x.toml:7:1: [driver.mine]: `profile.web_identity_token_file` is refused: web identity",
        ),
        (
            "[driver.mine]\nsdk = \"js-v2\"\nprofile = { role_arn = \"a\" }\n",
            "s/x.toml:7:1: [driver.mine]: `js-v2` takes no `profile.role_arn`; it takes none here",
        ),
        (
            "[driver.mine]\nsdk = \"rust-sdk\"\nprofile = { role_arn = \"a\", credential_source = \"Ec2InstanceMetadata\" }\n",
            "s/x.toml:7:1: [driver.mine]: `rust-sdk` reads `profile` and leaves the region to IMDS only with `credential_chain = \"default\"`",
        ),
        (
            "[driver.mine]\nsdk = \"rust-sdk\"\ncredential_chain = \"default\"\nimds_max_attempts = 2\n",
            "s/x.toml:7:1: [driver.mine]: `imds_connect_timeout_ms`, `imds_read_timeout_ms` and `imds_max_attempts` configure the IMDS-only client",
        ),
        (
            "[driver.mine]\nsdk = \"rust-sdk\"\ncredential_chain = \"all\"\n",
            "s/x.toml:7:1: [driver.mine]: `credential_chain` must be \"imds\" or \"default\", not \"all\"",
        ),
        (
            "[driver.mine]\nsdk = \"boto3\"\nenvironment = { A = 1 }\n",
            "s/x.toml:7:1: [driver.mine]: `boto3` has no setting `environment`; it takes `metadata_service_timeout`, `metadata_service_num_attempts`, `retries_mode`, `retries_max_attempts`, `ec2_metadata_v1_disabled`, `clock_offset_s`; or, passed through to the SDK as it reads them, `env`, `profile`, `region_from_imds`",
        ),
    ] {
        let e = err(&with(table));
        assert!(e.starts_with(want), "{table}: {e}");
    }
    // A command driver takes none of them (its own program reads what it likes).
    let e = err(&with(
        "[driver.mine]\ncommand = [\"d\"]\nenv = { A = \"1\" }\n",
    ));
    assert!(e.contains("`command` has no setting `env`"), "{e}");
}

#[test]
fn imds_requests_expectations_are_read_and_checked_at_their_place() {
    let with = |expect: &str| {
        format!(
            "[matrix]\ndrivers = [\"rust-sdk\"]\nstrategies = [\"call-retry\"]\n[strategy.call-retry]\nattempts = 2\ninterval = \"100ms\"\n{expect}"
        )
    };
    let s = parse(
        Path::new("s/x.toml"),
        &with("[[expect]]\nimds_requests = [{ method = \"PUT\", path = \"/latest/api/token\" }, { path = \"/latest/meta-data/*\", count = \"1+\" }]\n"),
    )
    .unwrap();
    let want = s.expectations[0].imds_requests.as_ref().unwrap();
    assert_eq!(
        want.to_string(),
        "IMDS requests [PUT /latest/api/token, * /latest/meta-data/* ×1+]"
    );
    let seen = |path: &str| crate::scenario::imds_requests::SeenRequest {
        method: if path.contains("token") { "PUT" } else { "GET" }.into(),
        path: path.into(),
        status: Some(200),
        token: !path.contains("token"),
        token_ttl_seconds: path.contains("token").then(|| "21600".to_string()),
        user_agent: Some("aws-sdk-rust/1.3.9 os/linux".into()),
    };
    let mut v = crate::verdict::Verdict {
        imds_requests: vec![
            seen("/latest/api/token"),
            seen("/latest/meta-data/iam/security-credentials/"),
        ],
        ..Default::default()
    };
    assert!(s.expectations[0].check(&v).is_empty());
    v.imds_requests.reverse();
    let failures = s.expectations[0].check(&v);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].ends_with("request 1 `GET /latest/meta-data/iam/security-credentials/ → 200 (token)` is not entry 1 `PUT /latest/api/token`"),
        "{failures:?}"
    );
    for (expect, start) in [
        (
            "[[expect]]\nimds_requests = [{ path = \"/\", count = -1 }]\n",
            "s/x.toml:8:17: imds_requests entry 1: `count` must be a whole number in 1..=10000 or \"N+\"",
        ),
        (
            "[[expect]]\nimds_requests = [{ path = \"/\", header = \"x\" }]\n",
            "s/x.toml:8:",
        ),
        (
            "[[expect]]\nimds_requests = []\n[[expect]]\ndriver = \"rust-sdk\"\nimds_requests = [{ method = \"PUT\", path = \"/latest/api/token\" }]\n",
            "s/x.toml:10:10: this [[expect]] contradicts [[expect]] number 1 for cell rust-sdk/call-retry: the IMDS requests cannot be both no IMDS request and IMDS requests [PUT /latest/api/token]",
        ),
    ] {
        let e = err(&with(expect));
        assert!(e.starts_with(start), "{expect}: {e}");
    }
    let e = err(&with(
        "[[expect]]\nimds_requests = [{ path = \"/\", header = \"x\" }]\n",
    ));
    assert!(
        e.contains(
            "unknown field `header`, expected one of `method`, `path`, `status`, `token`, `token_ttl_seconds`, `user_agent`, `count`"
        ),
        "{e}"
    );
}

#[test]
fn caller_arn_is_read_and_a_bad_one_named_at_its_place() {
    let with = |expect: &str| {
        format!(
            "[matrix]\ndrivers = [\"rust-sdk\"]\nstrategies = [\"call-retry\"]\n[strategy.call-retry]\nattempts = 2\ninterval = \"100ms\"\n{expect}"
        )
    };
    let s = parse(
        Path::new("s/x.toml"),
        &with("[[expect]]\ncaller_arn = \"arn:aws:sts::210987654321:assumed-role/chained/s1\"\n"),
    )
    .unwrap();
    assert_eq!(
        s.expectations[0].caller_arn.as_deref(),
        Some("arn:aws:sts::210987654321:assumed-role/chained/s1")
    );
    let e = err(&with(
        "[[expect]]\ncaller_arn = \"arn:aws:iam::210987654321:role/chained\"\n",
    ));
    assert!(
        e.starts_with("s/x.toml:8:14: `caller_arn = \"arn:aws:iam::210987654321:role/chained\"` is not what STS answers a role session"),
        "{e}"
    );
}

#[test]
fn error_message_hangs_and_call_timeout_are_read_and_refused_at_their_place() {
    let with = |strategy: &str, expect: &str| {
        format!(
            "[matrix]\ndrivers = [\"js-v3\", \"rust-sdk\"]\nstrategies = [\"sdk-retry\"]\n[strategy.sdk-retry]\n{strategy}\n{expect}"
        )
    };
    let s = parse(
        Path::new("s/x.toml"),
        &with(
            "call_timeout = \"5s\"",
            "[[expect]]\ndriver = \"js-v3\"\nhangs = true\n[[expect]]\ndriver = \"rust-sdk\"\nhangs = false\nerror_message = \"*invalid token*\"\n",
        ),
    )
    .unwrap();
    assert_eq!(
        s.cells[0].strategy.call_timeout,
        Some(Duration::from_secs(5))
    );
    assert_eq!(s.expectations[0].hangs, Some(true));
    assert_eq!(s.expectations[1].hangs, Some(false));
    assert_eq!(
        s.expectations[1].error_message.as_deref(),
        Some("*invalid token*")
    );
    // A hang can only be seen where the strategy bounds the call.
    let e = err(&with("", "[[expect]]\ndriver = \"js-v3\"\nhangs = true\n"));
    assert!(
        e.starts_with("s/x.toml:8:9: `hangs = true` needs `call_timeout` on strategy `sdk-retry` (cell js-v3/sdk-retry)"),
        "{e}"
    );
    let e = err(&with("", "[[expect]]\nerror_message = \"\"\n"));
    assert!(
        e.starts_with("s/x.toml:7:17: `error_message` is a glob"),
        "{e}"
    );
    for bad in ["0s", "60s", "2m"] {
        let e = err(&with(
            &format!("call_timeout = \"{bad}\""),
            "[[expect]]\nrecovers = true\n",
        ));
        assert!(
            e.contains("strategy `sdk-retry`: call_timeout must be more than 0 and less than 1m"),
            "{bad}: {e}"
        );
    }
    let e = err(&with(
        "call_timeout = \"5s\"",
        "[[expect]]\nhangs = true\n[[expect]]\ndriver = \"js-*\"\nhangs = false\n",
    ));
    assert!(e.contains("hangs cannot be both true and false"), "{e}");
}

const HANDLER: &str = r#"description = "spot"
[[schedule]]
at = "2s"
notice = "spot-interruption(terminate, 2m)"
[handler]
name = "drain"
command = ["python3", "./h.py", "--interval", "0.5"]
notice_within = "3s"
"#;

#[test]
fn a_handler_scenario_is_one_cell_judged_on_its_notice() {
    let s = parse(Path::new("s/h.toml"), HANDLER).unwrap();
    assert_eq!(s.cells.len(), 1);
    let cell = &s.cells[0];
    assert_eq!(cell.id(), "drain/notice");
    let spec = cell.handler.as_ref().unwrap();
    assert_eq!(spec.path, "/latest/meta-data/spot/instance-action");
    assert_eq!(spec.notice_at, Duration::from_secs(2));
    assert_eq!(spec.notice_within, Duration::from_secs(3));
    assert_eq!(spec.deadline(), Duration::from_secs(6));
    assert_eq!(spec.command[0], "python3");
    assert!(
        spec.command[1].ends_with("/s/./h.py") && Path::new(&spec.command[1]).is_absolute(),
        "{:?}",
        spec.command
    );
    assert!(s.expectations.is_empty());
}

#[test]
fn handler_refusals_name_the_line_and_column() {
    // No notice to notice: at the [handler] table.
    let e = err(&HANDLER.replace(
        "notice = \"spot-interruption(terminate, 2m)\"",
        "state = \"up\"",
    ));
    assert!(
        e.starts_with(
            "s/x.toml:5:1: a [handler] scenario needs a [[schedule]] step with a `notice`"
        ),
        "{e}"
    );
    // Both kinds, and neither.
    let e = err(&format!(
        "{HANDLER}[matrix]\ndrivers = [\"boto3\"]\nstrategies = [\"s\"]\n"
    ));
    assert!(
        e.starts_with("s/x.toml:5:1: a scenario has either a [matrix]"),
        "{e}"
    );
    assert!(e.ends_with("not both"), "{e}");
    let e = err("description = \"x\"\n");
    assert!(e.starts_with("s/x.toml:1:1: a scenario has either"), "{e}");
    // Keys of matrix scenarios, at the first of them.
    let e = err(&format!("{HANDLER}[[expect]]\nrecovers = true\n"));
    assert!(e.starts_with("s/x.toml:9:1: [[expect]], [strategy.NAME] and [driver.NAME] are for [matrix] scenarios"), "{e}");
    // Bad values, at the value.
    let e = err(&HANDLER.replace("notice_within = \"3s\"", "notice_within = \"0s\""));
    assert!(
        e.starts_with("s/x.toml:8:17: `notice_within` must be more than 0s"),
        "{e}"
    );
    let e = err(&HANDLER.replace("notice_within = \"3s\"", "notice_within = \"soon\""));
    assert!(e.starts_with("s/x.toml:8:17:"), "{e}");
    let e = err(&HANDLER.replace("[\"python3\", \"./h.py\", \"--interval\", \"0.5\"]", "[]"));
    assert!(
        e.starts_with("s/x.toml:7:11: `command` is the program"),
        "{e}"
    );
    let e = err(&HANDLER.replace("\"drain\"", "\"a b\""));
    assert!(e.starts_with("s/x.toml:6:8: `name` `a b` must be"), "{e}");
    let e = err(&HANDLER.replace("notice_within", "notice_witin"));
    assert!(
        e.starts_with("s/x.toml:8:1: unknown field `notice_witin`"),
        "{e}"
    );
}

const POD: &str = r#"
[endpoint]
kind = "pod-identity"
token_lifetime = "1h"
[matrix]
drivers = ["boto3"]
strategies = ["call-retry"]
[strategy.call-retry]
attempts = 1
[[expect]]
recovers = true
"#;

#[test]
fn endpoint_chooses_the_surface_and_refuses_what_loopback_cannot_do() {
    let s = parse(Path::new("p.toml"), POD).unwrap();
    assert_eq!(
        s.endpoint,
        EndpointSettings::Container {
            surface: mock_imds::ContainerSurface::PodIdentity,
            token_lifetime: Duration::from_secs(3600),
        }
    );
    let default = parse(Path::new("g.toml"), GOOD).unwrap();
    assert_eq!(default.endpoint, EndpointSettings::Imds);
    let ecs = POD.replace(
        "kind = \"pod-identity\"\ntoken_lifetime = \"1h\"",
        "kind = \"ecs\"\ntoken = \"file\"",
    );
    assert_eq!(
        parse(Path::new("e.toml"), &ecs).unwrap().endpoint.surface(),
        Some(mock_imds::ContainerSurface::EcsTokenFile)
    );
    let relative = POD.replace(
        "kind = \"pod-identity\"\ntoken_lifetime = \"1h\"",
        "kind = \"ecs\"\nuri = \"relative\"",
    );
    let e = err(&relative);
    assert!(e.starts_with("s/x.toml:4:7: "), "{e}");
    assert!(e.contains("link-local mode"), "{e}");
    // In the link-local mode the relative URI is the ECS surface without a token.
    let linked = format!("[network]\nmode = \"link-local\"\n{relative}");
    let s = parse(Path::new("l.toml"), &linked).unwrap();
    assert_eq!(
        s.endpoint.surface(),
        Some(mock_imds::ContainerSurface::EcsRelativeUri)
    );
    assert!(s.network.is_link_local());
    let config = s.endpoint.container_config().unwrap();
    assert_eq!(
        config.ecs_authorization_token, None,
        "the agent checks none"
    );
    let full = parse(Path::new("e.toml"), &ecs).unwrap();
    let config = full.endpoint.container_config().unwrap();
    assert!(
        config.ecs_authorization_token.is_some(),
        "a full URI takes one"
    );
    let e = err(&linked.replace("uri = \"relative\"", "uri = \"relative\"\ntoken = \"file\""));
    assert!(e.starts_with("s/x.toml:7:9: "), "{e}");
    assert!(
        e.contains("`token` does not go with `uri = \"relative\"`"),
        "{e}"
    );
    let e = err(&format!("[network]\nmode = \"loopback\"\n{relative}"));
    assert!(
        e.contains("link-local mode"),
        "an explicit loopback refuses it too: {e}"
    );
    let e = err(&format!("[network]\nmode = \"netns\"\n{POD}"));
    assert!(
        e.starts_with("s/x.toml:2:8: unknown variant `netns`, expected `loopback` or `link-local`"),
        "{e}"
    );
    let e = err(&POD.replace("pod-identity", "eks"));
    assert!(e.starts_with("s/x.toml:3:8: "), "{e}");
    assert!(e.contains("`imds`, `ecs`"), "{e}");
    let e = err(&POD.replace("token_lifetime = \"1h\"", "uri = \"full\""));
    assert!(e.contains("`uri` applies only to `kind = \"ecs\"`"), "{e}");
    let e = err(&POD.replace("[\"boto3\"]", "[\"boto3\", \"rust-sdk\"]"));
    assert!(e.starts_with("s/x.toml:6:21: "), "{e}");
    assert!(e.contains("EcsCredentialsProvider"), "{e}");
}

/// `expiry_extended`, `account_id` and `sdk_warnings` are read into the expectation, and
/// a bad `account_id` or an empty warning pattern is refused at its line and column.
#[test]
fn reported_credentials_keys_are_read_and_refused_at_their_place() {
    let with = |extra: &str| format!("{GOOD}{extra}");
    let s = parse(
        Path::new("s/x.toml"),
        &with("expiry_extended = true\naccount_id = \"123456789012\"\nsdk_warnings = [\"*expiration extension*\"]\n"),
    )
    .unwrap();
    let e = &s.expectations[1];
    assert_eq!(e.expiry_extended, Some(true));
    assert_eq!(e.account_id.as_deref(), Some("123456789012"));
    assert_eq!(
        e.sdk_warnings.as_deref(),
        Some(&["*expiration extension*".to_string()][..])
    );
    assert_eq!(
        e.to_string(),
        "recovers, within 1s 500ms, expiry extended by the SDK, account 123456789012, SDK warnings [\"*expiration extension*\"]"
    );
    let checks_only_warnings = GOOD.replace(
        "recovers = true\nwithin = \"1500ms\"\n",
        "sdk_warnings = []\n",
    );
    assert_eq!(
        parse(Path::new("s/x.toml"), &checks_only_warnings)
            .unwrap()
            .expectations[1]
            .sdk_warnings,
        Some(vec![])
    );
    let e = err(&with("account_id = \"12345\"\n"));
    assert!(
        e.starts_with("s/x.toml:29:14: account_id `12345` is not an AWS account id: 12 digits"),
        "{e}"
    );
    let e = err(&with("sdk_warnings = [\"*x*\", \"\"]\n"));
    assert!(
        e.starts_with("s/x.toml:29:24: an sdk_warnings pattern is empty"),
        "{e}"
    );
    let e = err(&with("expiry_extended = \"yes\"\n"));
    assert!(e.starts_with("s/x.toml:29:19: "), "{e}");
}
