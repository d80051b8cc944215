//! Every duration mock-imds reads is bounded at 24 h, at its position: schedule files
//! (`at`, generator keys), fault arguments (`latency`), the control API's steps, the
//! instance config (credential times, which also must mean something).

use mock_imds::{FaultSpec, ImdsConfig, ScheduleFile, MAX_DURATION};

const PAST: [&str; 3] = ["86400001ms", "1000000000000000s", "18446744073709551615s"];

#[test]
fn schedule_file_durations_are_bounded_at_their_position() {
    let files: [&dyn Fn(&str) -> String; 5] = [
        &|d| format!("[[schedule]]\nat = \"{d}\"\nstate = \"refuse\"\n"),
        &|d| {
            format!("[[generate]]\nkind = \"flap\"\nfault = \"reset\"\ndown = [\"1s\", \"{d}\"]\nup = [\"1s\", \"1s\"]\nuntil = \"2s\"\n")
        },
        &|d| {
            format!("[[generate]]\nkind = \"flap\"\nfault = \"reset\"\ndown = [\"1h\", \"1h\"]\nup = [\"1h\", \"1h\"]\nuntil = \"{d}\"\n")
        },
        &|d| {
            format!("[[generate]]\nkind = \"random-outages\"\nfault = \"reset\"\ncount = 1\nduration = [\"1s\", \"{d}\"]\nwithin = \"1h\"\n")
        },
        &|d| {
            format!("[[generate]]\nkind = \"random-outages\"\nfault = \"reset\"\ncount = 1\nduration = [\"1s\", \"1s\"]\nwithin = \"{d}\"\n")
        },
    ];
    for file in files {
        let at_bound = ScheduleFile::parse(&file("24h")).map(|f| f.expand(0));
        if let Err(e) = &at_bound {
            assert!(!e.to_string().contains("0s..=24h"), "{e}");
        }
        for past in PAST {
            let text = file(past);
            let e = ScheduleFile::parse(&text)
                .err()
                .unwrap_or_else(|| panic!("accepted {text}"))
                .to_string();
            let line = text.lines().position(|l| l.contains(past)).unwrap() + 1;
            assert!(e.starts_with(&format!("{line}:")), "{text}: {e}");
            assert!(
                e.contains("0s..=24h") || e.contains("invalid duration"),
                "{e}"
            );
        }
    }
}

#[test]
fn fault_and_config_durations_are_bounded() {
    assert!("latency(24h)".parse::<FaultSpec>().is_ok());
    for past in PAST {
        assert!(
            format!("latency({past})").parse::<FaultSpec>().is_err(),
            "{past}"
        );
        assert!(
            format!("latency(1s, {past})").parse::<FaultSpec>().is_err(),
            "{past}"
        );
        let e = ImdsConfig::from_toml(&format!("credential_lifetime = \"{past}\"\n")).unwrap_err();
        assert!(e.to_string().starts_with("1:"), "{e}");
    }
    assert_eq!(MAX_DURATION.as_secs(), 24 * 3600);
    assert!(ImdsConfig::from_toml("credential_lifetime = \"24h\"\n").is_ok());
    let e = ImdsConfig::from_toml("credential_lifetime = \"0s\"\n").unwrap_err();
    assert!(e.to_string().contains("too short"), "{e}");
    let e = ImdsConfig::from_toml("credential_lifetime = \"1h\"\nrotate_before_expiry = \"1h\"\n")
        .unwrap_err();
    assert!(e.to_string().contains("is not shorter than"), "{e}");
}
