//! The document layer's interpreter: what a document fault serves on the role credentials
//! paths (the role listing and the credentials documents). The first document fault a
//! request meets (most specific target first) is the one that counts.

use http::StatusCode;

use super::catalogue::view::Document;
use crate::credentials::{error_document, RoleDocument};
use crate::ec2_http::{self, HttpResponse};

/// The answer `fault` gives a request for a role credentials path, in place of the
/// service's; `None` leaves the service's answer. `document` is the credentials document
/// the path names, `None` for the listing (or a path that names nothing).
pub(crate) fn interpret(
    fault: &Document,
    document: Option<&RoleDocument<'_>>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<HttpResponse> {
    match fault {
        // As if the instance profile had no role: 404 on the listing and the documents.
        Document::NoRole => Some(ec2_http::error_page(StatusCode::NOT_FOUND)),
        Document::ExpiredCredentials => {
            document.map(|doc| ec2_http::text(doc.render(&doc.store.expired(now))))
        }
        Document::ErrorDocument { code } => {
            document.map(|doc| ec2_http::text(error_document(code, doc.store.role_name(), now)))
        }
    }
}
