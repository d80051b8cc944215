//! EC2's response shapes: `text/plain` bodies and the XHTML error page IMDS sends with
//! 4xx/5xx statuses, plus the `Server: EC2ws` header it answers with.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;

/// The response type every handler in this crate produces.
pub type HttpResponse = Response<Full<Bytes>>;

/// The `Server` header EC2's metadata service sends.
pub const SERVER: &str = "EC2ws";

/// A 200 `text/plain` response, as IMDS serves every metadata value (credentials
/// documents included, although they are JSON).
pub fn text(body: impl Into<Bytes>) -> HttpResponse {
    with_body(StatusCode::OK, "text/plain", body.into())
}

/// A response with `status` and a body; `content_type` as given.
pub fn with_body(status: StatusCode, content_type: &'static str, body: Bytes) -> HttpResponse {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::SERVER, HeaderValue::from_static(SERVER));
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
        assert_eq!(r.headers()[header::SERVER], "EC2ws");
    }
}
