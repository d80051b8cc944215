//! The HTTP control API: switch a running mock from any language or a second terminal.
//!
//! JSON over HTTP on its own loopback port (`mock-imds serve --control-port`):
//!
//! | request | effect | answer |
//! | --- | --- | --- |
//! | `GET /state` | — | `{"state": "refuse; status(403) on token", "up": false, "seed": 7, "events_recorded", "events_dropped", "imds_requests_recorded"}` |
//! | `PUT /state` `{"state": "…"}` | replace the whole state (`up`, or specs joined by `;`) | the state |
//! | `POST /faults` `{"fault": "status(403) on token p=0.5"}` | set one fault (or `up on TARGET`) | the state |
//! | `DELETE /faults` | remove every fault (up) | the state |
//! | `DELETE /faults/TARGET` | remove the fault on `listener`, `token`, `credentials` or `path(GLOB)` | the state |
//! | `POST /schedule` `{"steps": [{"at": "0s", "state": "refuse"}, …]}` | run a schedule from now | `{"steps": n}` |
//! | `DELETE /schedule` | stop the running schedule | the state |
//! | `GET /events?since_ms=N` | — | the events at or after N ms, as a JSON array |
//! | `POST /reset` | stop the schedule and remove every fault | the state |
//!
//! Every change returns once it is in force. Bad input gets 400 with
//! `{"error": "…"}` saying what is accepted; unknown paths 404, wrong methods 405.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::ec2_http::{self, HttpResponse};
use crate::fault::{Change, ImdsState, Target};
use crate::handle::Control;
use crate::listener::Handler;
use crate::schedule::{Schedule, Step};

/// Largest control request body, in bytes.
pub const MAX_BODY: usize = 1024 * 1024;

/// The control API as a listener handler.
pub fn handler(control: Control) -> Handler {
    let control = Arc::new(control);
    Arc::new(move |req| {
        let control = control.clone();
        Box::pin(async move { Ok(handle(&control, req).await) })
    })
}

fn json_response(status: StatusCode, value: &Value) -> HttpResponse {
    ec2_http::with_body(status, "application/json", Bytes::from(value.to_string()))
}

fn bad_request(message: impl std::fmt::Display) -> HttpResponse {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({ "error": message.to_string() }),
    )
}

