//! What the Rust SDK logs, per driver: the SDK logs through `tracing` (aws-config's
//! `imds::credentials` warns "Attempting credential expiration extension due to a
//! credential service availability issue..." when it extends expired credentials, and
//! "received 404 from IMDS when loading profile information"). [`SdkLogLayer`], installed
//! by the `imds-harness` binary beside its own log output, hands each WARN (or more
//! severe) event to the driver whose call is running it: the driver runs each call inside
//! a [`SPAN`] span carrying its sink's number ([`Sink::span`]), and the layer looks for
//! that span among the event's ancestors. Events outside such a span are not collected.
//! A program that uses the harness as a library (the suite's own test, tests/sdk_trap.rs)
//! gets the layer installed as the global subscriber by the first [`Sink`], if it has set
//! no subscriber of its own; one that has must add [`SdkLogLayer`] to it, or the Rust
//! SDK's warnings are not seen (an `sdk_warnings` expectation then fails: nothing logged).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::api::SdkWarning;

/// The name of the span a driver's call runs in.
pub const SPAN: &str = "imds_harness_sdk_call";

type Warnings = Arc<Mutex<Vec<SdkWarning>>>;

fn sinks() -> &'static Mutex<HashMap<u64, Warnings>> {
    static SINKS: OnceLock<Mutex<HashMap<u64, Warnings>>> = OnceLock::new();
    SINKS.get_or_init(Mutex::default)
}

/// One driver's collected warnings; unregistered when dropped.
#[derive(Debug)]
pub struct Sink {
    id: u64,
    warnings: Warnings,
}

/// Installs [`SdkLogLayer`] as the global `tracing` subscriber, once, unless the program
/// has set one already (the `imds-harness` binary sets its own, with the layer in it).
fn install_unless_set() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let _ = tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(SdkLogLayer),
        );
    });
}

impl Default for Sink {
    fn default() -> Self {
        install_unless_set();
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        let warnings = Warnings::default();
        sinks()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, warnings.clone());
        Self { id, warnings }
    }
}

impl Sink {
    /// The span to run a call in so that what the SDK logs during it lands here.
    pub fn span(&self) -> tracing::Span {
        tracing::span!(Level::ERROR, SPAN, sink = self.id)
    }

    /// What was collected since the last take.
    pub fn take(&self) -> Vec<SdkWarning> {
        std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        sinks()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

/// The sink number a [`SPAN`] span carries, kept in its extensions.
struct SinkId(u64);

/// The `tracing` layer that routes WARN and ERROR events to the [`Sink`] of the call they
/// happen in.
#[derive(Debug, Default)]
pub struct SdkLogLayer;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for SdkLogLayer {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        if attrs.metadata().name() != SPAN {
            return;
        }
        let mut visitor = Fields::default();
        attrs.record(&mut visitor);
        if let (Some(sink), Some(span)) = (visitor.sink, ctx.span(id)) {
            span.extensions_mut().insert(SinkId(sink));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if *event.metadata().level() > Level::WARN {
            return;
        }
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        let Some(sink) = scope
            .into_iter()
            .find_map(|span| span.extensions().get::<SinkId>().map(|s| s.0))
        else {
            return;
        };
        let mut visitor = Fields::default();
        event.record(&mut visitor);
        let warning = SdkWarning {
            level: event.metadata().level().to_string(),
            logger: Some(event.metadata().target().to_string()),
            message: visitor.message,
        };
        if let Some(w) = sinks().lock().unwrap_or_else(|p| p.into_inner()).get(&sink) {
            w.lock().unwrap_or_else(|p| p.into_inner()).push(warning);
        }
    }
}

/// An event's `message` (its other fields appended as `name=value`) and a span's `sink`.
#[derive(Default)]
struct Fields {
    message: String,
    sink: Option<u64>,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "sink" {
            self.sink = Some(value);
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}{}", self.message);
        } else {
            self.message
                .push_str(&format!(" {}={value:?}", field.name()));
        }
    }
}
