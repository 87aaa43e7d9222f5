//! The OpenAPI 3.0 rendering of the (3.1) API document, for clients that only read 3.0.
//!
//! utoipa writes OpenAPI 3.1.0. OGC API - Features - Part 1 knows only the `oas30` conformance
//! class, and its clients look for a `service-desc` link of media type
//! `application/vnd.oai.openapi+json;version=3.0` (`OWSLib`'s `Features.api()` finds nothing
//! else). So the OGC landing page links both documents, each with its own version in the media
//! type, and `/ogc/conformance` declares `oas30` because the 3.0 document exists and validates.
//!
//! The rewrite covers the 3.1 constructs utoipa emits: `type: [T, "null"]` and
//! `oneOf: [X, {"type": "null"}]` become `nullable: true`; a `$ref` with sibling keywords (which
//! 3.0 ignores) is wrapped in `allOf`; `propertyNames` (not in 3.0) is dropped.

use serde_json::{Map, Value};

/// The version written into the rewritten document.
pub const VERSION: &str = "3.0.3";

/// The OpenAPI 3.0 form of the 3.1 document `doc`.
#[must_use]
pub fn downgrade(doc: &Value) -> Value {
    let mut out = schema_walk(doc, false);
    if let Some(o) = out.as_object_mut() {
        o.insert("openapi".into(), Value::String(VERSION.into()));
        // 3.1-only top-level members.
        o.remove("jsonSchemaDialect");
        o.remove("webhooks");
        if let Some(Value::Object(lic)) = o.get_mut("info").and_then(|i| i.get_mut("license")) {
            lic.remove("identifier");
        }
    }
    out
}

/// Rewrites `v`; `names` is true when `v` is a map of names (`properties`), whose keys are not
/// keywords.
fn schema_walk(v: &Value, names: bool) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.iter().map(|x| schema_walk(x, false)).collect()),
        Value::Object(m) if names => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), schema_walk(x, false)))
                .collect(),
        ),
        Value::Object(m) => {
            let mut o: Map<String, Value> = m
                .iter()
                .map(|(k, x)| (k.clone(), schema_walk(x, k == "properties")))
                .collect();
            rewrite(&mut o);
            Value::Object(o)
        }
        other => other.clone(),
    }
}

fn is_null_schema(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| o.len() == 1 && o.get("type") == Some(&Value::String("null".into())))
}

/// The 3.1 → 3.0 rewrite of one object (its members already rewritten).
fn rewrite(o: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = o.get("type").cloned() {
        let rest: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if rest.len() < types.len() {
            o.insert("nullable".into(), Value::Bool(true));
        }
        match rest.len() {
            0 => {
                o.remove("type");
            }
            1 => {
                o.insert("type".into(), rest[0].clone());
            }
            _ => {
                // Several types: 3.0 says it with oneOf.
                o.remove("type");
                let alts = rest
                    .into_iter()
                    .map(|t| Value::Object(Map::from_iter([("type".to_owned(), t)])))
                    .collect();
                o.insert("oneOf".into(), Value::Array(alts));
            }
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(alts)) = o.get(key).cloned()
            && alts.iter().any(is_null_schema)
        {
            let rest: Vec<Value> = alts.into_iter().filter(|a| !is_null_schema(a)).collect();
            o.remove(key);
            o.insert("nullable".into(), Value::Bool(true));
            let k = if rest.len() == 1 { "allOf" } else { key };
            o.insert(k.into(), Value::Array(rest));
        }
    }
    o.remove("propertyNames");
    if o.len() > 1
        && let Some(r) = o.remove("$ref")
    {
        let target = Value::Object(Map::from_iter([("$ref".to_owned(), r)]));
        o.insert("allOf".into(), Value::Array(vec![target]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nullable_types_refs_and_names() {
        let d = json!({
            "openapi": "3.1.0",
            "components": {"schemas": {"A": {"type": "object", "properties": {
                "type": {"type": ["string", "null"]},
                "propertyNames": {"$ref": "#/components/schemas/B", "description": "d"},
                "c": {"oneOf": [{"$ref": "#/components/schemas/B"}, {"type": "null"}]},
                "m": {"type": "object", "propertyNames": {"type": "string"}},
            }}}}
        });
        let v = downgrade(&d);
        assert_eq!(v["openapi"], "3.0.3");
        let p = &v["components"]["schemas"]["A"]["properties"];
        assert_eq!(p["type"], json!({"type": "string", "nullable": true}));
        assert_eq!(
            p["propertyNames"],
            json!({"allOf": [{"$ref": "#/components/schemas/B"}], "description": "d"})
        );
        assert_eq!(
            p["c"],
            json!({"allOf": [{"$ref": "#/components/schemas/B"}], "nullable": true})
        );
        assert_eq!(p["m"], json!({"type": "object"}));
    }
}
