//! The street office hides a description from the public or rewords it: the public reads the
//! office's text on every public output (REST, OGC API, Open311, the history), staff keep the
//! description as written, only office roles may do it, and it is in the history. Signed in
//! through the browser's way (cookie session + CSRF header).

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use crate::common;

use axum::http::{Method, StatusCode};
use chrono::Utc;
use civmap_app::accounts::passwords;
use civmap_app::privacy::HIDDEN_DESCRIPTION;
use civmap_domain::{Role, User, UserId};
use common::{CHIEF_TOKEN, OFFICE_TOKEN, PUBLIC_TOKEN, Resp, TestApp, setup};
use serde_json::{Value, json};

/// Each kind of personal data a resident writes (all invented): a name with 先生, a mobile
/// number, a petrol and a new-energy plate, an e-mail address, an ID card number.
const FIXTURES: [(&str, &str); 6] = [
    ("王建国先生门口堆物", "***先生门口堆物"),
    ("请联系13812345678", "请联系138******78"),
    ("僵尸车沪A·12345", "僵尸车沪A·1****"),
    ("新能源车沪AD12345乱停", "新能源车沪AD*****乱停"),
    ("邮件 wang.jg@example.com", "邮件 w******@example.com"),
    ("身份证310110198503127715", "身份证310*************15"),
];
const PASSWORD: &str = "correct horse battery";

struct Office {
    cookie: String,
    csrf: String,
}

