//! The events: what the log records, as serialized (`type`, `at_ms`, …).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::fault::ImdsState;

/// One entry in the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened (for a request: when it arrived), since the epoch; serialized
    /// as `at_ms`.
    #[serde(rename = "at_ms", with = "crate::ms")]
    pub at: Duration,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// True for a role credentials document (not the role listing; on IMDS or a container
    /// endpoint) answered 200: one
    /// credential fetch by a client.
    pub fn is_credential_fetch(&self) -> bool {
        matches!(&self.kind, EventKind::ImdsRequest { path, status: Some(200), .. }
            if (crate::fault::is_credentials_path(path) && !path.ends_with('/'))
                || crate::container::is_credentials_path(path))
    }
}

/// How the fake STS answered a call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum StsOutcome {
    /// Signature and session token matched credentials mock-imds issued.
    Accepted {
        /// The caller's assumed-role ARN, as returned (`GetCallerIdentity`), or the ARN
        /// of the session issued (`AssumeRole`).
        arn: String,
        /// The access key of the session an `AssumeRole` issued (serialized only then).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        issued_access_key_id: Option<String>,
    },
    /// Rejected with this STS error code (`InvalidClientTokenId`, …).
    Rejected {
        /// The error code, as real STS names it.
        code: String,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum EventKind {
    /// IMDS went into a new state (a schedule step or a direct `set_state`); the event's
    /// time is when the state took effect (the socket, too, was in its new mode).
    Transition {
        /// The new state.
        state: ImdsState,
        /// When the transition was asked for: a schedule step's own time, or when the
        /// call (library or control API) arrived; serialized as `asked_at_ms`. The
        /// event's time minus this is how late the transition took effect.
        #[serde(default, rename = "asked_at_ms", with = "crate::ms")]
        asked_at: Duration,
        /// True when a schedule step asked for it (then `asked_at` is the step's time).
        #[serde(default, skip_serializing_if = "is_false")]
        scheduled: bool,
    },
    /// A transition that could not be put in force (the socket could not be opened again).
    /// Handlers serve the new state, but the socket refuses connections.
    TransitionFailed {
        /// The state that was asked for.
        state: ImdsState,
        /// When it was asked for; serialized as `asked_at_ms`.
        #[serde(rename = "asked_at_ms", with = "crate::ms")]
        asked_at: Duration,
        /// True when a schedule step asked for it.
        #[serde(default, skip_serializing_if = "is_false")]
        scheduled: bool,
        /// Why (the bind or listen error).
        error: String,
    },
    /// An HTTP request reached IMDS (connections refused by a closed socket never do).
    ImdsRequest {
        /// HTTP method.
        method: String,
        /// Request path (without query).
        path: String,
        /// The status sent, or `None` when no answer was sent (blackholed, or the
        /// connection was closed by a fault or by the client first).
        status: Option<u16>,
        /// Whether the request carried `X-aws-ec2-metadata-token`.
        token_present: bool,
        /// The request's `User-Agent` header (lossily UTF-8), when it had one: which SDK
        /// and version asked. Serialized only when present.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_agent: Option<String>,
        /// The request's `X-aws-ec2-metadata-token-ttl-seconds` header, as sent (the TTL
        /// in seconds a token PUT asks for; lossily UTF-8, not parsed), when it had one.
        /// Serialized only when present.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_ttl_seconds: Option<String>,
        /// Time from arrival to answer (or to giving up), serialized as `latency_ms`.
        #[serde(rename = "latency_ms", with = "crate::ms")]
        latency: Duration,
    },
    /// The mock's virtual wall clock jumped ([`crate::clock::Clock::jump`]): a schedule
    /// step's `clock`, `MockImds::jump_clock` or `POST /clock`.
    ClockJump {
        /// How far it jumped (`+5h 52m`).
        by: crate::clock::SignedDuration,
        /// Its offset from real time after the jump, milliseconds.
        offset_ms: i64,
        /// When the jump was asked for (a schedule step's own time, or when the call
        /// arrived); serialized as `asked_at_ms`.
        #[serde(default, rename = "asked_at_ms", with = "crate::ms")]
        asked_at: Duration,
        /// True when a schedule step asked for it.
        #[serde(default, skip_serializing_if = "is_false")]
        scheduled: bool,
    },
    /// The credential store replaced the current set: at its rotation instant on the
    /// virtual clock (EC2: new credentials at least 5 minutes before the old expire), or
    /// when asked to (`forced`: a schedule step's `rotate`, `MockImds::rotate_credentials`,
    /// `POST /rotate`). The old set stays valid until it expires.
    CredentialsRotated {
        /// The new set's access key id.
        access_key_id: String,
        /// The new set's `LastUpdated`, RFC 3339 on the virtual clock.
        issued_at: String,
        /// The new set's `Expiration`, RFC 3339 on the virtual clock.
        expiration: String,
        /// True when asked for, false for a rotation on schedule.
        #[serde(default, skip_serializing_if = "is_false")]
        forced: bool,
        /// When it was asked for: a schedule step's own time, else when it happened;
        /// serialized as `asked_at_ms`.
        #[serde(default, rename = "asked_at_ms", with = "crate::ms")]
        asked_at: Duration,
        /// True when a schedule step asked for it.
        #[serde(default, skip_serializing_if = "is_false")]
        scheduled: bool,
    },
    /// A counted fault (`times=N`) acted on its last request and lifts itself: the
    /// `transition` that clears it follows. (Recorded when the last request met it; a
    /// request arriving before the transition is in force no longer meets it.)
    FaultLifted {
        /// The fault, as it was set (`status(401) on token times=2`).
        fault: crate::fault::FaultSpec,
        /// How many requests it acted on (its `times`).
        after: u32,
    },
    /// A notice was put in force ([`crate::notice`]): a schedule step's `notice`,
    /// `MockImds::post_notice` or `POST /notice`. Served from the next request on.
    Notice {
        /// The notice, as written (`spot-interruption(terminate, 2m)`).
        notice: crate::notice::Notice,
        /// The notice's own time on the virtual clock, RFC 3339: the virtual clock's
        /// now plus the notice's lead (the spot `time`, the maintenance `NotBefore`).
        time: String,
        /// When it was asked for (a schedule step's own time, or when the call
        /// arrived); serialized as `asked_at_ms`.
        #[serde(default, rename = "asked_at_ms", with = "crate::ms")]
        asked_at: Duration,
        /// True when a schedule step asked for it.
        #[serde(default, skip_serializing_if = "is_false")]
        scheduled: bool,
    },
    /// A new Pod Identity service-account token was written over the token file, as the
    /// kubelet rotates it (a schedule step's `rotate_token`, `MockImds::rotate_token`,
    /// `POST /rotate-token`); the old token stays accepted until its `exp`.
    TokenFileRotated {
        /// The new token's `exp`, RFC 3339 on the virtual clock.
        expires_at: String,
        /// When it was asked for: a schedule step's own time, else when it happened;
        /// serialized as `asked_at_ms`.
        #[serde(default, rename = "asked_at_ms", with = "crate::ms")]
        asked_at: Duration,
        /// True when a schedule step asked for it.
        #[serde(default, skip_serializing_if = "is_false")]
        scheduled: bool,
    },
    /// The watched instance config file changed ([`crate::config_watch`]): served from
    /// the next request on, or, with `error`, not taken (the old config stays).
    ConfigReload {
        /// The file.
        path: String,
        /// Why the new content was not taken; `None` when it is in force.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// An HTTP request reached the fake STS.
    StsRequest {
        /// The `Action` parameter, e.g. `GetCallerIdentity`.
        action: String,
        /// The access key named in the signature, when there was one.
        access_key_id: Option<String>,
        /// The caller's call id, when the request carried one (see
        /// [`crate::sts::CALL_ID_HEADER`]): how a harness ties an STS call to the attempt
        /// that made it without comparing timestamps.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<String>,
        /// The request's `User-Agent` header (lossily UTF-8), when it had one. Serialized
        /// only when present.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_agent: Option<String>,
        /// How STS answered.
        #[serde(flatten)]
        outcome: StsOutcome,
    },
}

impl EventKind {
    /// Which kind of event this is.
    pub fn event_type(&self) -> EventType {
        match self {
            EventKind::Transition { .. } => EventType::Transition,
            EventKind::TransitionFailed { .. } => EventType::TransitionFailed,
            EventKind::ImdsRequest { .. } => EventType::ImdsRequest,
            EventKind::StsRequest { .. } => EventType::StsRequest,
            EventKind::ClockJump { .. } => EventType::ClockJump,
            EventKind::CredentialsRotated { .. } => EventType::CredentialsRotated,
            EventKind::FaultLifted { .. } => EventType::FaultLifted,
            EventKind::Notice { .. } => EventType::Notice,
            EventKind::ConfigReload { .. } => EventType::ConfigReload,
            EventKind::TokenFileRotated { .. } => EventType::TokenFileRotated,
        }
    }
}

/// The kinds of event, as the JSON `type` field names them (`transition`,
/// `transition-failed`, `imds-request`, `sts-request`, `clock-jump`, `credentials-rotated`,
/// `fault-lifted`, `notice`, `config-reload`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// [`EventKind::Transition`].
    Transition,
    /// [`EventKind::TransitionFailed`].
    TransitionFailed,
    /// [`EventKind::ImdsRequest`].
    ImdsRequest,
    /// [`EventKind::StsRequest`].
    StsRequest,
    /// [`EventKind::ClockJump`].
    ClockJump,
    /// [`EventKind::CredentialsRotated`].
    CredentialsRotated,
    /// [`EventKind::FaultLifted`].
    FaultLifted,
    /// [`EventKind::Notice`].
    Notice,
    /// [`EventKind::ConfigReload`].
    ConfigReload,
    /// [`EventKind::TokenFileRotated`].
    TokenFileRotated,
}
