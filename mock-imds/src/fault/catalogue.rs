//! The fault catalogue: one row per fault, and everything generated from the rows.
//!
//! A row gives the fault's variant (with its documentation and fields), its name in the
//! text grammar, its [`Layer`], the targets it may take, its default target, its usage
//! line for error messages, and, for a fault with arguments, how its arguments are read
//! (`parse`, given the text between the parentheses) and written (`print`). From the
//! rows the [`catalogue!`] macro generates the public [`Fault`] enum, its parser and
//! printer, [`CATALOGUE`] (the rows as data), and one view enum per layer
//! ([`view`]), which the layer's interpreter matches exhaustively: a new row does not
//! compile until its interpreter has an arm for it.

use std::time::Duration;

use super::args::{escape_separators, parse_duration, split_call};
use super::target::Target;

/// Where a fault acts, and so which interpreter carries it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layer {
    /// The listening socket (`fault/socket.rs`): connections refused, SYNs dropped. Such
    /// a fault takes only the `listener` target and no probability.
    Socket,
    /// The answer to a request (`fault/answer.rs`): none, a status, a delay, a reset.
    Answer,
    /// The role credentials document (`fault/document.rs`).
    Document,
    /// The response body on its way out (`fault/body.rs`).
    Body,
}

/// Which targets a fault may take: those where it means something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Targets {
    /// Any target.
    Any,
    /// Only `listener` or `container` (the fault acts on a listener's socket).
    ListenerOnly,
    /// `credentials` or a `path(GLOB)`: the fault replaces the role credentials document,
    /// which only the credentials paths serve; on `token` it would never act, and on
    /// `listener` it would read as "every request" while changing only those paths.
    CredentialsDocument,
    /// Any but `token`: the fault breaks a JSON body, and the token is not JSON.
    NotToken,
}

impl Targets {
    /// True when `target` is allowed.
    pub fn allow(self, target: &Target) -> bool {
        match self {
            Targets::Any => true,
            Targets::ListenerOnly => matches!(target, Target::Listener | Target::Container),
            Targets::CredentialsDocument => {
                matches!(target, Target::Credentials | Target::Path(_))
            }
            Targets::NotToken => *target != Target::Token,
        }
    }

    /// Why `fault` cannot take a target these do not allow, and which it can.
    pub fn refusal(self, fault: &str) -> String {
        match self {
            Targets::Any => String::new(),
            Targets::ListenerOnly => {
                format!("`{fault}` acts on the socket, so its target can only be `listener` or `container`")
            }
            Targets::CredentialsDocument => format!(
                "`{fault}` replaces the role credentials document, so its target can only be `credentials` or a `path(GLOB)` (the token request never serves that document, and `listener` would change only the credentials paths too)"
            ),
            Targets::NotToken => format!(
                "`{fault}` breaks a JSON body and the token is not JSON, so its target can be `listener`, `credentials` or a `path(GLOB)`, not `token`"
            ),
        }
    }
}

/// One row of the catalogue, as data.
#[derive(Clone, Copy, Debug)]
pub struct FaultKind {
    /// The name in the text grammar, e.g. `status`.
    pub name: &'static str,
    /// How it is written, e.g. `status(N), status(N, "body")`.
    pub usage: &'static str,
    /// Its arguments' field names, in order (the arity is their number; trailing ones may
    /// be optional, as `usage` shows).
    pub args: &'static [&'static str],
    /// Which interpreter carries it out.
    pub layer: Layer,
    /// The targets it may take.
    pub targets: Targets,
}

