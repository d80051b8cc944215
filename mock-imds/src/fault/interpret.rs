//! One request's pass over the faults it meets: most specific target first, each firing
//! with its probability, each handed to its layer's interpreter. The pass does not know
//! any fault by name; the interpreters do.

use std::sync::Arc;

use super::body::{self, Stage};
use super::catalogue::view::{Answer, Body, Document, Layered};
use super::count::{Counts, Lifted, Ticket};
use super::draw::Draws;
use super::state::{FaultSpec, ImdsState};
use super::target::Target;
use super::{answer, document, socket};
use crate::credentials::RoleDocument;
use crate::ec2_http::HttpResponse;
use crate::listener::ConnectionClosed;

/// The fault engine of one mock: its draws, and the pass that applies a state to a
/// request.
#[derive(Debug)]
pub(crate) struct Interpreter {
    draws: Draws,
    counts: Arc<Counts>,
}

/// What the faults a request met left for the service to do; the document and body
/// faults with their tickets, when counted (they take their turn when they act).
#[derive(Debug)]
pub(crate) struct Met {
    answer: Option<HttpResponse>,
    document: Option<(Document, Option<Ticket>)>,
    body: Vec<(Body, Option<Ticket>)>,
    counts: Arc<Counts>,
}

impl Interpreter {
    /// An engine whose probabilities and jitter draw from a RNG seeded with `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            draws: Draws::new(seed),
            counts: Arc::default(),
        }
    }

    /// Announce each counted fault that has acted on its last request to `sink` (the
    /// switch clears it).
    pub(crate) fn announce_lifted_to(&self, sink: tokio::sync::mpsc::UnboundedSender<Lifted>) {
        self.counts.announce_to(sink);
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
        self.meet_all(state, state.matching(path)).await
    }

    /// Meets the fault on `target` only (the container listener's requests meet the
    /// `container` fault and no other), as [`Self::meet`] does.
    ///
    /// # Errors
    /// As [`Self::meet`].
    pub(crate) async fn meet_on(
        &self,
        state: &ImdsState,
        target: &Target,
    ) -> Result<Met, ConnectionClosed> {
        self.meet_all(state, state.fault_on(target).into_iter())
            .await
    }

    /// The pass over `specs`, faults of `state` (whose arming numbers count them).
    async fn meet_all<'a>(
        &self,
        state: &ImdsState,
        specs: impl Iterator<Item = &'a FaultSpec>,
    ) -> Result<Met, ConnectionClosed> {
        let mut met = Met {
            answer: None,
            document: None,
            body: Vec::new(),
            counts: self.counts.clone(),
        };
        for spec in specs {
            // A counted fault that has run out is gone (its clearing transition may not
            // be in force yet), and draws nothing.
            let ticket = Ticket::of(state, spec);
            if !self.counts.available(ticket.as_ref()) || !self.draws.fires(spec) {
                continue;
            }
            match spec.fault.layered() {
                Layered::Socket(fault) => return Err(socket::interpret(&fault).on_request),
                Layered::Answer(fault) => {
                    // `throttle` acts only on the requests past its rate; every other
                    // answer fault acts on each request it meets.
                    let throttle = matches!(fault, Answer::Throttle { .. });
                    if !throttle && !self.counts.take(ticket.as_ref()) {
                        continue;
                    }
                    let flow = answer::interpret(&fault, &spec.target, &self.draws).await;
                    if throttle
                        && !matches!(flow, answer::Flow::Continue)
                        && !self.counts.take(ticket.as_ref())
                    {
                        continue;
                    }
                    match flow {
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
                    met.document.get_or_insert((fault, ticket));
                }
                Layered::Body(fault) => {
                    if !met.body.iter().any(|(f, _)| *f == fault) {
                        met.body.push((fault, ticket));
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
        let (fault, ticket) = self.document.as_ref()?;
        let answer = document::interpret(fault, document, now)?;
        self.counts.take(ticket.as_ref()).then_some(answer)
    }

    /// `response` after the body faults met.
    pub(crate) fn finish(&self, mut response: HttpResponse) -> HttpResponse {
        for stage in [Stage::Content, Stage::Wire] {
            for (fault, ticket) in &self.body {
                let (at, apply) = body::interpret(fault);
                if at == stage
                    && body::acts_on(fault, &response)
                    && self.counts.take(ticket.as_ref())
                {
                    response = apply(response);
                }
            }
        }
        response
    }
}
