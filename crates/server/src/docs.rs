//! The readable API page (`/api/docs`): a static HTML rendering of the OpenAPI document — paths
//! grouped by tag with their parameters, bodies and responses, then every schema. Generated
//! from the same document as `/api/v1/openapi.json`; no scripts, nothing loaded from elsewhere.

use std::fmt::Write as _;

use serde_json::Value;

/// Renders the OpenAPI document (as JSON) to a self-contained HTML page.
#[must_use]
pub fn render(doc: &Value) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let title = doc["info"]["title"].as_str().unwrap_or("API");
    let version = doc["info"]["version"].as_str().unwrap_or("");
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{} API</title><style>{CSS}</style></head><body><header><h1>{} <small>{}</small></h1><p>{}</p>\
<p>Machine-readable: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a> (OpenAPI {}). \
OGC API Features: <a href=\"/ogc\">/ogc</a>. Open311 GeoReport v2: <a href=\"/open311/v2/discovery.json\">/open311/v2/discovery.json</a>.</p></header>",
        esc(title),
        esc(title),
        esc(version),
        esc(doc["info"]["description"].as_str().unwrap_or("")),
        esc(doc["openapi"].as_str().unwrap_or("3")),
    );

    // Operations grouped by their first tag, in the order tags are declared.
    let mut tags: Vec<String> = doc["tags"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|x| x["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut ops: Vec<(String, String, String, &Value)> = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                if let Some(op) = item.get(method) {
                    let tag = op["tags"][0].as_str().unwrap_or("other").to_owned();
                    if !tags.contains(&tag) {
                        tags.push(tag.clone());
                    }
                    ops.push((tag, path.clone(), method.to_owned(), op));
                }
            }
        }
    }
    h.push_str("<nav><h2>Contents</h2><ul>");
    for t in &tags {
        let _ = write!(h, "<li><a href=\"#tag-{}\">{}</a></li>", anchor(t), esc(t));
    }
    h.push_str("<li><a href=\"#schemas\">Schemas</a></li></ul></nav><main>");
    for t in &tags {
        let desc = doc["tags"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == t.as_str()))
            .and_then(|x| x["description"].as_str())
            .unwrap_or("");
        let _ = write!(
            h,
            "<section id=\"tag-{}\"><h2>{}</h2><p>{}</p>",
            anchor(t),
            esc(t),
            esc(desc)
        );
        for (_, path, method, op) in ops.iter().filter(|o| &o.0 == t) {
            operation(&mut h, path, method, op);
        }
        h.push_str("</section>");
    }
    h.push_str("<section id=\"schemas\"><h2>Schemas</h2>");
    if let Some(schemas) = doc["components"]["schemas"].as_object() {
        for (name, s) in schemas {
            let _ = write!(
                h,
                "<article class=\"schema\" id=\"schema-{}\"><h3>{}</h3>",
                anchor(name),
                esc(name)
            );
            if let Some(d) = s["description"].as_str() {
                let _ = write!(h, "<p>{}</p>", esc(d));
            }
            schema_table(&mut h, s);
            h.push_str("</article>");
        }
    }
    h.push_str("</section></main></body></html>\n");
    h
}

fn operation(h: &mut String, path: &str, method: &str, op: &Value) {
    let _ = write!(
        h,
        "<article class=\"op\"><h3><span class=\"m {m}\">{M}</span> <code>{p}</code></h3>",
        m = method,
        M = method.to_ascii_uppercase(),
        p = esc(path)
    );
    if let Some(s) = op["summary"].as_str() {
        let _ = write!(h, "<p class=\"summary\">{}</p>", esc(s));
    }
    if let Some(d) = op["description"].as_str() {
        let _ = write!(h, "<p>{}</p>", esc(d));
    }
    if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
        h.push_str("<table><tr><th>parameter</th><th>in</th><th>type</th><th>required</th><th>description</th></tr>");
        for p in params {
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(p["name"].as_str().unwrap_or("")),
                esc(p["in"].as_str().unwrap_or("")),
                type_of(&p["schema"]),
                if p["required"].as_bool().unwrap_or(false) {
                    "yes"
                } else {
                    "no"
                },
                esc(p["description"].as_str().unwrap_or(""))
            );
        }
        h.push_str("</table>");
    }
    if let Some(content) = op["requestBody"]["content"].as_object() {
        for (ct, body) in content {
            let _ = write!(
                h,
                "<p><b>Body</b> <code>{}</code>: {}</p>",
                esc(ct),
                type_of(&body["schema"])
            );
        }
    }
    if let Some(responses) = op["responses"].as_object() {
        h.push_str("<table><tr><th>status</th><th>meaning</th><th>body</th></tr>");
        for (status, r) in responses {
            let body = r["content"]
                .as_object()
                .map(|c| {
                    c.iter()
                        .map(|(ct, v)| {
                            format!("<code>{}</code> {}", esc(ct), type_of(&v["schema"]))
                        })
                        .collect::<Vec<_>>()
                        .join("<br>")
                })
                .unwrap_or_default();
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(status),
                esc(r["description"].as_str().unwrap_or("")),
                body
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</article>");
}

fn schema_table(h: &mut String, s: &Value) {
    let Some(props) = s["properties"].as_object() else {
        let _ = write!(h, "<p>{}</p>", type_of(s));
        return;
    };
    let required: Vec<&str> = s["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    h.push_str("<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>");
    for (name, p) in props {
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            type_of(p),
            if required.contains(&name.as_str()) {
                "yes"
            } else {
                "no"
            },
            esc(p["description"].as_str().unwrap_or(""))
        );
    }
    h.push_str("</table>");
}

/// A short human description of a schema: a link for references, `array of X`, the type.
fn type_of(s: &Value) -> String {
    if let Some(r) = s["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("<a href=\"#schema-{}\">{}</a>", anchor(name), esc(name));
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(alts) = s[key].as_array() {
            return alts
                .iter()
                .map(type_of)
                .filter(|t| t != "null")
                .collect::<Vec<_>>()
                .join(" | ");
        }
    }
    match &s["type"] {
        Value::String(t) if t == "array" => format!("array of {}", type_of(&s["items"])),
        Value::String(t) => {
            let mut out = esc(t);
            if let Some(f) = s["format"].as_str() {
                let _ = write!(out, " ({})", esc(f));
            }
            out
        }
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .map(|t| {
                if t == "array" {
                    format!("array of {}", type_of(&s["items"]))
                } else {
                    esc(t)
                }
            })
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".to_owned(),
    }
}

fn anchor(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// Escapes text for HTML.
#[must_use]
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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
