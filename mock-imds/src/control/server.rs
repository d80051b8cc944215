//! The control API's server: one route per endpoint (see [`crate::control`]), each a
//! function that answers or fails with a [`ControlError`], which knows its status.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::wire::{
    ClockAnswer, ClockRequest, ErrorAnswer, FaultRequest, NoticeAnswer, NoticeRequest,
    RotateAnswer, ScheduleAnswer, ScheduleRequest, StateAnswer, StateRequest, StepRequest,
    StsSessionAnswer, TokenTtlHeaderBody, CONTROL_HEADER, MAX_BODY,
};
use crate::clock::SignedDuration;
use crate::credentials::ec2_time;
use crate::ec2_http::{self, HttpResponse};
use crate::fault::{Change, ImdsState, Target};
use crate::listener::Handler;
use crate::schedule::{Schedule, Step, StepChange};
use crate::sts::SessionStore;
use crate::switch::{Switch, TransitionError};

/// Why a control request failed; each maps to its status and an `{"error": "…"}` body.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ControlError {
    /// The request is wrong: 400, saying what is accepted.
    #[error("{0}")]
    BadRequest(String),
    /// No such endpoint: 404.
    #[error("no such control endpoint {0}; see GET /state, POST /faults, DELETE /faults, POST /schedule, GET /events, POST /reset, GET /clock, POST /clock, POST /rotate, POST /rotate-token, GET/PUT /token-ttl-header, POST /notice, GET /sts/sessions")]
    NotFound(String),
    /// The endpoint does not take this method: 405.
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed {
        /// The method asked for.
        method: Method,
        /// The endpoint.
        path: String,
    },
    /// The change could not be put in force: 500.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The answer could not be encoded: 500.
    #[error("cannot encode the events: {0}")]
    Encode(serde_json::Error),
    /// The mock could not do what was asked (a token file not written): 500.
    #[error("{0}")]
    Internal(String),
}