macro_rules! catalogue {
    ($(
        $(#[$meta:meta])*
        $name:literal => $Variant:ident $({ $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)? })?
            in $layer:ident, targets $targets:ident, default $default:ident, usage $usage:literal
            $(, parse |$args:ident| $parse:block, print |$out:ident| $print:block)?
        ;
    )*) => {
        /// One way IMDS can fail. Each variant is one behaviour (see the catalogue rows in
        /// `fault/catalogue.rs`).
        #[derive(Clone, Debug, PartialEq)]
        pub enum Fault {
            $( $(#[$meta])* $Variant $({ $( $(#[$fmeta])* $field: $ty ),* })?, )*
        }

        /// Every fault, in the order of its rows.
        pub const CATALOGUE: &[FaultKind] = &[
            $( catalogue!(@row $name, $usage, $layer, $targets $(, $($field),*)?), )*
        ];

        impl Fault {
            /// This fault's catalogue row.
            pub fn kind(&self) -> &'static FaultKind {
                match self {
                    $( Fault::$Variant { .. } => {
                        const ROW: FaultKind = catalogue!(@row $name, $usage, $layer, $targets $(, $($field),*)?);
                        &ROW
                    } )*
                }
            }

            /// The target used when none is written: `credentials` for faults about the
            /// role credentials, else `listener`.
            pub fn default_target(&self) -> Target {
                match self {
                    $( Fault::$Variant { .. } => Target::$default, )*
                }
            }

            /// The fault as its layer's interpreter sees it.
            #[allow(clippy::clone_on_copy)]
            pub(crate) fn layered(&self) -> view::Layered {
                match self {
                    $( Fault::$Variant $({ $($field),* })? =>
                        view::Layered::$layer(view::$layer::$Variant $({ $($field: $field.clone()),* })?), )*
                }
            }
        }

        impl std::str::FromStr for Fault {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                let text = text.trim();
                $( if text == $name {
                    if let Some(fault) = catalogue!(@unit $Variant $({ $($field),* })?) {
                        return Ok(fault);
                    }
                } )*
                let (name, inner) = split_call(text).ok_or_else(|| "unknown fault".to_string())?;
                match name.trim() {
                    $( $( $name => {
                        let $args = inner;
                        $parse
                    } )? )*
                    _ => Err("unknown fault".into()),
                }
            }
        }

        impl std::fmt::Display for Fault {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $( Fault::$Variant $({ $($field),* })? =>
                        catalogue!(@print formatter, $name $(, |$out| $print)?), )*
                }
            }
        }

        views!(@sort [] [] [] [] ; $( $layer $Variant [$($($field: $ty),*)?] ; )*);
    };
    (@row $name:literal, $usage:literal, $layer:ident, $targets:ident $(, $field:ident)*) => {
        FaultKind {
            name: $name,
            usage: $usage,
            args: &[$(stringify!($field)),*],
            layer: Layer::$layer,
            targets: Targets::$targets,
        }
    };
    (@unit $Variant:ident) => { Some(Fault::$Variant) };
    (@unit $Variant:ident { $($field:ident),* }) => { None::<Fault> };
    (@print $formatter:ident, $name:literal) => { $formatter.write_str($name) };
    (@print $formatter:ident, $name:literal, |$out:ident| $print:block) => {{
        let $out = $formatter;
        $print
    }};
}

/// Sorts the rows into one view enum per layer (a helper of [`catalogue!`]).
macro_rules! views {
    (@sort [$($s:tt)*] $a:tt $d:tt $b:tt ; Socket $V:ident [] ; $($rest:tt)*) => {
        views!(@sort [$($s)* $V,] $a $d $b ; $($rest)*);
    };
    (@sort [$($s:tt)*] $a:tt $d:tt $b:tt ; Socket $V:ident [$($f:tt)+] ; $($rest:tt)*) => {
        views!(@sort [$($s)* $V { $($f)+ },] $a $d $b ; $($rest)*);
    };
    (@sort $s:tt [$($a:tt)*] $d:tt $b:tt ; Answer $V:ident [] ; $($rest:tt)*) => {
        views!(@sort $s [$($a)* $V,] $d $b ; $($rest)*);
    };
    (@sort $s:tt [$($a:tt)*] $d:tt $b:tt ; Answer $V:ident [$($f:tt)+] ; $($rest:tt)*) => {
        views!(@sort $s [$($a)* $V { $($f)+ },] $d $b ; $($rest)*);
    };
    (@sort $s:tt $a:tt [$($d:tt)*] $b:tt ; Document $V:ident [] ; $($rest:tt)*) => {
        views!(@sort $s $a [$($d)* $V,] $b ; $($rest)*);
    };
    (@sort $s:tt $a:tt [$($d:tt)*] $b:tt ; Document $V:ident [$($f:tt)+] ; $($rest:tt)*) => {
        views!(@sort $s $a [$($d)* $V { $($f)+ },] $b ; $($rest)*);
    };
    (@sort $s:tt $a:tt $d:tt [$($b:tt)*] ; Body $V:ident [] ; $($rest:tt)*) => {
        views!(@sort $s $a $d [$($b)* $V,] ; $($rest)*);
    };
    (@sort $s:tt $a:tt $d:tt [$($b:tt)*] ; Body $V:ident [$($f:tt)+] ; $($rest:tt)*) => {
        views!(@sort $s $a $d [$($b)* $V { $($f)+ },] ; $($rest)*);
    };
    (@sort [$($s:tt)*] [$($a:tt)*] [$($d:tt)*] [$($b:tt)*] ;) => {
        /// The faults of each layer, as that layer's interpreter matches them (generated
        /// from the catalogue; each variant owns a copy of the fault's fields, and is named
        /// as in [`super::Fault`]).
        #[allow(clippy::enum_variant_names)]
        pub(crate) mod view {
            use std::time::Duration;

            /// Faults of [`super::Layer::Socket`].
            #[derive(Clone, Debug, PartialEq)]
            pub(crate) enum Socket { $($s)* }
            /// Faults of [`super::Layer::Answer`].
            #[derive(Clone, Debug, PartialEq)]
            pub(crate) enum Answer { $($a)* }
            /// Faults of [`super::Layer::Document`].
            #[derive(Clone, Debug, PartialEq)]
            pub(crate) enum Document { $($d)* }
            /// Faults of [`super::Layer::Body`].
            #[derive(Clone, Debug, PartialEq)]
            pub(crate) enum Body { $($b)* }

            /// A fault, sorted by layer.
            #[derive(Clone, Debug, PartialEq)]
            pub(crate) enum Layered {
                Socket(Socket),
                Answer(Answer),
                Document(Document),
                Body(Body),
            }
        }
    };
}

