//! The embedded web POS: `/` is index.html, files by path with their MIME type,
//! never cached, and nothing outside the web folder.

use possync_testkit::*;
use reqwest::Method;
use std::path::Path;

fn web_folder() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web"))
}

#[tokio::test]
async fn the_root_serves_index_html_without_caching() {
    let app = spawn_app().await;
    let response = app
        .send_raw(Method::GET, "/", &Auth::None, &Body::None)
        .await;
    if !web_folder().join("index.html").exists() {
        eprintln!("web/index.html does not exist yet: checking only that / answers 404 JSON");
        assert_eq!(response.status(), 404);
        return;
    }
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let body = response.text().await.unwrap();
    let on_disk = std::fs::read_to_string(web_folder().join("index.html")).unwrap();
    assert_eq!(body, on_disk);
}

#[tokio::test]
async fn files_are_served_by_path_with_their_mime_type() {
    let app = spawn_app().await;
    let names = possync_server::web::file_names();
    assert!(
        !names.iter().any(|name| name.starts_with("tests/")),
        "web/tests is not embedded"
    );
    for (extension, mime_prefix) in [
        (".js", "text/javascript"),
        (".css", "text/css"),
        (".html", "text/html"),
    ] {
        let Some(name) = names.iter().find(|name| name.ends_with(extension)) else {
            continue;
        };
        let response = app
            .send_raw(Method::GET, &format!("/{name}"), &Auth::None, &Body::None)
            .await;
        assert_eq!(response.status(), 200, "{name}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let javascript = extension == ".js" && content_type.starts_with("application/javascript");
        assert!(
            content_type.starts_with(mime_prefix) || javascript,
            "{name}: {content_type}"
        );
        assert_eq!(response.headers()["cache-control"], "no-cache");
    }
}

#[tokio::test]
async fn nothing_outside_the_web_folder_is_served() {
    let app = spawn_app().await;
    for path in [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/js/../../Cargo.toml",
        "/tests/money.test.js",
        "/package.json",
    ] {
        let (status, body) = app.send(Method::GET, path, &Auth::None, &Body::None).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
}