impl ControlError {
    fn status(&self) -> StatusCode {
        match self {
            ControlError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ControlError::NotFound(_) => StatusCode::NOT_FOUND,
            ControlError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ControlError::Transition(_) | ControlError::Encode(_) | ControlError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn into_response(self) -> HttpResponse {
        json(
            self.status(),
            &ErrorAnswer {
                error: self.to_string(),
            },
        )
    }
}

fn bad(message: impl std::fmt::Display) -> ControlError {
    ControlError::BadRequest(message.to_string())
}

/// What the control API acts on: the mock's switch, the seed it reports, and the
/// sessions the fake STS issued.
#[derive(Debug)]
struct Control {
    switch: Arc<Switch>,
    seed: u64,
    sessions: Arc<SessionStore>,
}

/// The control API for the mock behind `switch` (and its STS's `sessions`), as a
/// listener handler.
pub(crate) fn handler(switch: Arc<Switch>, seed: u64, sessions: Arc<SessionStore>) -> Handler {
    let control = Arc::new(Control {
        switch,
        seed,
        sessions,
    });
    Arc::new(move |req, _| {
        let control = control.clone();
        Box::pin(async move {
            let mut answer = route(&control, req)
                .await
                .unwrap_or_else(ControlError::into_response);
            answer
                .headers_mut()
                .insert(CONTROL_HEADER, http::HeaderValue::from_static("1"));
            Ok(answer)
        })
    })
}

fn json(status: StatusCode, value: &impl Serialize) -> HttpResponse {
    // Straight to bytes: a `Value` tree of a million events costs gigabytes; the encoded
    // array is a few hundred bytes per event.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    ec2_http::with_body(status, "application/json", Bytes::from(bytes))
}

async fn body<T: DeserializeOwned>(req: Request<Incoming>, shape: &str) -> Result<T, ControlError> {
    let bytes = Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| bad(format!("cannot read the request body: {e}")))?
        .to_bytes();
    serde_json::from_slice(&bytes)
        .map_err(|e| bad(format!("the body must be JSON like {shape}: {e}")))
}

async fn route(control: &Control, req: Request<Incoming>) -> Result<HttpResponse, ControlError> {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let switch = &control.switch;
    match (&method, path.as_str()) {
        (&Method::GET, "/state") => Ok(control.state()),
        (&Method::PUT, "/state") => {
            let b: StateRequest = body(req, r#"{"state": "refuse"}"#).await?;
            let state: ImdsState = b.state.parse().map_err(bad)?;
            switch.set_state(state).await?;
            Ok(control.state())
        }
        (&Method::POST, "/faults") => {
            let b: FaultRequest = body(req, r#"{"fault": "status(403) on token"}"#).await?;
            let change: Change = b.fault.parse().map_err(bad)?;
            switch.apply(&change).await?;
            Ok(control.state())
        }
        (&Method::DELETE, "/faults") => {
            switch.apply(&Change::Up).await?;
            Ok(control.state())
        }
        (&Method::DELETE, p) if p.starts_with("/faults/") => {
            let text = percent_encoding::percent_decode_str(&p["/faults/".len()..])
                .decode_utf8_lossy()
                .into_owned();
            let target: Target = text.parse().map_err(|e| {
                bad(format!(
                    "{e}; expected listener, token, credentials or path(GLOB)"
                ))
            })?;
            switch.apply(&Change::Clear(target)).await?;
            Ok(control.state())
        }
        (&Method::POST, "/schedule") => {
            let b: ScheduleRequest = body(
                req,
                r#"{"steps": [{"at": "0s", "state": "refuse"}, {"at": "5s", "state": "up"}]}"#,
            )
            .await?;
            let schedule = schedule_of(b.steps).map_err(bad)?;
            let steps = schedule.steps().len();
            switch.run_schedule(schedule, tokio::time::Instant::now(), false);
            Ok(json(StatusCode::OK, &ScheduleAnswer { steps }))
        }
        (&Method::DELETE, "/schedule") => {
            let _ = switch.stop_schedule();
            Ok(control.state())
        }
        (&Method::GET, "/events") => {
            let since = req
                .uri()
                .query()
                .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "since_ms"))
                .map(|(_, v)| v.parse::<f64>());
            let since_ms = match since {
                None => 0.0,
                Some(Ok(ms)) if ms.is_finite() && ms >= 0.0 => ms,
                Some(_) => return Err(bad("since_ms must be a number of milliseconds")),
            };
            let since = Duration::from_secs_f64(since_ms / 1000.0);
            let events: Vec<_> = switch
                .events()
                .snapshot()
                .into_iter()
                .filter(|e| e.at >= since)
                .collect();
            let bytes = serde_json::to_vec(&events).map_err(ControlError::Encode)?;
            Ok(ec2_http::with_body(
                StatusCode::OK,
                "application/json",
                Bytes::from(bytes),
            ))
        }
        (&Method::POST, "/reset") => {
            let _ = switch.stop_schedule();
            switch.apply(&Change::Up).await?;
            Ok(control.state())
        }
        (&Method::GET, "/token-ttl-header") => Ok(json(
            StatusCode::OK,
            &TokenTtlHeaderBody {
                token_ttl_header: switch.token_ttl_header(),
            },
        )),
        (&Method::PUT, "/token-ttl-header") => {
            let b: TokenTtlHeaderBody = body(req, r#"{"token_ttl_header": "absent"}"#).await?;
            switch.set_token_ttl_header(b.token_ttl_header);
            Ok(json(StatusCode::OK, &b))
        }
        (&Method::GET, "/sts/sessions") => {
            let sessions: Vec<StsSessionAnswer> = control
                .sessions
                .all()
                .iter()
                .map(|s| StsSessionAnswer {
                    access_key_id: s.credentials.access_key_id.clone(),
                    expiration: ec2_time(s.credentials.expiration),
                    role_arn: s.role_arn.clone(),
                    session_name: s.session_name.clone(),
                    arn: s.arn.clone(),
                    assumed_role_id: s.assumed_role_id.clone(),
                    source_access_key_id: s.source_access_key_id.clone(),
                })
                .collect();
            Ok(json(StatusCode::OK, &sessions))
        }
        (&Method::GET, "/clock") => Ok(control.clock()),
        (&Method::POST, "/clock") => {
            let b: ClockRequest = body(req, r#"{"by": "+5h52m"}"#).await?;
            let by: SignedDuration = b.by.parse().map_err(bad)?;
            switch.jump_clock(None, by).map_err(bad)?;
            Ok(control.clock())
        }
        (&Method::POST, "/rotate") => {
            empty_body(req, "POST /rotate").await?;
            let creds = switch.rotate(None).ok_or_else(|| {
                bad("the instance has no role, so there are no credentials to rotate")
            })?;
            Ok(json(
                StatusCode::OK,
                &RotateAnswer {
                    access_key_id: creds.access_key_id.clone(),
                    expiration: ec2_time(creds.expiration),
                },
            ))
        }
        (&Method::POST, "/notice") => {
            let b: NoticeRequest =
                body(req, r#"{"notice": "spot-interruption(terminate, 2m)"}"#).await?;
            let notice: crate::notice::Notice = b.notice.parse().map_err(bad)?;
            let at = switch.post_notice(None, &notice);
            Ok(json(
                StatusCode::OK,
                &NoticeAnswer {
                    notice: notice.to_string(),
                    time: ec2_time(at),
                },
            ))
        }
        (&Method::POST, "/rotate-token") => {
            empty_body(req, "POST /rotate-token").await?;
            let token = switch
                .rotate_token(None)
                .ok_or_else(|| bad("the mock serves no container endpoints, so there is no token file to rotate"))?
                .map_err(|e| ControlError::Internal(format!("writing the token file: {e}")))?;
            let file = switch
                .container()
                .map(|(_, files)| files.pod_identity_token_path().display().to_string())
                .unwrap_or_default();
            Ok(json(
                StatusCode::OK,
                &crate::control::wire::RotateTokenAnswer {
                    token_file: file,
                    expires_at: ec2_time(token.expires_at),
                },
            ))
        }
        (
            _,
            "/state" | "/faults" | "/schedule" | "/events" | "/reset" | "/clock" | "/rotate"
            | "/notice" | "/rotate-token" | "/sts/sessions",
        ) => Err(ControlError::MethodNotAllowed { method, path }),
        _ => Err(ControlError::NotFound(path)),
    }
}

/// Reads a body that must be empty or `{}`.
async fn empty_body(req: Request<Incoming>, what: &str) -> Result<(), ControlError> {
    let bytes = Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| bad(format!("cannot read the request body: {e}")))?
        .to_bytes();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(map)) if map.is_empty() => Ok(()),
        _ => Err(bad(format!(
            "{what} takes no parameters: send an empty body or {{}}"
        ))),
    }
}

impl Control {
    /// `GET /clock`'s answer.
    fn clock(&self) -> HttpResponse {
        let clock = self.switch.clock();
        json(
            StatusCode::OK,
            &ClockAnswer {
                now: clock
                    .now()
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                offset_ms: clock.offset().as_millis(),
            },
        )
    }

