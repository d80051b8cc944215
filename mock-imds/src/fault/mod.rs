//! Faults, all of their behaviour: the catalogue, the syntax, the state, and one
//! interpreter per layer. The services (`imds.rs`, the listener) know no fault by
//! name; they ask the interpreter what the faults a request met leave them to do.
//!
//! A fault is written as a short string, the same in scenario files, on the command line,
//! in the control API and in reports:
//!
//! ```text
//! FAULT [on TARGET] [p=PROBABILITY]
//! refuse                               blackhole              drop-syn
//! status(500)                          status(503, "busy")    latency(200ms, 50ms)
//! reset                                truncate               malformed-json
//! no-role                              expired-credentials    error-document(AssumeRoleUnauthorizedAccess)
//! throttle(5)                          status(403) on token   reset on path(/latest/meta-data/iam/*) p=0.3
//! empty-body                           binary-body            empty-reply
//! status(401) on token times=2
//! ```
//!
//! In Rust the same reads `Fault::status(403).on(Target::Token)`,
//! `Fault::Reset.on(Target::Path("/latest/meta-data/iam/*".into())).with_probability(0.3)`.
//!
//! Targets: `listener` (every request and the socket itself), `token` (the IMDSv2 token
//! endpoint), `credentials` (the role listing and role credentials paths), `path(GLOB)`.
//! A fault takes only the targets where it means something, and parsing says why not:
//! `refuse` and `drop-syn` act on the socket and so take only `listener` (and no
//! probability); `no-role`, `expired-credentials` and `error-document` replace the role
//! credentials document and so take `credentials` or a `path(GLOB)`; `malformed-json`
//! takes any but `token` (not JSON). `status` takes 200..=599 (a 1xx is no final answer),
//! `throttle` at least 1 per second. Faults on
//! different targets compose: a request meets the most specific target first
//! (path, credentials, token, listener).
//!
//! | file | owns |
//! | --- | --- |
//! | `catalogue.rs` | one row per fault: variant, name, argument syntax, layer, targets, default target |
//! | `args.rs` | helpers for the rows' argument syntax (durations, quoted bodies) |
//! | `syntax.rs` | the grammar of specs, targets, changes and states; [`ParseFaultError`] |
//! | `target.rs` | [`Target`] and which paths it matches |
//! | `state.rs` | [`FaultSpec`], [`ImdsState`], [`Change`]; constructors that read as the grammar |
//! | `interpret.rs` | one request's pass over the faults it meets, handing each to its layer |
//! | `draw.rs` | the seeded RNG (probabilities, jitter) and the throttle windows |
//! | `socket.rs`, `answer.rs`, `document.rs`, `body.rs` | one interpreter per [`Layer`] |
//!
//! # Adding a fault
//!
//! It touches two places:
//! 1. a row in `catalogue.rs`: its variant (with documentation and fields), its name, its
//!    layer, the targets it may take, its default target, its usage line and, when it
//!    has arguments, how they are parsed and printed;
//! 2. an arm in its layer's interpreter (`socket.rs`, `answer.rs`, `document.rs` or
//!    `body.rs`), which matches the layer's faults exhaustively: until the arm is there,
//!    the crate does not compile.
//!
//! The parser, the printer, the error message's list of faults, [`CATALOGUE`] and the
//! layer views all come from the row.

mod answer;
mod args;
mod body;
mod catalogue;
mod count;
mod document;
mod draw;
mod interpret;
mod socket;
mod state;
mod syntax;
mod target;

pub use catalogue::{Fault, FaultKind, Layer, Targets, BINARY_BODY, CATALOGUE};
pub(crate) use count::Lifted;
pub(crate) use interpret::{Interpreter, Met};
pub(crate) use socket::{mode as socket_mode, mode_on as socket_mode_on};
pub use state::{Change, FaultSpec, ImdsState};
pub use syntax::ParseFaultError;
pub(crate) use target::glob_match;
pub use target::{is_credentials_path, Target};

#[cfg(test)]
mod tests {
    use super::*;

    /// The faults there were when the catalogue was made keep their order (it is the
    /// order error messages list them in); new rows go after them.
    #[test]
    fn the_catalogue_has_one_row_per_fault_in_grammar_order() {
        let names: Vec<&str> = CATALOGUE.iter().map(|k| k.name).collect();
        assert_eq!(
            names[..12],
            [
                "refuse",
                "blackhole",
                "drop-syn",
                "status",
                "latency",
                "reset",
                "truncate",
                "malformed-json",
                "no-role",
                "expired-credentials",
                "error-document",
                "throttle"
            ]
        );
        assert_eq!(Fault::status(500).kind().args, ["code", "body"]);
        assert_eq!(Fault::Refuse.kind().layer, Layer::Socket);
        assert_eq!(Fault::NoRole.default_target(), Target::Credentials);
        for kind in CATALOGUE {
            // The first way of writing it: up to the first `, ` outside parentheses.
            let mut depth = 0;
            let end = kind
                .usage
                .char_indices()
                .find(|&(i, c)| {
                    depth += i32::from(c == '(') - i32::from(c == ')');
                    depth == 0 && kind.usage[i..].starts_with(", ")
                })
                .map_or(kind.usage.len(), |(i, _)| i);
            let sample = kind.usage[..end]
                .replace("(N)", "(500)")
                .replace("(DELAY, JITTER)", "(1s, 0s)")
                .replace("(CODE)", "(X)")
                .replace("(PER_SECOND)", "(3)");
            let fault: Fault = sample.parse().unwrap_or_else(|e| panic!("{sample}: {e}"));
            assert_eq!(fault.kind().name, kind.name);
            assert_eq!(fault.to_string(), sample);
        }
    }
}
