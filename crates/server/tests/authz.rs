//! Authorization: every role against every endpoint (allowed, forbidden, or 404 outside the
//! caller's zones), sessions with CSRF, expired and revoked tokens, login lockout, and public
//! responses scanned for personal data.

// Table-driven scenarios read best top to bottom, whatever their length.
#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    clippy::missing_panics_doc,
    clippy::similar_names
)]

use crate::common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chrono::Utc;
use civmap_app::accounts::{passwords, secrets, sessions};
use civmap_app::privacy::generalise_position;
use civmap_domain::{Role, User, UserId, Zone, ZoneId, ZoneKind};
use civmap_server::auth::SESSION_COOKIE;
use civmap_store::{Session, SessionKind};
use common::{OFFICE_TOKEN, PUBLIC_TOKEN, Resp, TestApp, setup_with};
use serde_json::{Value, json};

/// Where things are: zone A (a road-chief's) lies inside the area AR (an area-chief's) which lies
/// inside the street's grid cell G1 (coded with the street code); zone B (a point-chief's) is
/// elsewhere, outside G1; OUT is in no zone.
const A: (f64, f64) = (121.500, 31.280);
const B: (f64, f64) = (121.520, 31.300);
const OUT: (f64, f64) = (121.600, 31.400);
const STREET: &str = "310110009";
/// A note only staff may read.
/// A description as a resident writes one: a name, a mobile number, a plate, an e-mail address
/// and an ID card number (all invented); and what the public is shown of it.
const PERSONAL_DESCRIPTION: &str =
    "3号楼楼道 王建国先生 13812345678 沪A·12345 wang.jg@example.com 310110198503127715";
const PERSONAL_PIECES: [&str; 5] = [
    "王建国",
    "13812345678",
    "沪A·12345",
    "wang.jg@example.com",
    "310110198503127715",
];
const PERSONAL_MASKED: &str =
    "3号楼楼道 ***先生 138******78 沪A·1**** w******@example.com 310*************15";
const SECRET_NOTE: &str = "内部备注：住户王某 13800138000";
const PASSWORD: &str = "correct horse battery";

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> geo_types::MultiPolygon<f64> {
    geo_types::MultiPolygon(vec![geo_types::Rect::new((x0, y0), (x1, y1)).to_polygon()])
}

fn zone(kind: ZoneKind, name: &str, code: Option<&str>, g: geo_types::MultiPolygon<f64>) -> Zone {
    Zone {
        id: ZoneId::new(),
        kind,
        name: name.into(),
        poi_kind: None,
        poi: None,
        code: code.map(str::to_owned),
        geometry: g,
        external_id: None,
    }
}

/// The roles under test, each with an account and a bearer token (anonymous has neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Admin,
    /// A street office of street `STREET` (sees the grid cell coded with it).
    OfficeStreet,
    /// A street office without a street (sees everything).
    Office,
    Area,
    RoadA,
    PointB,
    Reporter,
    /// A signed-in account of role `public`.
    PublicUser,
    Anonymous,
}

const EVERYONE: [Who; 9] = [
    Who::Admin,
    Who::OfficeStreet,
    Who::Office,
    Who::Area,
    Who::RoadA,
    Who::PointB,
    Who::Reporter,
    Who::PublicUser,
    Who::Anonymous,
];

/// The problem locations each role may see (the public map is every problem).
fn sees(who: Who) -> &'static [&'static str] {
    match who {
        Who::Admin | Who::Office | Who::Reporter | Who::PublicUser | Who::Anonymous => {
            &["A", "B", "OUT"]
        }
        Who::OfficeStreet | Who::Area | Who::RoadA => &["A"],
        Who::PointB => &["B"],
    }
}

/// Whether the role sees personal data.
fn staff(who: Who) -> bool {
    !matches!(who, Who::Reporter | Who::PublicUser | Who::Anonymous)
}

struct World {
    t: TestApp,
    tokens: Vec<(Who, String, UserId)>,
    /// A street office account not under test that rectifies fixtures (so anyone may verify).
    fixer: String,
    zone_b: ZoneId,
}

impl World {
    fn token(&self, who: Who) -> &str {
        self.tokens
            .iter()
            .find(|(w, _, _)| *w == who)
            .map_or("", |(_, t, _)| t.as_str())
    }

    fn user(&self, who: Who) -> Option<UserId> {
        self.tokens
            .iter()
            .find(|(w, _, _)| *w == who)
            .map(|(_, _, u)| *u)
    }

    async fn get(&self, who: Who, uri: &str) -> Resp {
        let t = self.token(who);
        if t.is_empty() {
            self.t.get(uri).await
        } else {
            self.t.get_as(uri, t).await
        }
    }

    async fn send(&self, who: Who, method: Method, uri: &str, body: &Value) -> Resp {
        self.t.send_json(method, uri, self.token(who), body).await
    }

