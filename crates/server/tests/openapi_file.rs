//! The web front end's API types are generated from `web/openapi.json` (`npm run gen:api`). This
//! test keeps that file equal to the document the server serves, so a change of the API that
//! the page does not know of fails here (and `npm run check` fails when the generated types
//! are not what the file gives).
//!
//! After changing the API: `UPDATE_OPENAPI=1 cargo test -p civmap-server --test integration openapi_file`,
//! then `npm run gen:api` in `web/`, and commit both files.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

fn file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web/openapi.json")
}

#[test]
fn web_openapi_json_is_the_served_document() {
    let served: serde_json::Value =
        serde_json::from_str(&civmap_server::openapi().to_json().unwrap()).unwrap();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        let mut text = serde_json::to_string_pretty(&served).unwrap();
        text.push('\n');
        std::fs::write(file(), text).unwrap();
        return;
    }
    let text = std::fs::read_to_string(file()).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; write it with UPDATE_OPENAPI=1 cargo test -p civmap-server --test integration openapi_file",
            file().display()
        )
    });
    let checked_in: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        checked_in == served,
        "web/openapi.json differs from the server's document: run `UPDATE_OPENAPI=1 cargo test -p civmap-server --test integration openapi_file`, then `npm run gen:api` in web/, and commit both"
    );
}