catalogue! {
    /// The listening socket is closed: new connections get `ECONNREFUSED` and open
    /// (keep-alive) connections are closed, as when the endpoint goes away.
    "refuse" => Refuse
        in Socket, targets ListenerOnly, default Listener, usage "refuse";

    /// Connections are accepted but a request that arrives while the fault lasts never
    /// gets an answer (not even after it lifts), as from a hung metadata service: the
    /// client sees a read timeout. Requests arriving after the fault lifts are served.
    "blackhole" => Blackhole
        in Answer, targets Any, default Listener, usage "blackhole";

    /// New connections are never established (SYNs are dropped by a socket filter),
    /// so clients see a *connect* timeout; open connections are closed. Linux only.
    "drop-syn" => DropSyn
        in Socket, targets ListenerOnly, default Listener, usage "drop-syn";

    /// Answer with this HTTP status (200..=599) and the body given, or EC2's error page
    /// for that status. A 1xx status is informational (RFC 9110 §15.2), never a final
    /// answer: it would leave the client waiting for one, so it is refused.
    "status" => Status {
        /// The HTTP status code.
        code: u16,
        /// The response body; `None` serves EC2's HTML error page.
        body: Option<String>,
    } in Answer, targets Any, default Listener, usage "status(N), status(N, \"body\")",
    parse |args| {
        let (code_text, body) = match args.split_once(',') {
            None => (args, None),
            Some((code, body)) => {
                let body = serde_json::from_str::<String>(body.trim())
                    .map_err(|_| "the status body must be a double-quoted string".to_string())?;
                (code, Some(body))
            }
        };
        let code: u16 = code_text
            .trim()
            .parse()
            .map_err(|_| "the status must be a number".to_string())?;
        if (100..=199).contains(&code) {
            return Err(format!("status {code} is informational (1xx), not a final answer; the status must be in 200..=599"));
        }
        if !(200..=599).contains(&code) {
            return Err("the status must be in 200..=599".into());
        }
        Ok(Fault::Status { code, body })
    },
    print |f| {
        match body {
            None => write!(f, "status({code})"),
            Some(body) => {
                let quoted = serde_json::to_string(body).map_err(|_| std::fmt::Error)?;
                write!(f, "status({code}, {})", escape_separators(&quoted))
            }
        }
    };

    /// Delay the answer by `delay` ± `jitter` (uniform, from the seeded RNG), then answer
    /// as the other faults and the metadata say.
    "latency" => Latency {
        /// Mean delay.
        delay: Duration,
        /// Maximum deviation from `delay`, either way.
        jitter: Duration,
    } in Answer, targets Any, default Listener, usage "latency(DELAY, JITTER)",
    parse |args| {
        let (delay, jitter) = match args.split_once(',') {
            Some((d, j)) => (parse_duration(d)?, parse_duration(j)?),
            None => (parse_duration(args)?, Duration::ZERO),
        };
        if jitter > delay {
            return Err("the latency jitter cannot exceed the delay".into());
        }
        Ok(Fault::Latency { delay, jitter })
    },
    print |f| {
        write!(
            f,
            "latency({}, {})",
            humantime::format_duration(*delay),
            humantime::format_duration(*jitter)
        )
    };

    /// Reset the connection (TCP RST) instead of answering.
    "reset" => Reset
        in Answer, targets Any, default Listener, usage "reset";

    /// Send the headers with the full `Content-Length` but only half the body, then close.
    "truncate" => Truncate
        in Body, targets Any, default Listener, usage "truncate";

    /// Serve a body cut short so it is no longer valid JSON (status 200, consistent
    /// length), as a corrupted credentials document would be.
    "malformed-json" => MalformedJson
        in Body, targets NotToken, default Credentials, usage "malformed-json";

    /// 404 on the role listing and role credentials, as when the instance profile has no
    /// role (or was just detached).
    "no-role" => NoRole
        in Document, targets CredentialsDocument, default Credentials, usage "no-role";

    /// Serve role credentials whose `Expiration` has passed (STS rejects them with
    /// `ExpiredToken`).
    "expired-credentials" => ExpiredCredentials
        in Document, targets CredentialsDocument, default Credentials, usage "expired-credentials";

    /// Serve a credentials *error* document: status 200 with `Code` set to this value
    /// (e.g. `AssumeRoleUnauthorizedAccess`), as EC2 does when it cannot assume the role.
    "error-document" => ErrorDocument {
        /// The `Code` field.
        code: String,
    } in Document, targets CredentialsDocument, default Credentials, usage "error-document(CODE)",
    parse |args| {
        let code = args.trim();
        if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err("the error-document code must be a word such as AssumeRoleUnauthorizedAccess".into());
        }
        Ok(Fault::ErrorDocument { code: code.to_string() })
    },
    print |f| { write!(f, "error-document({code})") };

    /// Past `per_second` requests in a one-second window, answer 429 Too Many Requests.
    /// At least 1: `throttle(0)` would answer every request 429, which `status(429)` says.
    "throttle" => Throttle {
        /// Requests allowed per second (1..).
        per_second: u32,
    } in Answer, targets Any, default Listener, usage "throttle(PER_SECOND)",
    parse |args| {
        let per_second: u32 = args
            .trim()
            .parse()
            .map_err(|_| "throttle takes requests per second as a whole number".to_string())?;
        if per_second == 0 {
            return Err("throttle(0) would throttle every request: the rate must be at least 1 per second (for 429 on every request write status(429))".into());
        }
        Ok(Fault::Throttle { per_second })
    },
    print |f| { write!(f, "throttle({per_second})") };

    /// Answer with the service's status and headers but an empty body
    /// (`Content-Length: 0`): a 200 with nothing in it, as a metadata service that lost
    /// its data would send. Acts on (and, with `times=`, counts) answers whose body was
    /// not empty already.
    "empty-body" => EmptyBody
        in Body, targets Any, default Listener, usage "empty-body";

    /// Answer with the service's status and headers but a body of bytes that are not
    /// UTF-8 ([`BINARY_BODY`]): what a client's text decoding must survive.
    "binary-body" => BinaryBody
        in Body, targets Any, default Listener, usage "binary-body";

    /// Read the request, then close the connection (a FIN) without sending a byte: the
    /// client sees its connection closed before any answer (curl: "Empty reply from
    /// server"), where `reset` sends a RST.
    "empty-reply" => EmptyReply
        in Answer, targets Any, default Listener, usage "empty-reply";
}

/// The body `binary-body` serves: a UTF-8 byte order mark cut short, a lone
/// continuation byte, a NUL and an overlong encoding — invalid UTF-8 from the first byte.
pub const BINARY_BODY: &[u8] = b"\xef\xbb\x80\xff\x00\xc0\xaf\xfe";

impl Fault {
    /// The layer this fault acts on.
    pub fn layer(&self) -> Layer {
        self.kind().layer
    }

    /// True for faults that act on the socket rather than on a request.
    pub fn is_socket_level(&self) -> bool {
        self.layer() == Layer::Socket
    }
}
