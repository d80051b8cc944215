//! The answer layer's interpreter: what an answer fault does to a request: no answer, a
//! status, a delay before the rest, a reset, throttling.

use http::StatusCode;

use super::catalogue::view::Answer;
use super::draw::Draws;
use super::target::Target;
use crate::ec2_http::{self, HttpResponse};
use crate::listener::ConnectionClosed;

/// What happens next, after an answer fault was met.
pub(crate) enum Flow {
    /// Go on to the next fault (and then the service).
    Continue,
    /// Answer this, and meet no further fault.
    Answer(HttpResponse),
    /// End the connection without an answer.
    Close(ConnectionClosed),
    /// Never answer.
    Never,
}

/// Meets `fault` (on `target`).
pub(crate) async fn interpret(fault: &Answer, target: &Target, draws: &Draws) -> Flow {
    match fault {
        // Never answer. The request's future ends when the connection is closed: by the
        // client giving up, by a socket fault, or by the mock shutting down.
        Answer::Blackhole => Flow::Never,
        Answer::Status { code, body } => {
            // Only a value built around the parser and the constructor can hold a 1xx:
            // hyper would send 500 for it, so send (and log) that.
            let status = StatusCode::from_u16(*code)
                .ok()
                .filter(|s| !s.is_informational())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Flow::Answer(match body {
                None => error_page(target, status),
                Some(body) => ec2_http::with_body(status, "text/plain", body.clone().into()),
            })
        }
        Answer::Latency { delay, jitter } => {
            tokio::time::sleep(draws.jittered(*delay, *jitter)).await;
            Flow::Continue
        }
        Answer::Reset => Flow::Close(ConnectionClosed::Reset),
        Answer::EmptyReply => Flow::Close(ConnectionClosed::Close),
        Answer::Throttle { per_second } => {
            if draws.throttled(target, *per_second) {
                Flow::Answer(error_page(target, StatusCode::TOO_MANY_REQUESTS))
            } else {
                Flow::Continue
            }
        }
    }
}

/// The answer a bodyless `status(N)` (or `throttle`) gives on `target`: EC2's error page
/// on IMDS; on `container`, what both container agents (Go servers) answer through
/// `http.Error`: the status text and a newline as `text/plain; charset=utf-8` (the
/// Pod Identity agent's errors, the ECS agent's rate limiter's 429).
fn error_page(target: &Target, status: StatusCode) -> HttpResponse {
    match target {
        Target::Container => {
            crate::container::go_error(status, status.canonical_reason().unwrap_or("Error"))
        }
        _ => ec2_http::error_page(status),
    }
}