fn state_json(control: &Control) -> HttpResponse {
    let state = control.state();
    let (recorded, dropped, imds_requests) = control.event_counts();
    json_response(
        StatusCode::OK,
        &json!({
            "state": state.to_string(),
            "up": state.is_up(),
            "seed": control.seed(),
            "events_recorded": recorded,
            "events_dropped": dropped,
            "imds_requests_recorded": imds_requests,
        }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateBody {
    state: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultBody {
    fault: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleBody {
    steps: Vec<StepBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepBody {
    at: String,
    state: String,
}

async fn body<T: serde::de::DeserializeOwned>(
    req: Request<Incoming>,
    shape: &str,
) -> Result<T, HttpResponse> {
    let bytes = Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| bad_request(format!("cannot read the request body: {e}")))?
        .to_bytes();
    serde_json::from_slice(&bytes)
        .map_err(|e| bad_request(format!("the body must be JSON like {shape}: {e}")))
}

/// Parses `{"steps": [{"at": "0s", "state": "refuse"}, …]}` into a schedule.
fn schedule_of(steps: Vec<StepBody>) -> Result<Schedule, String> {
    let steps = steps
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let at = humantime::parse_duration(&s.at).map_err(|e| {
                format!(
                    "step {}: `at` = `{}` is not a duration like \"500ms\" or \"2s\" ({e})",
                    i + 1,
                    s.at
                )
            })?;
            let change: Change = s
                .state
                .parse()
                .map_err(|e| format!("step {}: {e}", i + 1))?;
            Ok(Step::new(at, change))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Schedule::new(steps).map_err(|e| e.to_string())
}

async fn handle(control: &Control, req: Request<Incoming>) -> HttpResponse {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    match (method.clone(), path.as_str()) {
        (Method::GET, "/state") => state_json(control),
        (Method::PUT, "/state") => match body::<StateBody>(req, r#"{"state": "refuse"}"#).await {
            Err(response) => response,
            Ok(b) => match b.state.parse::<ImdsState>() {
                Err(e) => bad_request(e),
                Ok(state) => in_force(control, control.set_state(state).await),
            },
        },
        (Method::POST, "/faults") => {
            match body::<FaultBody>(req, r#"{"fault": "status(403) on token"}"#).await {
                Err(response) => response,
                Ok(b) => match b.fault.parse::<Change>() {
                    Err(e) => bad_request(e),
                    Ok(change) => in_force(control, control.apply(change).await),
                },
            }
        }
        (Method::DELETE, "/faults") => in_force(control, control.apply(Change::Up).await),
        (Method::DELETE, p) if p.starts_with("/faults/") => {
            let text = percent_decode(&p["/faults/".len()..]);
            match text.parse::<Target>() {
                Err(e) => bad_request(format!(
                    "{e}; expected listener, token, credentials or path(GLOB)"
                )),
                Ok(target) => in_force(control, control.apply(Change::Clear(target)).await),
            }
        }
        (Method::POST, "/schedule") => {
            match body::<ScheduleBody>(
                req,
                r#"{"steps": [{"at": "0s", "state": "refuse"}, {"at": "5s", "state": "up"}]}"#,
            )
            .await
            {
                Err(response) => response,
                Ok(b) => match schedule_of(b.steps) {
                    Err(e) => bad_request(e),
                    Ok(schedule) => {
                        let n = schedule.steps().len();
                        control.run_schedule(schedule);
                        json_response(StatusCode::OK, &json!({ "steps": n }))
                    }
                },
            }
        }
        (Method::DELETE, "/schedule") => {
            control.stop_schedule();
            state_json(control)
        }
        (Method::GET, "/events") => {
            let since = req
                .uri()
                .query()
                .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "since_ms"))
                .map(|(_, v)| v.parse::<f64>());
            match since {
                Some(Err(_)) => bad_request("since_ms must be a number of milliseconds"),
                Some(Ok(ms)) if !(ms.is_finite() && ms >= 0.0) => {
                    bad_request("since_ms must be a number of milliseconds")
                }
                since => {
                    let since =
                        Duration::from_secs_f64(since.and_then(Result::ok).unwrap_or(0.0) / 1000.0);
                    let events = control.events_since(since);
                    // Straight to bytes: a `Value` tree of a million events costs
                    // gigabytes; the encoded array is a few hundred bytes per event.
                    match serde_json::to_vec(&events) {
                        Ok(bytes) => ec2_http::with_body(
                            StatusCode::OK,
                            "application/json",
                            Bytes::from(bytes),
                        ),
                        Err(e) => json_response(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            &json!({ "error": format!("cannot encode the events: {e}") }),
                        ),
                    }
                }
            }
        }
        (Method::POST, "/reset") => {
            control.stop_schedule();
            in_force(control, control.apply(Change::Up).await)
        }
        (_, "/state" | "/faults" | "/schedule" | "/events" | "/reset") => json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({ "error": format!("{method} is not allowed on {path}") }),
        ),
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({ "error": format!("no such control endpoint {path}; see GET /state, POST /faults, DELETE /faults, POST /schedule, GET /events, POST /reset") }),
        ),
    }
}

/// The state after a transition, or 500 with why it could not be put in force.
fn in_force(control: &Control, done: Result<(), crate::handle::TransitionError>) -> HttpResponse {
    match done {
        Ok(()) => state_json(control),
        Err(e) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({ "error": e.to_string() }),
        ),
    }
}

fn percent_decode(text: &str) -> String {
    form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
