//! The readable API page (`/api/docs`): a static HTML rendering of the OpenAPI document — paths
//! grouped by tag with their parameters, bodies and responses, then every schema. Generated
//! from the same document as `/api/v1/openapi.json`; no scripts, nothing loaded from elsewhere.
//! Written with `maud`, which escapes every value.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;

/// Renders the OpenAPI document (as JSON) to a self-contained HTML page.
#[must_use]
pub fn render(doc: &Value) -> String {
    let title = doc["info"]["title"].as_str().unwrap_or("API");
    let version = doc["info"]["version"].as_str().unwrap_or("");
    // Operations grouped by their first tag, in the order tags are declared.
    let mut tags: Vec<String> = doc["tags"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|x| x["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut ops: Vec<(String, String, &'static str, &Value)> = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                if let Some(op) = item.get(method) {
                    let tag = op["tags"][0].as_str().unwrap_or("other").to_owned();
                    if !tags.contains(&tag) {
                        tags.push(tag.clone());
                    }
                    ops.push((tag, path.clone(), method, op));
                }
            }
        }
    }
    let tag_description = |t: &str| {
        doc["tags"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == t))
            .and_then(|x| x["description"].as_str())
            .unwrap_or("")
    };
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " API" }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    h1 { (title) " " small { (version) } }
                    p { (doc["info"]["description"].as_str().unwrap_or("")) }
                    p {
                        "Machine-readable: " a href="/api/v1/openapi.json" { "/api/v1/openapi.json" }
                        " (OpenAPI " (doc["openapi"].as_str().unwrap_or("3")) "). OGC API Features: "
                        a href="/ogc" { "/ogc" } ". Open311 GeoReport v2: "
                        a href="/open311/v2/discovery.json" { "/open311/v2/discovery.json" } "."
                    }
                }
                nav {
                    h2 { "Contents" }
                    ul {
                        @for t in &tags {
                            li { a href={ "#tag-" (anchor(t)) } { (t) } }
                        }
                        li { a href="#schemas" { "Schemas" } }
                    }
                }
                main {
                    @for t in &tags {
                        section id={ "tag-" (anchor(t)) } {
                            h2 { (t) }
                            p { (tag_description(t)) }
                            @for (_, path, method, op) in ops.iter().filter(|o| &o.0 == t) {
                                (operation(path, method, op))
                            }
                        }
                    }
                    section id="schemas" {
                        h2 { "Schemas" }
                        @if let Some(schemas) = doc["components"]["schemas"].as_object() {
                            @for (name, s) in schemas {
                                article.schema id={ "schema-" (anchor(name)) } {
                                    h3 { (name) }
                                    @if let Some(d) = s["description"].as_str() { p { (d) } }
                                    (schema_table(s))
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let mut out = page.into_string();
    out.push('\n');
    out
}

fn operation(path: &str, method: &str, op: &Value) -> Markup {
    html! {
        article.op {
            h3 { span class={ "m " (method) } { (method.to_ascii_uppercase()) } " " code { (path) } }
            @if let Some(s) = op["summary"].as_str() { p.summary { (s) } }
            @if let Some(d) = op["description"].as_str() { p { (d) } }
            @if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
                table {
                    tr { th { "parameter" } th { "in" } th { "type" } th { "required" } th { "description" } }
                    @for p in params {
                        tr {
                            td { code { (p["name"].as_str().unwrap_or("")) } }
                            td { (p["in"].as_str().unwrap_or("")) }
                            td { (type_of(&p["schema"])) }
                            td { @if p["required"].as_bool().unwrap_or(false) { "yes" } @else { "no" } }
                            td { (p["description"].as_str().unwrap_or("")) }
                        }
                    }
                }
            }
            @if let Some(content) = op["requestBody"]["content"].as_object() {
                @for (ct, body) in content {
                    p { b { "Body" } " " code { (ct) } ": " (type_of(&body["schema"])) }
                }
            }
            @if let Some(responses) = op["responses"].as_object() {
                table {
                    tr { th { "status" } th { "meaning" } th { "body" } }
                    @for (status, r) in responses {
                        tr {
                            td { (status) }
                            td { (r["description"].as_str().unwrap_or("")) }
                            td {
                                @if let Some(c) = r["content"].as_object() {
                                    @for (i, (ct, v)) in c.iter().enumerate() {
                                        @if i > 0 { br; }
                                        code { (ct) } " " (type_of(&v["schema"]))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn schema_table(s: &Value) -> Markup {
    let Some(props) = s["properties"].as_object() else {
        return html! { p { (type_of(s)) } };
    };
    let required: Vec<&str> = s["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    html! {
        table {
            tr { th { "field" } th { "type" } th { "required" } th { "description" } }
            @for (name, p) in props {
                tr {
                    td { code { (name) } }
                    td { (type_of(p)) }
                    td { @if required.contains(&name.as_str()) { "yes" } @else { "no" } }
                    td { (p["description"].as_str().unwrap_or("")) }
                }
            }
        }
    }
}

/// A short human description of a schema: a link for references, `array of X`, the type.
fn type_of(s: &Value) -> Markup {
    if let Some(r) = s["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or(r);
        return html! { a href={ "#schema-" (anchor(name)) } { (name) } };
    }
    let alternatives = |alts: Vec<Markup>| {
        html! {
            @for (i, t) in alts.into_iter().enumerate() {
                @if i > 0 { " | " }
                (t)
            }
        }
    };
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(alts) = s[key].as_array() {
            return alternatives(
                alts.iter()
                    .filter(|a| a["type"] != "null")
                    .map(type_of)
                    .collect(),
            );
        }
    }
    match &s["type"] {
        Value::String(t) if t == "array" => html! { "array of " (type_of(&s["items"])) },
        Value::String(t) => html! {
            (t)
            @if let Some(f) = s["format"].as_str() { " (" (f) ")" }
        },
        Value::Array(ts) => alternatives(
            ts.iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .map(|t| {
                    if t == "array" {
                        html! { "array of " (type_of(&s["items"])) }
                    } else {
                        html! { (t) }
                    }
                })
                .collect(),
        ),
        _ => html! { "any" },
    }
}

fn anchor(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

const CSS: &str = "body{font:15px/1.5 system-ui,-apple-system,'Segoe UI','PingFang SC','Microsoft YaHei',sans-serif;margin:0;color:#1d2430;background:#fafbfc}\
header{padding:1.5rem 2rem;background:#0b3d5c;color:#fff}header a{color:#cfe8ff}h1 small{font-size:.55em;opacity:.8}\
nav{float:left;width:14rem;padding:1rem 2rem}nav ul{list-style:none;padding:0}main{margin-left:17rem;padding:1rem 2rem;max-width:70rem}\
section>h2{border-bottom:2px solid #0b3d5c;padding-bottom:.2rem}article{background:#fff;border:1px solid #dde3ea;border-radius:6px;padding:.6rem 1rem;margin:.8rem 0}\
h3{margin:.2rem 0;font-size:1rem}.m{display:inline-block;min-width:4.2rem;text-align:center;border-radius:4px;color:#fff;font-size:.8rem;padding:.1rem .3rem}\
.get{background:#2f7d32}.post{background:#1565c0}.put{background:#8e5a00}.patch{background:#6a1b9a}.delete{background:#b71c1c}\
table{border-collapse:collapse;width:100%;margin:.4rem 0;font-size:.9rem}th,td{border:1px solid #e3e8ee;padding:.25rem .5rem;text-align:left;vertical-align:top}\
th{background:#f1f4f7}code{font-family:ui-monospace,Menlo,Consolas,monospace}.summary{font-weight:600}";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_paths_params_and_schemas_escaped() {
        let doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "civmap", "version": "0.1.0", "description": "a <b>"},
            "tags": [{"name": "problems", "description": "Problem points"}],
            "paths": {"/api/v1/problems/{id}": {"get": {
                "tags": ["problems"], "summary": "One problem",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
                "responses": {"200": {"description": "ok", "content": {"application/geo+json": {"schema": {"$ref": "#/components/schemas/ProblemFeature"}}}}}
            }}},
            "components": {"schemas": {"ProblemFeature": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}}
        });
        let html = render(&doc);
        assert!(html.contains("a &lt;b&gt;"));
        assert!(html.contains("<code>/api/v1/problems/{id}</code>"));
        assert!(html.contains("string (uuid)"));
        assert!(html.contains("href=\"#schema-ProblemFeature\""));
        assert!(html.contains("id=\"schema-ProblemFeature\""));
        assert!(!html.contains("<script"), "no scripts");
        assert!(!html.contains("https://"), "nothing external");
    }
}