    /// A new problem at `at` brought to `status` by the fixture accounts; its id and version.
    async fn fresh(&self, at: (f64, f64), status: &str) -> (String, i64) {
        let admin = self.token(Who::Admin).to_owned();
        let r = self
            .t
            .send_json(
                Method::POST,
                "/api/v1/problems",
                &admin,
                &json!({"lon": at.0, "lat": at.1, "category": "garbage", "description": "fixture"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let id = r.json()["id"].as_str().unwrap().to_owned();
        let path: &[(&str, &str)] = match status {
            "reported" => &[],
            "dispatched" => &[("dispatch", "")],
            "rectified" => &[("dispatch", ""), ("rectify", "fixer")],
            "closed" => &[("dispatch", ""), ("rectify", "fixer"), ("verify", "")],
            other => panic!("no fixture for {other}"),
        };
        let mut v = 1;
        for (step, by) in path {
            let tk = if *by == "fixer" { &self.fixer } else { &admin };
            let r = self
                .t
                .step(&id, step, tk, &json!({"version": v, "note": "fixture"}))
                .await;
            assert_eq!(r.status, StatusCode::OK, "fixture {step}: {}", r.text());
            v += 1;
        }
        (id, v)
    }
}

async fn account(t: &TestApp, name: &str, role: Role, street: Option<&str>) -> User {
    let u = User {
        id: UserId::new(),
        name: name.into(),
        display_name: format!("测试 {name}"),
        role,
        street: street.map(str::to_owned),
        password_hash: passwords::hash_password(PASSWORD).unwrap(),
        disabled: false,
        created_at: Utc::now(),
    };
    t.store.create_user(&u).await.unwrap();
    u
}

/// An account under test: who, login name, role, street, assigned zone.
type Spec = (
    Who,
    &'static str,
    Role,
    Option<&'static str>,
    Option<ZoneId>,
);

async fn world() -> World {
    let t = setup_with(|c| {
        // These tests take every problem through explicit steps by role; automatic dispatch
        // and the after-photo rule are tested in tests/workflow.rs.
        c.workflow.auto_dispatch = false;
        c.workflow.rectify_needs_photo = false;
        c.auth.login_per_minute = 1000;
        c.limits.anonymous_write_burst = 1000;
        c.limits.anonymous_writes_per_minute = 1000;
    })
    .await;
    let g1 = zone(
        ZoneKind::GridCell,
        "G1",
        Some(&format!("{STREET}-R001C001")),
        rect(121.49, 31.27, 121.51, 31.29),
    );
    let ar = zone(
        ZoneKind::Area,
        "AR",
        None,
        rect(121.495, 31.275, 121.505, 31.285),
    );
    let za = zone(
        ZoneKind::Road,
        "A",
        None,
        rect(121.499, 31.279, 121.501, 31.281),
    );
    let zb = zone(
        ZoneKind::Point,
        "B",
        None,
        rect(121.519, 31.299, 121.521, 31.301),
    );
    for z in [&g1, &ar, &za, &zb] {
        t.state.put_zone(z.clone()).await.unwrap();
    }
    let specs: [Spec; 8] = [
        (Who::Admin, "admin", Role::Admin, None, None),
        (
            Who::OfficeStreet,
            "office.s1",
            Role::StreetOffice,
            Some(STREET),
            None,
        ),
        (Who::Office, "office.all", Role::StreetOffice, None, None),
        (
            Who::Area,
            "pianzhang",
            Role::AreaChief,
            Some(STREET),
            Some(ar.id),
        ),
        (
            Who::RoadA,
            "luzhang.a",
            Role::RoadChief,
            Some(STREET),
            Some(za.id),
        ),
        (
            Who::PointB,
            "dianzhang.b",
            Role::PointChief,
            None,
            Some(zb.id),
        ),
        (Who::Reporter, "wanggeyuan", Role::Reporter, None, None),
        (Who::PublicUser, "citizen", Role::Public, None, None),
    ];
    let mut tokens = Vec::new();
    for (who, name, role, street, z) in specs {
        let u = account(&t, name, role, street).await;
        if let Some(z) = z {
            t.state.assign(z, u.id).await.unwrap();
        }
        let (tk, _) = sessions::issue_api_token(&t.store, u.id, 30).await.unwrap();
        tokens.push((who, tk, u.id));
    }
    let fixer = account(&t, "fixer", Role::StreetOffice, None).await;
    let (fixer, _) = sessions::issue_api_token(&t.store, fixer.id, 30)
        .await
        .unwrap();
    let w = World {
        t,
        tokens,
        fixer,
        zone_b: zb.id,
    };
    for who in EVERYONE {
        let r = w.get(who, "/api/v1/me").await;
        let want = if who == Who::Anonymous {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        };
        assert_eq!(r.status, want, "{who:?}: {}", r.text());
    }
    w
}

fn ids_of(v: &Value) -> BTreeSet<String> {
    v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_role_sees_its_scope_on_every_api() {
    let w = world().await;
    let mut by_place = Vec::new();
    for (place, at) in [("A", A), ("B", B), ("OUT", OUT)] {
        let (id, _) = w.fresh(at, "dispatched").await;
        by_place.push((place, id));
    }
    let all: BTreeSet<String> = by_place.iter().map(|(_, id)| id.clone()).collect();
    for who in EVERYONE {
        let expect: BTreeSet<String> = by_place
            .iter()
            .filter(|(p, _)| sees(who).contains(p))
            .map(|(_, id)| id.clone())
            .collect();
        // Lists filter by scope: REST, a zone's problems, OGC items, Open311 requests.
        let r = w.get(who, "/api/v1/problems?limit=1000").await;
        assert_eq!(r.status, StatusCode::OK, "{who:?}: {}", r.text());
        assert_eq!(ids_of(&r.json()), expect, "{who:?} REST list");
        let r = w
            .get(who, "/api/v1/problems?limit=1&status=dispatched")
            .await;
        let first = ids_of(&r.json());
        assert!(first.len() <= 1 && first.is_subset(&expect), "{who:?} page");
        let r = w
            .get(
                who,
                "/api/v1/problems?bbox=121.4,31.2,121.7,31.5&limit=1000",
            )
            .await;
        assert_eq!(ids_of(&r.json()), expect, "{who:?} REST bbox list");
        let r = w
            .get(who, "/ogc/collections/problems/items?limit=1000")
            .await;
        assert_eq!(r.status, StatusCode::OK, "{who:?}: {}", r.text());
        assert_eq!(ids_of(&r.json()), expect, "{who:?} OGC items");
        let r = w.get(who, "/open311/v2/requests.json").await;
        assert_eq!(r.status, StatusCode::OK, "{who:?}: {}", r.text());
        let got: BTreeSet<String> = r
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["service_request_id"].as_str().unwrap().to_owned())
            .filter(|id| all.contains(id))
            .collect();
        assert_eq!(got, expect, "{who:?} Open311 requests");
        let r = w
            .get(
                who,
                &format!(
                    "/open311/v2/requests.json?service_request_id={}",
                    all.iter().cloned().collect::<Vec<_>>().join(",")
                ),
            )
            .await;
        assert_eq!(r.json().as_array().unwrap().len(), expect.len(), "{who:?}");
        // One by one: visible ones answer 200, the others exactly what an unknown id answers.
        for (place, id) in &by_place {
            let visible = sees(who).contains(place);
            let want = if visible {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            for uri in [
                format!("/api/v1/problems/{id}"),
                format!("/api/v1/problems/{id}/history"),
                format!("/ogc/collections/problems/items/{id}"),
                format!("/open311/v2/requests/{id}.json"),
                format!("/open311/v2/tokens/{id}.json"),
            ] {
                let r = w.get(who, &uri).await;
                assert_eq!(r.status, want, "{who:?} GET {uri}: {}", r.text());
                if !visible {
                    // Exactly what an id that does not exist gets, but for the id itself.
                    let other = uuid::Uuid::now_v7().to_string();
                    let u = w.get(who, &uri.replace(id.as_str(), &other)).await;
                    assert_eq!(u.status, StatusCode::NOT_FOUND);
                    assert_eq!(
                        r.text().replace(id.as_str(), "ID"),
                        u.text().replace(&other, "ID"),
                        "{who:?} {uri}: out of scope reads like unknown"
                    );
                }
            }
        }
        // A zone outside the chief's scope lists nothing.
        let r = w
            .get(who, &format!("/api/v1/zones/{}/problems", w.zone_b))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let in_b: BTreeSet<String> = by_place
            .iter()
            .filter(|(p, _)| *p == "B" && sees(who).contains(p))
            .map(|(_, id)| id.clone())
            .collect();
        assert_eq!(ids_of(&r.json()), in_b, "{who:?} zone B's problems");
    }
}

/// What a role may do: allowed (the step succeeds), forbidden by role (403; 401 when
/// anonymous), or outside the scope (404).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Forbidden,
    NotFound,
}

fn may(who: Who, action: &str) -> bool {
    let managers = matches!(who, Who::Admin | Who::Office | Who::OfficeStreet);
    let chiefs = matches!(who, Who::Area | Who::RoadA | Who::PointB);
    match action {
        "dispatch" | "verify" | "reject" | "merge" | "edit" => managers || who == Who::Area,
        "escalate" | "rectify" | "recur" => managers || chiefs,
        "report" => true,
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn every_role_against_every_lifecycle_step_in_and_out_of_scope() {
    let w = world().await;
    // (action, status the problem needs)
    let steps = [
        ("dispatch", "reported"),
        ("escalate", "reported"),
        ("rectify", "dispatched"),
        ("reject", "rectified"),
        ("verify", "rectified"),
        ("recur", "closed"),
        ("merge", "reported"),
        ("edit", "reported"),
    ];
    for who in EVERYONE {
        for (action, status) in steps {
            for (place, at) in [("A", A), ("B", B), ("OUT", OUT)] {
                let (id, version) = w.fresh(at, status).await;
                let expect = if !may(who, action) {
                    Outcome::Forbidden
                } else if sees(who).contains(&place) {
                    Outcome::Ok
                } else {
                    Outcome::NotFound
                };
                let r = match action {
                    "edit" => {
                        w.send(
                            who,
                            Method::PATCH,
                            &format!("/api/v1/problems/{id}"),
                            &json!({"version": version, "severity": "high"}),
                        )
                        .await
                    }
                    "merge" => {
                        // Into a visible problem in the same place.
                        let (into, _) = w.fresh(at, "reported").await;
                        w.send(
                            who,
                            Method::POST,
                            &format!("/api/v1/problems/{id}/merge"),
                            &json!({"version": version, "into": into}),
                        )
                        .await
                    }
                    _ => {
                        w.send(
                            who,
                            Method::POST,
                            &format!("/api/v1/problems/{id}/{action}"),
                            &json!({"version": version, "note": SECRET_NOTE}),
                        )
                        .await
                    }
                };
                let want = match expect {
                    Outcome::Ok => StatusCode::OK,
                    Outcome::NotFound => StatusCode::NOT_FOUND,
                    Outcome::Forbidden if who == Who::Anonymous => StatusCode::UNAUTHORIZED,
                    Outcome::Forbidden => StatusCode::FORBIDDEN,
                };
                assert_eq!(r.status, want, "{who:?} {action} at {place}: {}", r.text());
                if expect == Outcome::Ok {
                    // Every write records the acting account in the event log.
                    let h = w
                        .get(Who::Admin, &format!("/api/v1/problems/{id}/history"))
                        .await
                        .json();
                    let last = h["events"].as_array().unwrap().last().unwrap().clone();
                    assert_eq!(
                        last["actor"].as_str(),
                        w.user(who).map(|u| u.to_string()).as_deref(),
                        "{who:?} {action}: the actor is recorded"
                    );
                }
            }
        }
        // Reporting is open to everyone; the reporter is recorded.
        let r = w
            .send(
                who,
                Method::POST,
                "/api/v1/problems",
                &json!({"lon": B.0, "lat": B.1, "category": "garbage"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{who:?}: {}", r.text());
    }
}

#[tokio::test]
async fn management_endpoints_need_a_manager() {
    let w = world().await;
    let zone_body = json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[121.5, 31.2], [121.51, 31.2], [121.51, 31.21], [121.5, 31.2]]]}, "properties": {"kind": "area", "name": "新片区"}});
    let poi_body = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.5, 31.2]}, "properties": {"kind": "school", "name": "测试小学"}});
    let cat = json!({"code": "test_cat", "zh": "测试", "en": "Test", "weight": 1.0, "deadline_hours": 8, "service_minutes": 10, "indoor": false});
    for who in EVERYONE {
        let manager = matches!(who, Who::Admin | Who::Office | Who::OfficeStreet);
        let denied = if who == Who::Anonymous {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FORBIDDEN
        };
        let check = |r: &Resp, ok: StatusCode, what: &str| {
            let want = if manager { ok } else { denied };
            assert_eq!(r.status, want, "{who:?} {what}: {}", r.text());
        };
        let r = w.send(who, Method::POST, "/api/v1/zones", &zone_body).await;
        check(&r, StatusCode::CREATED, "create zone");
        let r = w.send(who, Method::POST, "/api/v1/pois", &poi_body).await;
        check(&r, StatusCode::CREATED, "create poi");
        let r = w
            .send(who, Method::PUT, "/api/v1/categories/test_cat", &cat)
            .await;
        check(&r, StatusCode::OK, "put category");
        let fixer = w.user(Who::PointB).unwrap();
        let r = w
            .send(
                who,
                Method::PUT,
                &format!("/api/v1/zones/{}/assignees/{fixer}", w.zone_b),
                &json!({}),
            )
            .await;
        // Zone B and its point-chief are outside street S1: for the street office of S1 they
        // do not exist (crates/app/src/setup.rs); the others assign.
        let assigned = if who == Who::OfficeStreet {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::NO_CONTENT
        };
        check(&r, assigned, "assign");
        let r = w.get(who, "/api/v1/assignments").await;
        let want = if staff(who) {
            StatusCode::OK
        } else if who == Who::Anonymous {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(r.status, want, "{who:?} assignments");
        // The coverage check over the street's grid: managers only.
        let r = w.get(who, "/api/v1/assignments/coverage").await;
        check(&r, StatusCode::OK, "coverage");
    }
}

