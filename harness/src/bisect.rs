//! `imds-harness bisect`'s search: the first release whose verdict differs from the
//! first one's, by binary search over a sorted release list, like `git bisect` (with its
//! `skip`: a release that cannot be tested is reported and passed over, never guessed).
//!
//! A verdict is compared by its class ([`crate::report::outcome::Outcome::class`]:
//! `rode-through`, `recovered`, `not-recovered`), not by its times. The search assumes
//! the verdict changes once between the two ends; with more changes it names one of them,
//! and when both ends agree it says so without testing the releases between.

use semver::Version;
use serde::Serialize;

/// What running the cell on one release gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "result")]
pub enum Probe {
    /// An SDK verdict.
    Verdict {
        /// Its class: what the search compares.
        class: String,
        /// In words, e.g. `recovered after 597ms`.
        text: String,
    },
    /// No verdict: the release could not be installed, its driver failed, or the run was
    /// inconclusive.
    Skipped {
        /// Why.
        reason: String,
    },
}

/// One release the search ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tested {
    /// The release.
    pub version: String,
    /// What it gave.
    #[serde(flatten)]
    pub probe: Probe,
}

/// What the search found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "finding")]
pub enum Finding {
    /// The last release with the first one's verdict, and the next release, whose verdict
    /// differs.
    Changed {
        /// The release whose verdict is the reference: the first of the range that gave
        /// one.
        reference: String,
        /// Last release with the first release's verdict.
        last_same: String,
        /// Its verdict (the first release's class).
        before: String,
        /// First release whose verdict differs.
        first_different: String,
        /// Its verdict.
        after: String,
    },
    /// Both ends have the same verdict class (the releases between were not run).
    Unchanged {
        /// The first release of the range that gave a verdict.
        reference: String,
        /// The last release of the range that gave a verdict.
        last_tested: String,
        /// The first release's verdict, in words.
        first: String,
        /// The last release's verdict, in words.
        last: String,
    },
    /// The change lies between two tested releases, but every release between them was
    /// skipped.
    Undecided {
        /// Last tested release with the first one's verdict.
        last_same: String,
        /// First tested release whose verdict differs.
        first_different: String,
        /// The releases between, none testable.
        skipped: Vec<String>,
    },
    /// No release of the range gave a verdict (or only one did): nothing to compare.
    Untestable {
        /// Why the last one tried gave none.
        reason: String,
    },
}

fn text(p: &Probe) -> String {
    match p {
        Probe::Verdict { text, .. } => text.clone(),
        Probe::Skipped { reason } => reason.clone(),
    }
}

