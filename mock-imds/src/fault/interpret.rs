//! One request's pass over the faults it meets: most specific target first, each firing
//! with its probability, each handed to its layer's interpreter. The pass does not know
//! any fault by name; the interpreters do.

use super::body::{self, Stage};
use super::catalogue::view::{Body, Document, Layered};
use super::draw::Draws;
use super::state::ImdsState;
use super::{answer, document, socket};
use crate::credentials::RoleDocument;
use crate::ec2_http::HttpResponse;
use crate::listener::ConnectionClosed;

/// The fault engine of one mock: its draws, and the pass that applies a state to a
/// request.
#[derive(Debug)]
pub(crate) struct Interpreter {
    draws: Draws,
}

/// What the faults a request met left for the service to do.
#[derive(Debug, Default)]
pub(crate) struct Met {
    answer: Option<HttpResponse>,
    document: Option<Document>,
    body: Vec<Body>,
}

impl Interpreter {
    /// An engine whose probabilities and jitter draw from a RNG seeded with `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            draws: Draws::new(seed),
        }
    }

    /// Meets the faults of `state` that a request for `path` is subject to (waiting out
    /// latency, never returning for a blackhole).
    ///
    /// # Errors
    /// [`ConnectionClosed`] when a fault ends the connection instead of answering.
    pub(crate) async fn meet(
        &self,
        state: &ImdsState,
        path: &str,
    ) -> Result<Met, ConnectionClosed> {
        let mut met = Met::default();
        for spec in state.matching(path) {
            if !self.draws.fires(spec) {
                continue;
            }
            match spec.fault.layered() {
                Layered::Socket(fault) => return Err(socket::interpret(&fault).on_request),
                Layered::Answer(fault) => {
                    match answer::interpret(&fault, &spec.target, &self.draws).await {
                        answer::Flow::Continue => {}
                        answer::Flow::Answer(response) => {
                            met.answer = Some(response);
                            break;
                        }
                        answer::Flow::Close(closed) => return Err(closed),
                        answer::Flow::Never => return std::future::pending().await,
                    }
                }
                Layered::Document(fault) => {
                    met.document.get_or_insert(fault);
                }
                Layered::Body(fault) => {
                    if !met.body.contains(&fault) {
                        met.body.push(fault);
                    }
                }
            }
        }
        Ok(met)
    }
}

impl Met {
    /// The answer a fault gave in place of the service's, if one did.
    pub(crate) fn take_answer(&mut self) -> Option<HttpResponse> {
        self.answer.take()
    }

    /// The answer a document fault gives a request for a role credentials path (`document`:
    /// the credentials document the path names, if it names one), or `None` to serve it
    /// as usual. `now`: the virtual wall clock's time (the documents' times).
    pub(crate) fn credentials_answer(
        &self,
        document: Option<&RoleDocument<'_>>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<HttpResponse> {
        let fault = self.document.as_ref()?;
        document::interpret(fault, document, now)
    }

    /// `response` after the body faults met.
    pub(crate) fn finish(&self, mut response: HttpResponse) -> HttpResponse {
        for stage in [Stage::Content, Stage::Wire] {
            for fault in &self.body {
                let (at, apply) = body::interpret(fault);
                if at == stage {
                    response = apply(response);
                }
            }
        }
        response
    }
}