    /// `GET /state`'s answer.
    fn state(&self) -> HttpResponse {
        let state = self.switch.state();
        let log = self.switch.events();
        json(
            StatusCode::OK,
            &StateAnswer {
                events_dropped: log.dropped(),
                events_recorded: log.recorded(),
                imds_requests_recorded: log.imds_requests_recorded(),
                schedule_running: self.switch.schedule_running(),
                seed: self.seed,
                state: state.to_string(),
                up: state.is_up(),
            },
        )
    }
}

/// Parses `{"steps": [{"at": "0s", "state": "refuse"}, {"at": "1s", "clock": "+5h52m",
/// "rotate": true}, …]}` into a schedule.
fn schedule_of(steps: Vec<StepRequest>) -> Result<Schedule, String> {
    let steps = steps
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let at = crate::bounds::parse_bounded_duration(&s.at)
                .map_err(|why| format!("step {}: `at`: {why}", i + 1))?;
            let state = match &s.state {
                None => None,
                Some(text) => Some(
                    text.parse::<Change>()
                        .map_err(|e| format!("step {}: {e}", i + 1))?,
                ),
            };
            let clock = match &s.clock {
                None => None,
                Some(text) => Some(
                    text.parse::<SignedDuration>()
                        .map_err(|e| format!("step {}: `clock`: {e}", i + 1))?,
                ),
            };
            let notice = match &s.notice {
                None => None,
                Some(text) => Some(
                    text.parse::<crate::notice::Notice>()
                        .map_err(|e| format!("step {}: `notice`: {e}", i + 1))?,
                ),
            };
            let change = StepChange {
                state,
                clock,
                rotate: s.rotate,
                notice,
                rotate_token: s.rotate_token,
            };
            if change.is_empty() {
                return Err(format!(
                    "step {}: a step needs `state`, `clock` (a signed jump like \"+5h52m\"), `\"rotate\": true` or `notice`",
                    i + 1
                ));
            }
            Ok(Step::with(at, change))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Schedule::new(steps).map_err(|e| e.to_string())
}
