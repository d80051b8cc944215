//! EC2's response shapes: `text/plain` bodies and the XHTML error page IMDS sends with
//! 4xx/5xx statuses, plus the `Server: EC2ws` header it answers with (the IMDS listener
//! adds it to every IMDS answer; STS and the control API send none).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body::{Frame, SizeHint};

/// `s` as a JSON string literal, quotes included: for the documents IMDS writes by hand
/// in EC2's `" : "` layout.
pub fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// The response type every handler in this crate produces.
pub type HttpResponse = Response<Body>;

/// A response body held in memory. Normally its exact size is known (and becomes the
/// `Content-Length`); a *cut* body hides its size so that a `Content-Length` header
/// larger than the data can be sent, for the `truncate` fault.
#[derive(Debug, Default)]
pub struct Body {
    data: Option<Bytes>,
    exact: bool,
    /// For a cut body: a pause after the data, so hyper flushes what it has before it
    /// sees the body end short and closes the connection.
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Body {
    /// A complete body.
    pub fn full(data: impl Into<Bytes>) -> Self {
        Self {
            data: Some(data.into()),
            exact: true,
            pause: None,
        }
    }

    /// A body that does not declare its size (the response's `Content-Length` header
    /// decides what the client expects).
    pub fn cut(data: Bytes) -> Self {
        Self {
            data: Some(data),
            exact: false,
            pause: None,
        }
    }

    /// The bytes, without consuming the body.
    pub fn bytes(&self) -> Bytes {
        self.data.clone().unwrap_or_default()
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(data) = self.data.take().filter(|d| !d.is_empty()) {
            if !self.exact {
                self.pause = Some(Box::pin(tokio::time::sleep(
                    std::time::Duration::from_millis(20),
                )));
            }
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        if let Some(pause) = self.pause.as_mut() {
            if pause.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.pause = None;
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.exact && self.data.as_ref().is_none_or(Bytes::is_empty)
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.data, self.exact) {
            (Some(d), true) => SizeHint::with_exact(d.len() as u64),
            (None, true) => SizeHint::with_exact(0),
            (_, false) => SizeHint::default(),
        }
    }
}

/// The `Server` header EC2's metadata service sends (on IMDS answers only).
pub const SERVER: &str = "EC2ws";

/// A 200 `text/plain` response, as IMDS serves every metadata value (credentials
/// documents included, although they are JSON).
pub fn text(body: impl Into<Bytes>) -> HttpResponse {
    with_body(StatusCode::OK, "text/plain", body.into())
}

/// A response with `status` and a body; `content_type` as given.
pub fn with_body(status: StatusCode, content_type: &'static str, body: Bytes) -> HttpResponse {
    let mut response = Response::new(Body::full(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// EC2's error page for `status`, e.g. `404 - Not Found`, served as `text/html`.
pub fn error_page(status: StatusCode) -> HttpResponse {
    let title = format!(
        "{} - {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n\
<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n\
\t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n\
<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n\
 <head>\n  <title>{title}</title>\n </head>\n <body>\n  <h1>{title}</h1>\n </body>\n</html>\n"
    );
    with_body(status, "text/html", Bytes::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_page_names_status() {
        let r = error_page(StatusCode::NOT_FOUND);
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/html");
        assert!(
            r.headers().get(header::SERVER).is_none(),
            "the IMDS listener adds it"
        );
    }
}
