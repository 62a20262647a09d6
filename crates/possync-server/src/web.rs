//! The web POS, embedded in the binary from the repository's `web/` folder.
//!
//! In a release build the files are inside the executable, so one file is the
//! whole install. In a debug build rust-embed reads them from disk on each
//! request, so editing `web/` needs no rebuild. Every answer says
//! `Cache-Control: no-cache`: a till must never run yesterday's script against
//! today's server.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../../web"]
#[exclude = "tests/*"]
#[exclude = "node_modules/*"]
#[exclude = "package.json"]
#[exclude = "package-lock.json"]
struct WebAssets;

/// The file for a URL path (`/` is `index.html`), or `None` when there is none.
pub fn static_file(url_path: &str) -> Option<Response> {
    let relative = url_path.trim_start_matches('/');
    let relative = if relative.is_empty() || relative.ends_with('/') {
        format!("{relative}index.html")
    } else {
        relative.to_owned()
    };
    if relative
        .split('/')
        .any(|segment| segment == ".." || segment.is_empty())
    {
        return None;
    }
    let file = WebAssets::get(&relative)?;
    let mime = file.metadata.mimetype();
    let content_type = if mime.starts_with("text/") || mime == "application/javascript" {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    let mut response = (StatusCode::OK, Body::from(file.data.into_owned())).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Some(response)
}

/// The embedded file names, sorted (for tests and diagnostics).
pub fn file_names() -> Vec<String> {
    let mut names: Vec<String> = WebAssets::iter().map(|name| name.into_owned()).collect();
    names.sort();
    names
}
