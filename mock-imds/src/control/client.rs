//! [`ControlClient`]: the control API from Rust, over one kept-alive connection (opened
//! on first use, and again after it closes). `mock-imds ctl`, `mock-imds load` and the
//! tests use it.

use std::fmt::Display;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::wire::{
    ClockAnswer, ClockRequest, ErrorAnswer, FaultRequest, NoticeAnswer, NoticeRequest,
    RotateAnswer, ScheduleAnswer, ScheduleRequest, StateAnswer, StateRequest, StepRequest,
};
use crate::events::Event;
use crate::schedule::Schedule;

/// A control API call that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ControlClientError {
    /// No connection could be made (is the mock running? is that the control port?).
    #[error("cannot reach the control API on {addr}: {source}")]
    Connect {
        /// The control API's address.
        addr: SocketAddr,
        /// The connect error.
        #[source]
        source: std::io::Error,
    },
    /// The connection failed during the call.
    #[error("control API on {addr}: {source}")]
    Http {
        /// The control API's address.
        addr: SocketAddr,
        /// The HTTP error.
        #[source]
        source: hyper::Error,
    },
    /// The control API answered with an error (its `error` message, or the body).
    #[error("{message}")]
    Api {
        /// The HTTP status (400 bad input, 404, 405, 500 a change not put in force).
        status: u16,
        /// What the control API said.
        message: String,
    },
    /// Something answered on that port, but not a mock-imds control API (no
    /// [`super::wire::CONTROL_HEADER`]): the IMDS or STS port, or another server.
    #[error("{addr} answered HTTP {status}{server}, but it is not a mock-imds control API: is that the IMDS or STS port? `mock-imds serve` prints the control port on its `control endpoint:` line (default 1340)")]
    NotControlApi {
        /// The address asked.
        addr: SocketAddr,
        /// The status it answered with.
        status: u16,
        /// ` (Server: …)` when it named itself, else empty.
        server: String,
    },
    /// The request could not be built (a path with characters a URI cannot hold).
    #[error("not a valid control request: {0}")]
    Request(#[from] http::Error),
    /// The answer was not the JSON expected.
    #[error("the control API's answer is not the JSON expected: {0}")]
    Decode(#[from] serde_json::Error),
}

/// A client of one mock's control API (`http://ADDR`, loopback). Calls take turns on one
/// kept-alive connection.
#[derive(Debug)]
pub struct ControlClient {
    addr: SocketAddr,
    connection: tokio::sync::Mutex<Option<SendRequest<Full<Bytes>>>>,
}

impl ControlClient {
    /// A client of the control API at `addr` (no connection is made yet).
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            connection: tokio::sync::Mutex::new(None),
        }
    }

    /// A client of the control API at `endpoint`, a URL such as
    /// [`crate::MockImds::control_endpoint`] returns (`http://127.0.0.1:PORT`).
    ///
    /// # Errors
    /// When `endpoint` is not `http://IP:PORT`.
    pub fn for_endpoint(endpoint: &str) -> Result<Self, std::net::AddrParseError> {
        let addr = endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()?;
        Ok(Self::new(addr))
    }

    /// The control API's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// One request: `method path` with `body` (JSON) if given; the status and body of the
    /// answer, whatever the status.
    ///
    /// # Errors
    /// [`ControlClientError::Connect`] or [`ControlClientError::Http`].
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<(StatusCode, Bytes), ControlClientError> {
        let body = match body {
            Some(body) => Bytes::from(serde_json::to_vec(body)?),
            None => Bytes::new(),
        };
        self.send(method, path, body).await
    }

    /// One request with `body` as it is (sent as `application/json`, whatever it holds):
    /// the status and body of the answer, whatever the status.
    ///
    /// # Errors
    /// As [`Self::call`].
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), ControlClientError> {
        let http = |source| ControlClientError::Http {
            addr: self.addr,
            source,
        };
        let mut connection = self.connection.lock().await;
        let sender = match connection.as_mut() {
            Some(sender) if !sender.is_closed() => sender,
            _ => connection.insert(self.connect().await?),
        };
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, self.addr.to_string())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))?;
        let answer = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            let ours = response.headers().contains_key(super::wire::CONTROL_HEADER);
            let server = response
                .headers()
                .get(http::header::SERVER)
                .and_then(|v| v.to_str().ok())
                .map_or(String::new(), |v| format!(" (Server: {v})"));
            let bytes = response.into_body().collect().await?.to_bytes();
            Ok((status, bytes, ours, server))
        }
        .await;
        if answer.is_err() {
            connection.take();
        }
        let (status, bytes, ours, server) = answer.map_err(http)?;
        if !ours {
            connection.take();
            return Err(ControlClientError::NotControlApi {
                addr: self.addr,
                status: status.as_u16(),
                server,
            });
        }
        Ok((status, bytes))
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, ControlClientError> {
        let connect = |source| ControlClientError::Connect {
            addr: self.addr,
            source,
        };
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(connect)?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| connect(std::io::Error::other(e)))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// A call whose success answer is `T`.
    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, ControlClientError> {
        let (status, bytes) = self.call(method, path, body).await?;
        if !status.is_success() {
            let message = serde_json::from_slice::<ErrorAnswer>(&bytes)
                .map(|a| a.error)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
            return Err(ControlClientError::Api {
                status: status.as_u16(),
                message,
            });
        }
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// `GET /state`: the state and the event counts.
    ///
    /// # Errors
    /// As [`Self::call`], or the API's error.
    pub async fn state(&self) -> Result<StateAnswer, ControlClientError> {
        self.json(Method::GET, "/state", None::<&()>).await
    }

    /// `PUT /state`: replaces the whole state (`up`, or specs joined by `;`).
    ///
    /// # Errors
    /// As [`Self::state`]; [`ControlClientError::Api`] (400) for a state that does not parse.
    pub async fn set_state(&self, state: impl Display) -> Result<StateAnswer, ControlClientError> {
        let body = StateRequest {
            state: state.to_string(),
        };
        self.json(Method::PUT, "/state", Some(&body)).await
    }

    /// `POST /faults`: sets one fault (`status(403) on token`) or applies `up on TARGET`.
    ///
    /// # Errors
    /// As [`Self::set_state`].
    pub async fn inject(&self, fault: impl Display) -> Result<StateAnswer, ControlClientError> {
        let body = FaultRequest {
            fault: fault.to_string(),
        };
        self.json(Method::POST, "/faults", Some(&body)).await
    }

    /// `DELETE /faults/TARGET`: lifts the fault on one target.
    ///
    /// # Errors
    /// As [`Self::set_state`].
    pub async fn lift(&self, target: impl Display) -> Result<StateAnswer, ControlClientError> {
        let target = target.to_string();
        let path = format!("/faults/{}", utf8_percent_encode(&target, NON_ALPHANUMERIC));
        self.json(Method::DELETE, &path, None::<&()>).await
    }

    /// `DELETE /faults`: lifts every fault (up).
    ///
    /// # Errors
    /// As [`Self::state`].
    pub async fn recover(&self) -> Result<StateAnswer, ControlClientError> {
        self.json(Method::DELETE, "/faults", None::<&()>).await
    }

    /// `POST /schedule`: runs `schedule` from now (each step's time in whole
    /// milliseconds), replacing the running one.
    ///
    /// # Errors
    /// As [`Self::set_state`].
    pub async fn run_schedule(
        &self,
        schedule: &Schedule,
    ) -> Result<ScheduleAnswer, ControlClientError> {
        let body = ScheduleRequest {
            steps: schedule
                .steps()
                .iter()
                .map(|s| StepRequest {
                    at: format!("{}ms", s.at.as_millis()),
                    state: s.state().map(ToString::to_string),
                    clock: s.change.clock.map(|by| by.to_string()),
                    rotate: s.change.rotate,
                    notice: s.change.notice.as_ref().map(ToString::to_string),
                    rotate_token: s.change.rotate_token,
                })
                .collect(),
        };
        self.json(Method::POST, "/schedule", Some(&body)).await
    }

    /// `GET /clock`: the virtual wall clock's time and offset.
    ///
    /// # Errors
    /// As [`Self::state`].
    pub async fn clock(&self) -> Result<ClockAnswer, ControlClientError> {
        self.json(Method::GET, "/clock", None::<&()>).await
    }

    /// `POST /clock`: jumps the virtual wall clock by `by` (`+5h52m`, `-10m`); the clock
    /// after the jump.
    ///
    /// # Errors
    /// [`ControlClientError::Api`] (400) when `by` is not a signed duration, or the jump
    /// would move the clock more than 100 years; else as [`Self::state`].
    pub async fn jump_clock(&self, by: impl Display) -> Result<ClockAnswer, ControlClientError> {
        let body = ClockRequest { by: by.to_string() };
        self.json(Method::POST, "/clock", Some(&body)).await
    }

    /// `POST /rotate`: replaces the credentials now; the new key and its expiry.
    ///
    /// # Errors
    /// [`ControlClientError::Api`] (400) when the instance has no role; else as
    /// [`Self::state`].
    pub async fn rotate(&self) -> Result<RotateAnswer, ControlClientError> {
        self.json(Method::POST, "/rotate", None::<&()>).await
    }

    /// `GET /sts/sessions`: the role sessions the fake STS issued on `AssumeRole`, oldest
    /// first.
    ///
    /// # Errors
    /// As [`Self::state`].
    pub async fn sts_sessions(
        &self,
    ) -> Result<Vec<super::wire::StsSessionAnswer>, ControlClientError> {
        self.json(Method::GET, "/sts/sessions", None::<&()>).await
    }

    /// `GET /token-ttl-header`: what the token answer's TTL header says.
    ///
    /// # Errors
    /// As [`Self::state`].
    pub async fn token_ttl_header(&self) -> Result<crate::TokenTtlHeader, ControlClientError> {
        let answer: super::wire::TokenTtlHeaderBody = self
            .json(Method::GET, "/token-ttl-header", None::<&()>)
            .await?;
        Ok(answer.token_ttl_header)
    }

    /// `PUT /token-ttl-header`: sets what the token answer's TTL header says, from the
    /// next token on; the mode in force.
    ///
    /// # Errors
    /// As [`Self::state`].
    pub async fn set_token_ttl_header(
        &self,
        mode: crate::TokenTtlHeader,
    ) -> Result<crate::TokenTtlHeader, ControlClientError> {
        let body = super::wire::TokenTtlHeaderBody {
            token_ttl_header: mode,
        };
        let answer: super::wire::TokenTtlHeaderBody = self
            .json(Method::PUT, "/token-ttl-header", Some(&body))
            .await?;
        Ok(answer.token_ttl_header)
    }

    /// `POST /notice`: posts a notice (`spot-interruption(terminate, 2m)`, `rebalance`,
    /// `maintenance(system-reboot, 1h)`, `lifecycle(Terminated)`, `clear`); the notice
    /// as parsed and its time on the virtual clock.
    ///
    /// # Errors
    /// [`ControlClientError::Api`] (400) when `notice` does not parse; else as
    /// [`Self::state`].
    pub async fn post_notice(&self, notice: &str) -> Result<NoticeAnswer, ControlClientError> {
        let body = NoticeRequest {
            notice: notice.to_string(),
        };
        self.json(Method::POST, "/notice", Some(&body)).await
    }

    /// `POST /rotate-token`: writes a new Pod Identity service-account token over the
    /// token file, as the kubelet does; the file and the new token's expiry.
    ///
    /// # Errors
    /// [`ControlClientError::Api`] (400) when the mock serves no container endpoints;
    /// else as [`Self::state`].
    pub async fn rotate_token(
        &self,
    ) -> Result<crate::control::wire::RotateTokenAnswer, ControlClientError> {
        self.json(Method::POST, "/rotate-token", None::<&()>).await
    }

    /// `DELETE /schedule`: stops the running schedule.
    ///
    /// # Errors
    /// As [`Self::state`].
    pub async fn stop_schedule(&self) -> Result<StateAnswer, ControlClientError> {
        self.json(Method::DELETE, "/schedule", None::<&()>).await
    }

    /// `POST /reset`: stops the schedule and lifts every fault.
    ///
    /// # Errors
    /// As [`Self::state`].
    pub async fn reset(&self) -> Result<StateAnswer, ControlClientError> {
        self.json(Method::POST, "/reset", None::<&()>).await
    }

    /// `GET /events?since_ms=N`: the events at or after `since_ms` on the mock's clock,
    /// as JSON values (as the API sent them).
    ///
    /// # Errors
    /// As [`Self::state`].
    pub async fn events_json(
        &self,
        since_ms: f64,
    ) -> Result<Vec<serde_json::Value>, ControlClientError> {
        let path = format!("/events?since_ms={since_ms}");
        self.json(Method::GET, &path, None::<&()>).await
    }

    /// `GET /events?since_ms=N`, as [`Event`]s.
    ///
    /// # Errors
    /// As [`Self::state`].
    pub async fn events(&self, since_ms: f64) -> Result<Vec<Event>, ControlClientError> {
        let path = format!("/events?since_ms={since_ms}");
        self.json(Method::GET, &path, None::<&()>).await
    }
}