/// Searches `releases` (sorted, at least two) for the first whose verdict class differs
/// from the first release's, running `probe` on the first, the last, and the releases a
/// binary search needs; returns the finding and every release run, in run order.
pub fn search(
    releases: &[Version],
    mut probe: impl FnMut(&Version) -> Probe,
) -> (Finding, Vec<Tested>) {
    let mut tested: Vec<Tested> = Vec::new();
    let mut run = |i: usize, tested: &mut Vec<Tested>| -> Probe {
        let p = probe(&releases[i]);
        tested.push(Tested {
            version: releases[i].to_string(),
            probe: p.clone(),
        });
        p
    };
    // The ends: the first and the last release that give a verdict.
    let mut lo = 0usize;
    let (base, first) = loop {
        if lo >= releases.len() {
            let reason = tested.last().map(|t| text(&t.probe));
            return (
                Finding::Untestable {
                    reason: reason.unwrap_or_else(|| "no release to test".into()),
                },
                tested,
            );
        }
        match run(lo, &mut tested) {
            Probe::Verdict { class, text } => break (class, text),
            Probe::Skipped { .. } => lo += 1,
        }
    };
    let mut hi = releases.len() - 1;
    let (end_class, end) = loop {
        if hi <= lo {
            return (
                Finding::Untestable {
                    reason: format!(
                        "only {} gave a verdict ({first}), nothing to compare it with",
                        releases[lo]
                    ),
                },
                tested,
            );
        }
        match run(hi, &mut tested) {
            Probe::Verdict { class, text } => break (class, text),
            Probe::Skipped { .. } => hi -= 1,
        }
    };
    let reference = releases[lo].to_string();
    if end_class == base {
        return (
            Finding::Unchanged {
                reference,
                last_tested: releases[hi].to_string(),
                first,
                last: end,
            },
            tested,
        );
    }
    let (mut lo_text, mut hi_text) = (first, end);
    let mut skipped: Vec<usize> = Vec::new();
    loop {
        let mid = lo + (hi - lo) / 2;
        let next = (lo + 1..hi)
            .filter(|i| !skipped.contains(i))
            .min_by_key(|i| i.abs_diff(mid));
        let Some(i) = next else { break };
        match run(i, &mut tested) {
            Probe::Skipped { .. } => skipped.push(i),
            Probe::Verdict { class, text } if class == base => {
                lo = i;
                lo_text = text;
            }
            Probe::Verdict { text, .. } => {
                hi = i;
                hi_text = text;
            }
        }
    }
    let finding = if hi - lo > 1 {
        Finding::Undecided {
            last_same: releases[lo].to_string(),
            first_different: releases[hi].to_string(),
            skipped: (lo + 1..hi).map(|i| releases[i].to_string()).collect(),
        }
    } else {
        Finding::Changed {
            reference,
            last_same: releases[lo].to_string(),
            before: lo_text,
            first_different: releases[hi].to_string(),
            after: hi_text,
        }
    };
    (finding, tested)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn releases(n: u64) -> Vec<Version> {
        (0..n).map(|i| Version::new(3, i, 0)).collect()
    }

    fn verdict(class: &str) -> Probe {
        Probe::Verdict {
            class: class.into(),
            text: class.into(),
        }
    }

    /// A history whose verdict changes at `change`, with `broken` releases uninstallable.
    fn history(change: u64, broken: &'static [u64]) -> impl FnMut(&Version) -> Probe {
        move |v| {
            if broken.contains(&v.minor) {
                Probe::Skipped {
                    reason: "cannot install".into(),
                }
            } else if v.minor < change {
                verdict("not-recovered")
            } else {
                verdict("recovered")
            }
        }
    }

    #[test]
    fn finds_the_first_changed_release_in_few_runs() {
        let list = releases(21);
        for change in 1..21 {
            let (finding, tested) = search(&list, history(change, &[]));
            assert_eq!(
                finding,
                Finding::Changed {
                    reference: "3.0.0".into(),
                    last_same: format!("3.{}.0", change - 1),
                    before: "not-recovered".into(),
                    first_different: format!("3.{change}.0"),
                    after: "recovered".into(),
                },
                "change at {change}"
            );
            // Both ends, then a binary search: at most 2 + ceil(log2(20)) = 7 runs.
            assert!(tested.len() <= 7, "{change}: {} runs", tested.len());
            assert_eq!(tested[0].version, "3.0.0");
            assert_eq!(tested[1].version, "3.20.0");
        }
    }

    #[test]
    fn skips_releases_that_cannot_be_tested() {
        let list = releases(21);
        // Broken releases away from the change are passed over.
        let (finding, tested) = search(&list, history(7, &[10, 3, 8]));
        assert!(
            matches!(&finding, Finding::Changed { last_same, first_different, .. }
                if last_same == "3.6.0" && first_different == "3.7.0"),
            "{finding:?}"
        );
        assert!(tested
            .iter()
            .any(|t| t.version == "3.10.0" && matches!(t.probe, Probe::Skipped { .. })));
        // A broken release right before the change: which of the two changed is unknown.
        let (finding, _) = search(&list, history(7, &[6]));
        assert_eq!(
            finding,
            Finding::Undecided {
                last_same: "3.5.0".into(),
                first_different: "3.7.0".into(),
                skipped: vec!["3.6.0".into()],
            }
        );
        let (finding, _) = search(&list, history(7, &[5, 6, 7, 8]));
        assert_eq!(
            finding,
            Finding::Undecided {
                last_same: "3.4.0".into(),
                first_different: "3.9.0".into(),
                skipped: vec![
                    "3.5.0".into(),
                    "3.6.0".into(),
                    "3.7.0".into(),
                    "3.8.0".into()
                ],
            }
        );
    }

    #[test]
    fn unchanged_and_untestable_ends() {
        let list = releases(9);
        let (finding, tested) = search(&list, history(100, &[]));
        assert_eq!(
            finding,
            Finding::Unchanged {
                reference: "3.0.0".into(),
                last_tested: "3.8.0".into(),
                first: "not-recovered".into(),
                last: "not-recovered".into()
            }
        );
        assert_eq!(tested.len(), 2, "only the ends run");
        // Untestable ends: the nearest testable releases stand in, and the finding says so.
        let (finding, tested) = search(&list, history(3, &[0, 1, 8]));
        assert_eq!(
            finding,
            Finding::Changed {
                reference: "3.2.0".into(),
                last_same: "3.2.0".into(),
                before: "not-recovered".into(),
                first_different: "3.3.0".into(),
                after: "recovered".into(),
            }
        );
        let order: Vec<&str> = tested.iter().map(|t| t.version.as_str()).collect();
        assert_eq!(&order[..5], ["3.0.0", "3.1.0", "3.2.0", "3.8.0", "3.7.0"]);
        let (finding, _) = search(&list, history(3, &[0, 1, 2, 3, 4, 5, 6, 7]));
        assert!(
            matches!(&finding, Finding::Untestable { reason } if reason.starts_with("only 3.8.0 gave a verdict")),
            "{finding:?}"
        );
        let (finding, tested) = search(&list, history(3, &[0, 1, 2, 3, 4, 5, 6, 7, 8]));
        assert_eq!(
            finding,
            Finding::Untestable {
                reason: "cannot install".into()
            }
        );
        assert_eq!(tested.len(), 9);
    }
}