async fn sign_in_office(t: &TestApp) -> Office {
    let u = User {
        id: UserId::new(),
        name: "jiedao".into(),
        display_name: "街道办 李主任".into(),
        role: Role::StreetOffice,
        street: None,
        password_hash: passwords::hash_password(PASSWORD).unwrap(),
        disabled: false,
        created_at: Utc::now(),
    };
    t.store.create_user(&u).await.unwrap();
    t.state.accounts().note_user(&u);
    let r = t
        .call(
            Method::POST,
            "/api/v1/login",
            &[("content-type", "application/json")],
            json!({"name": "jiedao", "password": PASSWORD}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let set = r.headers.get("set-cookie").unwrap().to_str().unwrap();
    Office {
        cookie: set.split(';').next().unwrap().to_owned(),
        csrf: r.json()["csrf_token"].as_str().unwrap().to_owned(),
    }
}

async fn set_text(t: &TestApp, o: &Office, id: &str, body: &Value) -> Resp {
    t.call(
        Method::POST,
        &format!("/api/v1/problems/{id}/public-text"),
        &[
            ("cookie", o.cookie.as_str()),
            ("x-csrf-token", o.csrf.as_str()),
            ("content-type", "application/json"),
        ],
        body.to_string(),
    )
    .await
}

async fn report(t: &TestApp, description: &str) -> String {
    let r = t
        .send_json(
            Method::POST,
            "/api/v1/problems",
            OFFICE_TOKEN,
            &json!({"lon": 121.5, "lat": 31.28, "category": "garbage", "description": description}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_owned()
}

/// What the public reads as the description on REST, OGC API and Open311 (JSON and XML).
async fn public_reads(t: &TestApp, id: &str) -> Vec<String> {
    let mut out = Vec::new();
    for token in ["", PUBLIC_TOKEN] {
        let get = |uri: String| async move {
            if token.is_empty() {
                t.get(&uri).await
            } else {
                t.get_as(&uri, token).await
            }
        };
        let r = get(format!("/api/v1/problems/{id}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        out.push(
            r.json()["properties"]["description"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        assert!(r.json()["properties"].get("public_description").is_none());
        let r = get("/api/v1/problems?limit=1000".into()).await;
        let list = r.json();
        let f = list["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .unwrap()
            .clone();
        out.push(f["properties"]["description"].as_str().unwrap().to_owned());
        let r = get(format!("/ogc/collections/problems/items/{id}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        out.push(
            r.json()["properties"]["description"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        let r = get(format!("/open311/v2/requests/{id}.json")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        out.push(r.json()[0]["description"].as_str().unwrap().to_owned());
        let r = get(format!("/open311/v2/requests/{id}.xml")).await;
        let xml = r.text();
        let body = xml
            .split("<description>")
            .nth(1)
            .and_then(|s| s.split("</description>").next())
            .unwrap_or_default()
            .to_owned();
        out.push(body);
    }
    out
}

#[tokio::test]
async fn every_personal_data_pattern_stays_masked_for_the_public() {
    let t = setup().await;
    for (written, masked) in FIXTURES {
        let id = report(&t, written).await;
        for shown in public_reads(&t, &id).await {
            assert_eq!(shown, masked, "{written}");
        }
        let staff = t
            .get_as(&format!("/api/v1/problems/{id}"), OFFICE_TOKEN)
            .await;
        assert_eq!(staff.json()["properties"]["description"], written);
    }
}

#[tokio::test]
async fn the_office_hides_or_rewords_what_the_public_reads() {
    let t = setup().await;
    let office = sign_in_office(&t).await;
    let written = "3号楼王建国先生家门口堆了纸箱，电话13812345678";
    let id = report(&t, written).await;
    let version = t
        .get_as(&format!("/api/v1/problems/{id}"), OFFICE_TOKEN)
        .await
        .json()["properties"]["version"]
        .clone();

    // Hidden: every public output reads the placeholder.
    let r = set_text(
        &t,
        &office,
        &id,
        &json!({"hidden": true, "note": "涉及住户隐私"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let staff = r.json();
    assert_eq!(staff["properties"]["description"], written);
    assert_eq!(staff["properties"]["description_hidden"], true);
    assert_eq!(staff["properties"]["public_description"], "");
    assert_eq!(
        staff["properties"]["version"], version,
        "the problem's own fields did not change"
    );
    for shown in public_reads(&t, &id).await {
        assert_eq!(shown, HIDDEN_DESCRIPTION);
        assert_eq!(shown, "（内容已隐藏）");
    }

    // Reworded: the public reads the office's wording, masked all the same.
    let r = set_text(
        &t,
        &office,
        &id,
        &json!({"hidden": false, "public_description": "楼道门口纸箱堆放，联系13900001111", "note": "改为公开表述"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["properties"]["description_hidden"], false);
    for shown in public_reads(&t, &id).await {
        assert_eq!(shown, "楼道门口纸箱堆放，联系139******11");
    }
    // Staff (another office account too) still read the description as written.
    let staff = t
        .get_as(&format!("/api/v1/problems/{id}"), OFFICE_TOKEN)
        .await
        .json();
    assert_eq!(staff["properties"]["description"], written);
    assert_eq!(
        staff["properties"]["public_description"],
        "楼道门口纸箱堆放，联系13900001111"
    );

    // The history records both changes with their reasons and who made them.
    let h = t
        .get_as(&format!("/api/v1/problems/{id}/history"), OFFICE_TOKEN)
        .await
        .json();
    let edits: Vec<&Value> = h["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "edited")
        .collect();
    assert_eq!(edits.len(), 2, "{h}");
    assert_eq!(edits[0]["data"]["hidden"], true);
    assert_eq!(edits[0]["note"], "涉及住户隐私");
    assert_eq!(edits[0]["actor_name"], "街道办 李主任");
    assert_eq!(
        edits[1]["data"]["public_description"],
        "楼道门口纸箱堆放，联系13900001111"
    );
    // The public history has neither the original nor an unmasked wording.
    let text = t
        .get(&format!("/api/v1/problems/{id}/history"))
        .await
        .text();
    for secret in ["王建国", "13812345678", "13900001111", "涉及住户隐私"] {
        assert!(!text.contains(secret), "public history leaks {secret}");
    }
    assert!(text.contains("139******11"), "{text}");

    // Only office roles; a reason is required; a hidden description has no wording.
    let r = t
        .send_json(
            Method::POST,
            &format!("/api/v1/problems/{id}/public-text"),
            CHIEF_TOKEN,
            &json!({"hidden": true, "note": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = t
        .send_json(
            Method::POST,
            &format!("/api/v1/problems/{id}/public-text"),
            "",
            &json!({"hidden": true, "note": "x"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    let r = set_text(&t, &office, &id, &json!({"hidden": true, "note": "  "})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.error().1.as_deref(), Some("note"));
    let r = set_text(
        &t,
        &office,
        &id,
        &json!({"hidden": false, "public_description": "", "note": "x"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.error().1.as_deref(), Some("public_description"));
    let r = set_text(
        &t,
        &office,
        &id,
        &json!({"hidden": true, "public_description": "x", "note": "x"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    // Without the CSRF header a cookie session changes nothing.
    let r = t
        .call(
            Method::POST,
            &format!("/api/v1/problems/{id}/public-text"),
            &[
                ("cookie", office.cookie.as_str()),
                ("content-type", "application/json"),
            ],
            json!({"hidden": true, "note": "x"}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    for shown in public_reads(&t, &id).await {
        assert_eq!(shown, "楼道门口纸箱堆放，联系139******11");
    }

    // After a restart (memory rebuilt from the store) the public reads the same.
    t.state.reload().await.unwrap();
    for shown in public_reads(&t, &id).await {
        assert_eq!(shown, "楼道门口纸箱堆放，联系139******11");
    }
}
