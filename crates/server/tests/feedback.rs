//! The reporter's answer after verification (回访) over HTTP, as the browser sends it: a grid
//! worker signed in with a password (cookie session) answers with the CSRF header; without it
//! the answer is refused; only once; the street office finds a "not solved" in its inbox list
//! `feedback_unsolved`, and the history records it.
#![allow(clippy::unwrap_used)]

use crate::common;

use axum::http::{Method, StatusCode};
use civmap_domain::Role;
use common::{
    OFFICE_TOKEN, OTHER_OFFICE_TOKEN, Resp, Session, TestApp, password_session, setup_with,
};
use serde_json::{Value, json};

const PASSWORD: &str = "回访-civmap-2026";

async fn sign_in(t: &TestApp, name: &str, role: Role) -> Session {
    password_session(t, name, name, role, PASSWORD).await.1
}

impl Session {
    async fn post(&self, t: &TestApp, uri: &str, body: &Value, with_csrf: bool) -> Resp {
        let mut h = vec![
            ("content-type", "application/json"),
            ("cookie", &*self.cookie),
        ];
        if with_csrf {
            h.push(("x-csrf-token", &*self.csrf));
        }
        t.call(Method::POST, uri, &h, body.to_string()).await
    }

    async fn get(&self, t: &TestApp, uri: &str) -> Resp {
        t.call(
            Method::GET,
            uri,
            &[("cookie", &*self.cookie)],
            axum::body::Body::empty(),
        )
        .await
    }
}

#[tokio::test]
async fn a_grid_worker_answers_once_and_a_no_reaches_the_street_office() {
    let t = setup_with(|c| c.workflow.rectify_needs_photo = false).await;
    let worker = sign_in(&t, "wangge", Role::Reporter).await;
    let r = worker
        .post(
            &t,
            "/api/v1/problems",
            &json!({"lon": 121.5, "lat": 31.28, "category": "garbage", "description": "垃圾堆放"}),
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let answer = format!("/api/v1/problems/{id}/feedback");
    let no = json!({"solved": false, "note": "垃圾又堆起来了"});

    // Not verified yet: nothing to answer.
    let r = worker.post(&t, &answer, &no, true).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());

    // Fixed by one office account, verified by another (four eyes).
    let v = |r: &Resp| r.json()["properties"]["version"].as_i64().unwrap();
    let fixed = t
        .step(
            &id,
            "rectify",
            OFFICE_TOKEN,
            &json!({"version": 1, "note": "已清理"}),
        )
        .await;
    assert_eq!(fixed.status, StatusCode::OK, "{}", fixed.text());
    let closed = t
        .step(
            &id,
            "verify",
            OTHER_OFFICE_TOKEN,
            &json!({"version": v(&fixed)}),
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.text());

    // The worker's list says the answer is due.
    let mine = worker.get(&t, "/api/v1/me/feedback").await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text());
    assert_eq!(mine.json(), json!([{"id": id, "answer": "due"}]));

    // Someone else may not answer; the cookie without the CSRF header is refused.
    let r = t.send_json(Method::POST, &answer, OFFICE_TOKEN, &no).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = worker.post(&t, &answer, &no, false).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());

    let r = worker.post(&t, &answer, &no, true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["properties"]["status"], "closed");
    let again = worker
        .post(&t, &answer, &json!({"solved": true}), true)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text());
    assert_eq!(again.json()["error"]["code"], "conflict");

    let mine = worker.get(&t, "/api/v1/me/feedback").await;
    assert_eq!(mine.json(), json!([{"id": id, "answer": "unsolved"}]));

    // The street office's inbox: the list and its own page.
    let inbox = t.get_as("/api/v1/me/inbox", OFFICE_TOKEN).await.json();
    assert_eq!(inbox["feedback_unsolved"]["count"], 1);
    assert_eq!(inbox["feedback_unsolved"]["items"][0]["id"], id.as_str());
    let page = t
        .get_as("/api/v1/me/inbox/feedback_unsolved", OFFICE_TOKEN)
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert_eq!(page.json()["items"][0]["id"], id.as_str());

    // The history: the reporter's answer with the note.
    let h = t
        .get_as(&format!("/api/v1/problems/{id}/history"), OFFICE_TOKEN)
        .await
        .json();
    let last = h["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "feedback");
    assert_eq!(last["data"]["solved"], false);
    assert_eq!(last["note"], "垃圾又堆起来了");
    assert_eq!(last["actor_name"], "wangge");
}
