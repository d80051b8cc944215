//! The body layer's interpreter: what a body fault does to the response on its way out.
//! Each body fault a request meets applies once, content faults before wire faults.

use http::{header, HeaderValue};

use super::catalogue::view::Body;
use crate::ec2_http::{self, HttpResponse};

/// When a body fault applies: to the content, or to how it goes on the wire (after every
/// content fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Changes what the body says.
    Content,
    /// Changes how the body is sent.
    Wire,
}

/// The stage `fault` applies at, and how it changes the response.
pub(crate) fn interpret(fault: &Body) -> (Stage, fn(HttpResponse) -> HttpResponse) {
    match fault {
        Body::Truncate => (Stage::Wire, truncated),
        Body::MalformedJson => (Stage::Content, malformed),
        Body::EmptyBody => (Stage::Content, emptied),
        Body::BinaryBody => (Stage::Content, binary),
    }
}

/// True when `fault` changes `response` (what a counted body fault counts): `truncate`
/// cuts any body, `malformed-json` only a JSON one.
pub(crate) fn acts_on(fault: &Body, response: &HttpResponse) -> bool {
    match fault {
        Body::Truncate => true,
        Body::MalformedJson => response.body().bytes().starts_with(b"{"),
        Body::EmptyBody => !response.body().bytes().is_empty(),
        Body::BinaryBody => true,
    }
}

/// The same answer with an empty body.
fn emptied(response: HttpResponse) -> HttpResponse {
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    http::Response::from_parts(parts, ec2_http::Body::full(bytes::Bytes::new()))
}

/// The same answer with [`super::catalogue::BINARY_BODY`] as its body.
fn binary(response: HttpResponse) -> HttpResponse {
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    http::Response::from_parts(
        parts,
        ec2_http::Body::full(bytes::Bytes::from_static(super::catalogue::BINARY_BODY)),
    )
}

/// Cuts a JSON body (one that starts with `{`) to two thirds and drops any closing
/// brace, so it no longer parses; other bodies (listings, tokens) are left alone.
fn malformed(response: HttpResponse) -> HttpResponse {
    let body = response.body().bytes();
    if !body.starts_with(b"{") {
        return response;
    }
    let mut cut = body.slice(..body.len() * 2 / 3).to_vec();
    while cut
        .last()
        .is_some_and(|b| *b == b'}' || b.is_ascii_whitespace())
    {
        cut.pop();
    }
    let (parts, _) = response.into_parts();
    http::Response::from_parts(parts, ec2_http::Body::full(cut))
}

/// Declares the full length but carries half the body: hyper sends what there is and
/// closes the connection, so the client reads a short body.
fn truncated(response: HttpResponse) -> HttpResponse {
    let body = response.body().bytes();
    let (mut parts, _) = response.into_parts();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    http::Response::from_parts(parts, ec2_http::Body::cut(body.slice(..body.len() / 2)))
}