fn session_headers<'a>(cookie: &'a str, csrf: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut h = vec![("cookie", cookie), ("content-type", "application/json")];
    if let Some(c) = csrf {
        h.push(("x-csrf-token", c));
    }
    h
}

async fn login(t: &TestApp, name: &str, password: &str) -> Resp {
    t.call(
        Method::POST,
        "/api/v1/login",
        &[("content-type", "application/json")],
        json!({"name": name, "password": password}).to_string(),
    )
    .await
}

/// The `name=value` of the session cookie a login set.
fn cookie_of(r: &Resp) -> String {
    let set = r.headers.get("set-cookie").unwrap().to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn browser_sessions_need_the_csrf_token_for_changes_and_end_at_logout() {
    let w = world().await;
    let (id, v) = w.fresh(A, "dispatched").await;
    let r = login(&w.t, "luzhang.a", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let set = r
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set.starts_with(&format!("{SESSION_COOKIE}=")), "{set}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(attr), "{attr} missing: {set}");
    }
    assert!(!set.contains("Secure"), "plain http: no Secure flag");
    let me = r.json();
    assert_eq!(me["name"], "luzhang.a");
    assert_eq!(me["role"], "road_chief");
    assert_eq!(me["via"], "cookie");
    assert_eq!(me["zones"].as_array().unwrap().len(), 1);
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    assert!(r.text().find("password").is_none(), "no hash in the answer");
    let cookie = cookie_of(&r);

    // Reads need no CSRF token; /me repeats it.
    let r =
        w.t.call(
            Method::GET,
            "/api/v1/me",
            &session_headers(&cookie, None),
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["csrf_token"], csrf.as_str());
    // The session sees its scope.
    let r =
        w.t.call(
            Method::GET,
            "/api/v1/problems?limit=1000",
            &session_headers(&cookie, None),
            Body::empty(),
        )
        .await;
    assert!(ids_of(&r.json()).contains(&id));

    // A change without the token, or with another, is refused; with it, it goes through.
    let body = json!({"version": v, "note": "已清理"}).to_string();
    let uri = format!("/api/v1/problems/{id}/rectify");
    for bad in [None, Some("0000"), Some(csrf.get(1..).unwrap())] {
        let r =
            w.t.call(
                Method::POST,
                &uri,
                &session_headers(&cookie, bad),
                body.clone(),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "csrf {bad:?}: {}",
            r.text()
        );
        assert!(r.text().contains("x-csrf-token"), "{}", r.text());
    }
    let r =
        w.t.call(
            Method::POST,
            &uri,
            &session_headers(&cookie, Some(&csrf)),
            body.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let h = w
        .get(Who::Admin, &format!("/api/v1/problems/{id}/history"))
        .await
        .json();
    let last = h["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "rectified");
    assert_eq!(
        last["actor"].as_str(),
        Some(w.user(Who::RoadA).unwrap().to_string().as_str()),
        "the session's account is recorded"
    );

    // An API token made from the session works without CSRF, as a bearer.
    let r =
        w.t.call(
            Method::POST,
            "/api/v1/tokens",
            &session_headers(&cookie, Some(&csrf)),
            json!({"days": 2}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let tk = r.json()["token"].as_str().unwrap().to_owned();
    assert!(tk.starts_with(secrets::API_TOKEN_PREFIX));
    let r = w.t.get_as("/api/v1/me", &tk).await;
    assert_eq!(r.json()["via"], "token");
    assert_eq!(r.json()["csrf_token"], Value::Null);
    let r =
        w.t.call(
            Method::POST,
            "/api/v1/tokens",
            &session_headers(&cookie, Some(&csrf)),
            json!({"days": 100_000}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error().1.as_deref(), Some("days"));

    // Logout needs the token too, revokes the session and clears the cookie.
    let r =
        w.t.call(
            Method::POST,
            "/api/v1/logout",
            &session_headers(&cookie, None),
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r =
        w.t.call(
            Method::POST,
            "/api/v1/logout",
            &session_headers(&cookie, Some(&csrf)),
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(
        r.headers
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let r =
        w.t.call(
            Method::GET,
            "/api/v1/me",
            &session_headers(&cookie, None),
            Body::empty(),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "a revoked cookie is no session"
    );
    let r =
        w.t.call(
            Method::GET,
            "/api/v1/problems?limit=1000",
            &session_headers(&cookie, None),
            Body::empty(),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "a stale cookie reads the public map"
    );
    let r =
        w.t.call(
            Method::POST,
            &format!("/api/v1/problems/{id}/verify"),
            &session_headers(&cookie, Some(&csrf)),
            json!({"version": v + 1}).to_string(),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "a stale cookie may not write"
    );
    // The bearer token made from the session lives on until it is revoked itself.
    assert_eq!(w.t.get_as("/api/v1/me", &tk).await.status, StatusCode::OK);
    let r =
        w.t.call(
            Method::POST,
            "/api/v1/logout",
            &[("authorization", format!("Bearer {tk}").as_str())],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        w.t.get_as("/api/v1/me", &tk).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Static tokens of the configuration still work, cannot be revoked by logout.
    let r = w.t.get_as("/api/v1/me", OFFICE_TOKEN).await;
    assert_eq!(r.json()["via"], "config");
    let r =
        w.t.call(
            Method::POST,
            "/api/v1/logout",
            &[("authorization", format!("Bearer {OFFICE_TOKEN}").as_str())],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(w.t.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    let r = w.t.get_as("/api/v1/me", PUBLIC_TOKEN).await;
    assert_eq!(r.json()["role"], "public");
}

#[tokio::test]
async fn expired_revoked_disabled_and_reset_credentials_are_refused() {
    let w = world().await;
    let user = w.user(Who::RoadA).unwrap();
    let store = &w.t.store;
    // Expired: a token whose end is past.
    let secret = secrets::new_api_token();
    store
        .create_session(&Session {
            token_hash: secrets::token_hash(&secret),
            user,
            kind: SessionKind::ApiToken,
            created_at: Utc::now() - chrono::Duration::days(10),
            expires_at: Utc::now() - chrono::Duration::seconds(1),
            revoked: false,
        })
        .await
        .unwrap();
    let r = w.t.get_as("/api/v1/problems", &secret).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error().0, "unauthorized");
    // A cookie secret is no bearer token, nor the reverse.
    let cookie_secret = secrets::new_secret();
    store
        .create_session(&Session {
            token_hash: secrets::token_hash(&cookie_secret),
            user,
            kind: SessionKind::Cookie,
            created_at: Utc::now(),
            expires_at: Utc::now() + chrono::Duration::hours(1),
            revoked: false,
        })
        .await
        .unwrap();
    assert_eq!(
        w.t.get_as("/api/v1/me", &cookie_secret).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r =
        w.t.call(
            Method::GET,
            "/api/v1/me",
            &[(
                "cookie",
                format!("{SESSION_COOKIE}={}", w.token(Who::RoadA)).as_str(),
            )],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Revoked.
    let (tk, _) = sessions::issue_api_token(store, user, 1).await.unwrap();
    assert_eq!(w.t.get_as("/api/v1/me", &tk).await.status, StatusCode::OK);
    assert!(
        store
            .revoke_session(&secrets::token_hash(&tk))
            .await
            .unwrap()
    );
    assert_eq!(
        w.t.get_as("/api/v1/me", &tk).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Disabled: every token of the account stops at once, and sign-in fails.
    let tk = w.token(Who::RoadA).to_owned();
    assert_eq!(w.t.get_as("/api/v1/me", &tk).await.status, StatusCode::OK);
    let mut u = store.user_by_id(user).await.unwrap().unwrap();
    u.disabled = true;
    store.update_user(&u).await.unwrap();
    assert_eq!(
        w.t.get_as("/api/v1/me", &tk).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&w.t, "luzhang.a", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    u.disabled = false;
    store.update_user(&u).await.unwrap();
    assert_eq!(w.t.get_as("/api/v1/me", &tk).await.status, StatusCode::OK);
    // A password reset ends sessions and tokens.
    let r = login(&w.t, "luzhang.a", PASSWORD).await;
    let cookie = cookie_of(&r);
    assert!(store.revoke_sessions_of(user).await.unwrap());
    assert_eq!(
        w.t.get_as("/api/v1/me", &tk).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r =
        w.t.call(
            Method::GET,
            "/api/v1/me",
            &[("cookie", cookie.as_str())],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Malformed credentials.
    for h in ["Bearer ", "Basic abc", "Bearer x y"] {
        let r =
            w.t.call(
                Method::GET,
                "/api/v1/me",
                &[("authorization", h)],
                Body::empty(),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{h:?}");
    }
    let long = "x".repeat(10_000);
    assert_eq!(
        w.t.get_as("/api/v1/me", &long).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn login_lockout_per_name_and_rate_limit_per_address() {
    let t = setup_with(|c| {
        c.auth.lockout_failures = 3;
        c.auth.lockout_s = 600;
        c.auth.login_per_minute = 100;
    })
    .await;
    account(&t, "wang", Role::RoadChief, None).await;
    account(&t, "li", Role::RoadChief, None).await;
    for i in 0..3 {
        let r = login(&t, "wang", "wrong password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
        assert_eq!(r.error().0, "unauthorized");
    }
    // Locked: even the right password is refused, with a clear error and Retry-After.
    let r = login(&t, "wang", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
    let (code, field) = r.error();
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("login_locked", Some("name"))
    );
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=600).contains(&retry), "{retry}");
    // Other names are not locked; unknown names are locked the same way (no enumeration).
    assert_eq!(login(&t, "li", PASSWORD).await.status, StatusCode::OK);
    let mut unknown = Vec::new();
    for _ in 0..4 {
        unknown.push(login(&t, "nobody", "whatever12").await.status);
    }
    assert_eq!(
        unknown,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // Bad bodies are 4xx with the common shape.
    let r = t
        .call(
            Method::POST,
            "/api/v1/login",
            &[("content-type", "application/json")],
            "{\"name\": 1}",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = t
        .call(
            Method::POST,
            "/api/v1/login",
            &[("content-type", "text/plain")],
            "name=wang",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Per address: a small budget runs out with 429 rate_limited.
    let t = setup_with(|c| c.auth.login_per_minute = 2).await;
    account(&t, "zhao", Role::Reporter, None).await;
    assert_eq!(
        login(&t, "zhao", "nope nope").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login(&t, "zhao", PASSWORD).await.status, StatusCode::OK);
    let r = login(&t, "zhao", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.error().0, "rate_limited");
    assert!(r.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn session_cookie_is_secure_behind_https() {
    let t = setup_with(|c| c.public_url = Some("https://civmap.example.org".into())).await;
    account(&t, "wang", Role::RoadChief, None).await;
    let r = login(&t, "wang", PASSWORD).await;
    let set = r.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(set.contains("; Secure"), "{set}");
}

/// Every string in a JSON document, and every key with a non-empty value.
fn walk<'a>(v: &'a Value, path: &str, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.push((format!("{path}.{k}"), x));
                walk(x, &format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                walk(x, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

#[tokio::test]
async fn public_responses_carry_no_personal_data_and_generalise_indoor_problems() {
    let w = world().await;
    // A photo with EXIF, a report with it and a note, an Open311 report with contact data,
    // an indoor problem, and a history with actors, notes and evidence.
    let jpeg = {
        let mut b = vec![0xFF, 0xD8];
        let seg = |b: &mut Vec<u8>, m: u8, data: &[u8]| {
            b.extend_from_slice(&[0xFF, m]);
            b.extend_from_slice(&u16::try_from(data.len() + 2).unwrap().to_be_bytes());
            b.extend_from_slice(data);
        };
        seg(&mut b, 0xE1, b"Exif\0\0MM\0*GPSLatitude 31.2800");
        seg(&mut b, 0xC0, &[8, 0, 10, 0, 20, 1, 1, 0x11, 0]);
        seg(&mut b, 0xDA, &[1, 1, 0, 0, 63, 0]);
        b.extend_from_slice(&[1, 2, 3, 0xFF, 0xD9]);
        b
    };
    let r =
        w.t.call(
            Method::POST,
            "/api/v1/photos",
            &[
                ("content-type", "image/jpeg"),
                (
                    "authorization",
                    format!("Bearer {}", w.token(Who::Reporter)).as_str(),
                ),
            ],
            jpeg.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let photo = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (r.json()["width"].as_u64(), r.json()["height"].as_u64()),
        (Some(20), Some(10))
    );
    let stored = std::fs::read(w.t.store.photo_path(&photo).unwrap()).unwrap();
    assert!(
        !stored.windows(3).any(|x| x == b"GPS"),
        "EXIF stripped before storing"
    );
    let r = w
        .send(
            Who::Reporter,
            Method::POST,
            "/api/v1/problems",
            &json!({"lon": A.0 + 0.0001, "lat": A.1, "category": "stairwell_clutter", "description": PERSONAL_DESCRIPTION, "note": SECRET_NOTE, "photos": [photo]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let indoor = r.json()["id"].as_str().unwrap().to_owned();
    let (lifecycle, v) = w.fresh(A, "dispatched").await;
    let r = w
        .send(
            Who::RoadA,
            Method::POST,
            &format!("/api/v1/problems/{lifecycle}/rectify"),
            &json!({"version": v, "note": SECRET_NOTE, "photos": [photo]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = w
        .t
        .call(
            Method::POST,
            "/open311/v2/requests.json",
            &[("content-type", "application/x-www-form-urlencoded")],
            "service_code=garbage&lat=31.28&long=121.5&email=wang%40example.org&phone=13900000000&first_name=Wang&last_name=Xiaoming&description=open311",
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let open311 = r.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A description edited to carry a phone number: the history's `changed` shows it masked.
    let (edited, v) = w.fresh(A, "reported").await;
    let r = w
        .send(
            Who::Admin,
            Method::PATCH,
            &format!("/api/v1/problems/{edited}"),
            &json!({"version": v, "description": "垃圾满溢，联系13712345678"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // What must never reach the public: every account id, the note, the photo, contact data.
    let mut secrets: Vec<String> = w.tokens.iter().map(|(_, _, u)| u.to_string()).collect();
    secrets.extend([
        SECRET_NOTE.to_owned(),
        photo.clone(),
        "wang@example.org".into(),
        "13900000000".into(),
        "Xiaoming".into(),
    ]);
    // Personal data people wrote into a description: masked for the public, whole for staff.
    secrets.extend(PERSONAL_PIECES.iter().map(|&p| p.to_owned()));
    secrets.push("13712345678".into());
    let exact = [A.0 + 0.0001, A.1];
    let cell = generalise_position(exact);
    for who in [Who::Anonymous, Who::PublicUser, Who::Reporter] {
        let uris = [
            "/api/v1/problems?limit=1000".to_owned(),
            format!("/api/v1/problems/{indoor}"),
            format!("/api/v1/problems/{indoor}/history"),
            format!("/api/v1/problems/{lifecycle}"),
            format!("/api/v1/problems/{lifecycle}/history"),
            format!("/api/v1/problems/{open311}/history"),
            "/api/v1/zones?limit=1000".to_owned(),
            "/ogc/collections/problems/items?limit=1000".to_owned(),
            format!("/ogc/collections/problems/items/{indoor}"),
            "/ogc/collections/zones/items?limit=1000".to_owned(),
            "/open311/v2/requests.json".to_owned(),
            "/open311/v2/requests.xml".to_owned(),
            format!("/open311/v2/requests/{indoor}.json"),
            format!("/open311/v2/requests/{open311}.xml"),
            format!("/api/v1/problems/{edited}/history"),
        ];
        for uri in &uris {
            let r = w.get(who, uri).await;
            assert_eq!(r.status, StatusCode::OK, "{who:?} {uri}: {}", r.text());
            let text = r.text();
            for s in &secrets {
                assert!(!text.contains(s.as_str()), "{who:?} {uri} leaks {s:?}");
            }
            if uri.ends_with("xml") {
                continue;
            }
            let v = r.json();
            let mut all = Vec::new();
            walk(&v, "", &mut all);
            for (path, x) in all {
                let key = path.rsplit('.').next().unwrap_or_default();
                if [
                    "reporter",
                    "assignee",
                    "assignees",
                    "actor",
                    "actor_name",
                    "assignee_name",
                    "note",
                    "photos",
                    "email",
                    "phone",
                    "first_name",
                    "last_name",
                    "media_url",
                ]
                .contains(&key)
                {
                    assert!(empty(x), "{who:?} {uri}: personal field {path} = {x}");
                }
            }
        }
        // The indoor problem's position is its 50 m cell's centre, on every API.
        let f = w
            .get(who, &format!("/api/v1/problems/{indoor}"))
            .await
            .json();
        let c = &f["geometry"]["coordinates"];
        assert!(
            (c[0].as_f64().unwrap() - cell[0]).abs() < 1e-7
                && (c[1].as_f64().unwrap() - cell[1]).abs() < 1e-7,
            "{c}"
        );
        assert_eq!(f["properties"]["location_generalised"], true);
        assert_eq!(f["properties"]["description"], PERSONAL_MASKED, "{who:?}");
        let h = w
            .get(who, &format!("/api/v1/problems/{edited}/history"))
            .await
            .json();
        let edit = h["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "edited")
            .expect("the edit is in the history");
        assert_eq!(
            edit["data"]["changed"]["description"]["to"],
            "垃圾满溢，联系137******78"
        );
        let o = w
            .get(who, &format!("/ogc/collections/problems/items/{indoor}"))
            .await
            .json();
        assert_eq!(o["geometry"]["coordinates"], f["geometry"]["coordinates"]);
        let s = w
            .get(who, &format!("/open311/v2/requests/{indoor}.json"))
            .await
            .json();
        assert!((s[0]["long"].as_f64().unwrap() - cell[0]).abs() < 1e-7);
        assert!((s[0]["lat"].as_f64().unwrap() - cell[1]).abs() < 1e-7);
    }
    // Staff see what they need: the exact position, the reporter, notes and evidence.
    let f = w
        .get(Who::RoadA, &format!("/api/v1/problems/{indoor}"))
        .await
        .json();
    assert!((f["geometry"]["coordinates"][0].as_f64().unwrap() - exact[0]).abs() < 1e-9);
    assert_eq!(f["properties"]["description"], PERSONAL_DESCRIPTION);
    assert_eq!(
        f["properties"]["reporter"],
        w.user(Who::Reporter).unwrap().to_string()
    );
    let h = w
        .get(Who::RoadA, &format!("/api/v1/problems/{indoor}/history"))
        .await
        .json();
    assert_eq!(h["events"][0]["note"], SECRET_NOTE);
    assert_eq!(h["events"][0]["photos"][0], photo.as_str());
    // ... and who did each step, by name.
    assert!(
        h["events"][0]["actor_name"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "{h}"
    );
    let h = w
        .get(Who::RoadA, &format!("/api/v1/problems/{lifecycle}/history"))
        .await
        .json();
    let dispatched = h["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "dispatched")
        .expect("a dispatch");
    assert!(dispatched["assignee_name"].is_string(), "{dispatched}");
    // Contact data of Open311 reports is not stored at all: staff do not see it either.
    let text = w
        .get(Who::Admin, &format!("/api/v1/problems/{open311}/history"))
        .await
        .text();
    assert!(!text.contains("example.org") && !text.contains("13900000000"));
}

#[tokio::test]
async fn open311_api_key_takes_account_tokens() {
    let w = world().await;
    let body = |key: &str| {
        format!(
            "api_key={key}&service_code=garbage&lat={}&long={}&description=key",
            B.1, B.0
        )
    };
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let r =
        w.t.call(
            Method::POST,
            "/open311/v2/requests.json",
            &form,
            body(w.token(Who::PointB)),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let h = w
        .get(Who::Admin, &format!("/api/v1/problems/{id}/history"))
        .await
        .json();
    assert_eq!(
        h["events"][0]["actor"],
        w.user(Who::PointB).unwrap().to_string(),
        "the account behind the api_key is the actor"
    );
    let r =
        w.t.call(
            Method::POST,
            "/open311/v2/requests.json",
            &form,
            body("cmt_not-a-token"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn photo_uploads_are_checked_by_content_and_size() {
    let t = setup_with(|c| c.limits.photo_bytes = 4096).await;
    let auth = format!("Bearer {OFFICE_TOKEN}");
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", "image/png"),
    ];
    let r = t
        .call(
            Method::POST,
            "/api/v1/photos",
            &h,
            b"GIF89a not a photo".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = t
        .call(
            Method::POST,
            "/api/v1/photos",
            &h,
            vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 2],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error().1.as_deref(), Some("photo"));
    let r = t
        .call(Method::POST, "/api/v1/photos", &h, vec![0u8; 5000])
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let r = t
        .call(Method::POST, "/api/v1/photos", &h, Vec::<u8>::new())
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // An unknown photo id in a report is named.
    let r = t
        .send_json(
            Method::POST,
            "/api/v1/problems",
            OFFICE_TOKEN,
            &json!({"lon": 121.5, "lat": 31.28, "category": "garbage", "photos": ["ab".repeat(32)]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error().1.as_deref(), Some("photos[0]"));
}

/// Patrols (巡查) are staff-only: the walk of every role over the patrol endpoints. A road-chief
/// records a patrol; it reads its own, the street offices and admin read it, other chiefs get
/// what an unknown id gets, reporters and the public are refused, anonymous callers must sign in.
#[tokio::test]
async fn patrol_tracks_are_staff_only() {
    let w = world().await;
    let now = Utc::now().to_rfc3339();
    let r = w
        .send(
            Who::RoadA,
            Method::POST,
            "/api/v1/patrols",
            &json!({"points": [{"lon": A.0, "lat": A.1, "at": now, "accuracy_m": 5.0}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let one = format!("/api/v1/patrols/{id}");
    for who in EVERYONE {
        let (read_one, listed, coverage) = match who {
            Who::RoadA => (StatusCode::OK, true, StatusCode::FORBIDDEN),
            Who::Admin | Who::OfficeStreet | Who::Office => (StatusCode::OK, true, StatusCode::OK),
            Who::Area | Who::PointB => (StatusCode::NOT_FOUND, false, StatusCode::FORBIDDEN),
            Who::Reporter | Who::PublicUser => {
                (StatusCode::FORBIDDEN, false, StatusCode::FORBIDDEN)
            }
            Who::Anonymous => (StatusCode::UNAUTHORIZED, false, StatusCode::UNAUTHORIZED),
        };
        let r = w.get(who, &one).await;
        assert_eq!(r.status, read_one, "{who:?} GET {one}: {}", r.text());
        let r = w.get(who, "/api/v1/patrols").await;
        if staff(who) {
            assert_eq!(r.status, StatusCode::OK, "{who:?}: {}", r.text());
            let has = r
                .json()
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["id"] == json!(id));
            assert_eq!(has, listed, "{who:?} lists the patrol");
        } else {
            assert_eq!(
                r.status,
                read_one,
                "{who:?} GET /api/v1/patrols: {}",
                r.text()
            );
        }
        let r = w.get(who, "/api/v1/patrol-coverage").await;
        assert_eq!(r.status, coverage, "{who:?} coverage: {}", r.text());
        // Only its chief ends it.
        if who != Who::RoadA {
            let r = w
                .send(who, Method::POST, &format!("{one}/end"), &json!({}))
                .await;
            let want = match who {
                Who::Area | Who::PointB => StatusCode::NOT_FOUND,
                Who::Anonymous => StatusCode::UNAUTHORIZED,
                _ => StatusCode::FORBIDDEN,
            };
            assert_eq!(
                r.status,
                want,
                "{who:?} ends another's patrol: {}",
                r.text()
            );
        }
    }
}
