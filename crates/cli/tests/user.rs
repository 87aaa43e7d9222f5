//! `civmap user`: accounts from the command line, the password read from standard input.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use civmap_app::accounts::passwords::verify_password;
use civmap_app::accounts::secrets::token_hash;
use civmap_store::{SessionKind, Store, StoreOptions};

/// Runs `civmap ARGS --db DB` with `stdin` as standard input.
fn civmap(db: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_civmap"))
        .args(args)
        .args(["--db", db])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn ok(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "failed: {err}");
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn failed(out: &Output) -> String {
    assert!(!out.status.success(), "should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn store(db: &str) -> (tokio::runtime::Runtime, Store) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt
        .block_on(Store::open(db, StoreOptions::default()))
        .unwrap();
    (rt, s)
}

#[test]
fn user_add_reads_the_password_from_stdin_and_the_rest_works() {
    let dir = std::env::temp_dir().join(format!("civmap-user-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}", dir.join("users.db").display());

    // The first admin: no default password anywhere, it comes from standard input.
    let id = ok(&civmap(
        &db,
        &["user", "add", "admin", "--role", "admin"],
        "s3cret-admin-pw\r\n",
    ));
    let id = id.trim().to_owned();
    assert_eq!(id.len(), 36, "prints the new id: {id}");
    // No password, a weak one, a taken name, an unknown role or zone: refused, nothing stored.
    let e = failed(&civmap(
        &db,
        &["user", "add", "li", "--role", "reporter"],
        "",
    ));
    assert!(e.contains("standard input"), "{e}");
    let e = failed(&civmap(
        &db,
        &["user", "add", "li", "--role", "reporter"],
        "short\n",
    ));
    assert!(e.contains("password") && e.contains('8'), "{e}");
    let e = failed(&civmap(
        &db,
        &["user", "add", "admin", "--role", "reporter"],
        "another-password\n",
    ));
    assert!(e.contains("taken"), "{e}");
    let e = failed(&civmap(
        &db,
        &["user", "add", "li", "--role", "king"],
        "another-password\n",
    ));
    assert!(e.contains("road_chief"), "names the roles: {e}");
    let e = failed(&civmap(
        &db,
        &[
            "user",
            "add",
            "li",
            "--role",
            "road_chief",
            "--zone",
            "road:nowhere",
        ],
        "another-password\n",
    ));
    assert!(e.contains("road:nowhere"), "{e}");

    let list = ok(&civmap(&db, &["user", "list"], ""));
    assert!(list.contains("admin\tadmin\tactive"), "{list}");
    assert!(!list.contains("\nli\t"), "nothing half-created: {list}");

    let (rt, s) = store(&db);
    let admin = rt.block_on(s.user_by_name("admin")).unwrap().unwrap();
    assert_eq!(admin.id.to_string(), id);
    assert!(admin.password_hash.starts_with("$argon2id$"));
    assert!(
        verify_password(&admin.password_hash, "s3cret-admin-pw"),
        "CR LF stripped"
    );
    assert!(!verify_password(&admin.password_hash, "s3cret-admin-pw\r"));
    rt.block_on(s.close());
    drop(rt);

    // A token for scripts: printed once, stored as a hash.
    let token = ok(&civmap(&db, &["user", "token", "admin", "--days", "7"], ""));
    let token = token.trim().to_owned();
    assert!(token.starts_with("cmt_"), "{token}");
    // Reset the password: the new one works, the old one does not, the token is revoked.
    ok(&civmap(
        &db,
        &["user", "reset-password", "admin"],
        "new-admin-password\n",
    ));
    let (rt, s) = store(&db);
    let admin = rt.block_on(s.user_by_name("admin")).unwrap().unwrap();
    assert!(verify_password(&admin.password_hash, "new-admin-password"));
    assert!(!verify_password(&admin.password_hash, "s3cret-admin-pw"));
    let t = rt
        .block_on(s.session_by_token_hash(&token_hash(&token)))
        .unwrap()
        .unwrap();
    assert_eq!((t.kind, t.revoked), (SessionKind::ApiToken, true));
    rt.block_on(s.close());
    drop(rt);

    ok(&civmap(&db, &["user", "disable", "admin"], ""));
    let list = ok(&civmap(&db, &["user", "list"], ""));
    assert!(list.contains("admin\tadmin\tdisabled"), "{list}");
    let e = failed(&civmap(&db, &["user", "token", "admin"], ""));
    assert!(e.contains("disabled"), "{e}");
    ok(&civmap(&db, &["user", "enable", "admin"], ""));
    let list = ok(&civmap(&db, &["user", "list"], ""));
    assert!(list.contains("admin\tadmin\tactive"), "{list}");
    let e = failed(&civmap(&db, &["user", "disable", "nobody"], ""));
    assert!(e.contains("nobody"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
