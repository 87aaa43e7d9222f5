//! Shared set-up of the in-process tests: a fresh SQLite store in a temporary directory, the
//! application over it, and a small request helper for `tower::ServiceExt::oneshot`.
#![allow(dead_code, clippy::unwrap_used, clippy::missing_panics_doc)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use chrono::Utc;
use civmap_app::App as AppState;
use civmap_app::config::{ApiToken, Config};
use civmap_domain::{CategoryTable, Role, User, UserId};
use civmap_store::{Store, StoreOptions};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub const OFFICE_TOKEN: &str = "office-token-0123456789";
pub const CHIEF_TOKEN: &str = "chief-token-0123456789";
pub const OTHER_OFFICE_TOKEN: &str = "office2-token-0123456789";
pub const PUBLIC_TOKEN: &str = "public-token-0123456789";

pub struct TestApp {
    pub app: Router,
    pub state: AppState,
    pub store: Store,
    pub office: UserId,
    pub other_office: UserId,
    pub chief: UserId,
    pub dir: tempfile::TempDir,
}

fn user(name: &str, role: Role) -> User {
    User {
        id: UserId::new(),
        name: name.to_owned(),
        display_name: name.to_owned(),
        role,
        street: None,
        password_hash: String::new(),
        disabled: false,
        created_at: Utc::now(),
    }
}

/// A fresh application; `tune` may change the configuration before the state is loaded.
pub async fn setup_with(tune: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("civmap.db");
    let store = Store::open(
        &format!("sqlite://{}", db.display()),
        StoreOptions {
            synchronous_full: false,
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap();
    let office = user("office", Role::StreetOffice);
    let other = user("office2", Role::StreetOffice);
    let chief = user("chief", Role::RoadChief);
    for u in [&office, &other, &chief] {
        store.create_user(u).await.unwrap();
    }
    let mut config = Config {
        api_tokens: vec![
            ApiToken {
                token: OFFICE_TOKEN.into(),
                role: Role::StreetOffice,
                user: Some(office.id),
                name: "office".into(),
            },
            ApiToken {
                token: OTHER_OFFICE_TOKEN.into(),
                role: Role::StreetOffice,
                user: Some(other.id),
                name: "office2".into(),
            },
            ApiToken {
                token: CHIEF_TOKEN.into(),
                role: Role::RoadChief,
                user: Some(chief.id),
                name: "chief".into(),
            },
            ApiToken {
                token: PUBLIC_TOKEN.into(),
                role: Role::Public,
                user: None,
                name: "public".into(),
            },
        ],
        ..Config::default()
    };
    tune(&mut config);
    let state = AppState::load(store.clone(), CategoryTable::builtin(), config)
        .await
        .unwrap();
    TestApp {
        app: civmap_server::app(state.clone()),
        state,
        store,
        office: office.id,
        other_office: other.id,
        chief: chief.id,
        dir,
    }
}

pub async fn setup() -> TestApp {
    setup_with(|_| {}).await
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts the common error shape and returns `(code, field)`.
    pub fn error(&self) -> (String, Option<String>) {
        let v = self.json();
        let e = &v["error"];
        assert_eq!(
            e["status"].as_u64(),
            Some(u64::from(self.status.as_u16())),
            "{v}"
        );
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        (
            e["code"].as_str().unwrap().to_owned(),
            e["field"].as_str().map(str::to_owned),
        )
    }
}

impl TestApp {
    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = self
            .app
            .clone()
            .oneshot(req.body(body.into()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// The status of a response without reading its body (for endless event streams).
    pub async fn status_only(&self, method: Method, uri: &str, token: &str) -> StatusCode {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        self.app.clone().oneshot(req).await.unwrap().status()
    }

    pub async fn get(&self, uri: &str) -> Resp {
        self.call(Method::GET, uri, &[], Body::empty()).await
    }

    pub async fn get_as(&self, uri: &str, token: &str) -> Resp {
        let auth = format!("Bearer {token}");
        self.call(Method::GET, uri, &[("authorization", &auth)], Body::empty())
            .await
    }

    /// A JSON request, with a bearer token when `token` is not empty.
    pub async fn send_json(&self, method: Method, uri: &str, token: &str, body: &Value) -> Resp {
        let auth = format!("Bearer {token}");
        let mut h = vec![("content-type", "application/json")];
        if !token.is_empty() {
            h.push(("authorization", auth.as_str()));
        }
        self.call(method, uri, &h, body.to_string()).await
    }

    /// Reports a problem as the street office and returns the Feature.
    pub async fn report(&self, lon: f64, lat: f64, category: &str) -> Value {
        let r = self
            .send_json(
                Method::POST,
                "/api/v1/problems",
                OFFICE_TOKEN,
                &serde_json::json!({"lon": lon, "lat": lat, "category": category, "description": "测试"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()
    }

    /// A lifecycle step as `token`.
    pub async fn step(&self, id: &str, action: &str, token: &str, body: &Value) -> Resp {
        self.send_json(
            Method::POST,
            &format!("/api/v1/problems/{id}/{action}"),
            token,
            body,
        )
        .await
    }
}

/// A tiny valid JPEG (20 x 10 pixels, baseline); `seed` makes its bytes (and id) differ.
pub fn tiny_jpeg(seed: u8) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8];
    let seg = |b: &mut Vec<u8>, m: u8, data: &[u8]| {
        b.extend_from_slice(&[0xFF, m]);
        b.extend_from_slice(&u16::try_from(data.len() + 2).unwrap().to_be_bytes());
        b.extend_from_slice(data);
    };
    seg(&mut b, 0xC0, &[8, 0, 10, 0, 20, 1, 1, 0x11, 0]);
    seg(&mut b, 0xDA, &[1, 1, 0, 0, 63, 0]);
    b.extend_from_slice(&[1, 2, seed, 0xFF, 0xD9]);
    b
}

impl TestApp {
    /// Uploads a photo as `token` and returns its id.
    pub async fn upload_photo(&self, token: &str, seed: u8) -> String {
        let auth = format!("Bearer {token}");
        let r = self
            .call(
                Method::POST,
                "/api/v1/photos",
                &[("content-type", "image/jpeg"), ("authorization", &auth)],
                tiny_jpeg(seed),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()["id"].as_str().unwrap().to_owned()
    }
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub mod python;
pub mod qr;

/// A signed-in browser: the session cookie and the CSRF token the page sends with changes.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// Creates an account with `password` and signs in as the page does (`POST /api/v1/login`);
/// answers its id and the browser session.
pub async fn password_session(
    t: &TestApp,
    name: &str,
    display: &str,
    role: Role,
    password: &str,
) -> (UserId, Session) {
    let user = User {
        id: UserId::new(),
        name: name.to_owned(),
        display_name: display.to_owned(),
        role,
        street: None,
        password_hash: civmap_app::accounts::passwords::hash_password(password).unwrap(),
        disabled: false,
        created_at: Utc::now(),
    };
    t.store.create_user(&user).await.unwrap();
    let r = t
        .call(
            Method::POST,
            "/api/v1/login",
            &[("content-type", "application/json")],
            serde_json::json!({"name": name, "password": password}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let csrf = r.json()["csrf_token"].as_str().unwrap().to_owned();
    let cookie = r.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    (user.id, Session { cookie, csrf })
}
