//! Reading the features of a GeoJSON `FeatureCollection` one at a time, in memory bounded by the
//! largest feature whatever the file's size: `serde_json` drives a visitor over the top-level
//! object and hands each element of `features` to the caller as soon as it is parsed, without
//! building the array. A single `Feature` at the top level (a small file by nature) is read
//! whole and handed over as feature 0.

use std::fmt;
use std::io::Read;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why reading stopped.
#[derive(Debug)]
pub enum StreamError<E> {
    /// Not JSON, or the reader failed.
    Json(serde_json::Error),
    /// JSON, but not a `FeatureCollection` or a `Feature` (with the feature's index when one
    /// feature is the problem).
    Shape {
        index: Option<usize>,
        message: String,
    },
    /// The caller stopped at a feature with its own error.
    Caller(E),
}

/// Calls `f` with each feature of `input` and its 0-based index, in file order; answers the
/// number of features.
pub fn for_each_feature<R: Read, E>(
    input: R,
    mut f: impl FnMut(usize, geojson::Feature) -> Result<(), E>,
) -> Result<usize, StreamError<E>> {
    let mut state = State {
        f: &mut f,
        count: 0,
        stop: None,
    };
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(input));
    let result = Top { state: &mut state }.deserialize(&mut de);
    // The caller's error or a feature's shape comes first: serde only carries a message.
    if let Some(stop) = state.stop.take() {
        return Err(stop);
    }
    let top = result.map_err(StreamError::Json)?;
    de.end().map_err(StreamError::Json)?;
    match top {
        TopKind::Collection => Ok(state.count),
        TopKind::Feature(obj) => {
            let feature =
                serde_json::from_value::<geojson::Feature>(Value::Object(obj)).map_err(|e| {
                    StreamError::Shape {
                        index: Some(0),
                        message: e.to_string(),
                    }
                })?;
            f(0, feature).map_err(StreamError::Caller)?;
            Ok(1)
        }
    }
}

struct State<'f, F, E> {
    f: &'f mut F,
    count: usize,
    /// Why the visitor stopped, kept here with its type (a serde error only has a message).
    stop: Option<StreamError<E>>,
}

/// What the top-level object was.
enum TopKind {
    Collection,
    /// A single feature, its members as read.
    Feature(Map<String, Value>),
}

struct Top<'s, 'f, F, E> {
    state: &'s mut State<'f, F, E>,
}

impl<'de, F, E> DeserializeSeed<'de> for Top<'_, '_, F, E>
where
    F: FnMut(usize, geojson::Feature) -> Result<(), E>,
{
    type Value = TopKind;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<TopKind, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F, E> Visitor<'de> for Top<'_, '_, F, E>
where
    F: FnMut(usize, geojson::Feature) -> Result<(), E>,
{
    type Value = TopKind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a GeoJSON FeatureCollection or Feature object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopKind, A::Error> {
        // Members other than `features` are small (type, bbox, crs, name; a single feature's
        // geometry and properties): kept to tell a Feature from a FeatureCollection.
        let mut rest = Map::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "features" {
                map.next_value_seed(Features {
                    state: &mut *self.state,
                })?;
                streamed = true;
            } else {
                rest.insert(key, map.next_value::<Value>()?);
            }
        }
        match rest.get("type").and_then(Value::as_str) {
            Some("FeatureCollection") if streamed => Ok(TopKind::Collection),
            Some("FeatureCollection") => {
                Err(de::Error::custom("a FeatureCollection without `features`"))
            }
            Some("Feature") if !streamed => Ok(TopKind::Feature(rest)),
            Some(other) => Err(de::Error::custom(format!(
                "a bare Geometry ({other}); expected a FeatureCollection or a Feature"
            ))),
            None => Err(de::Error::custom(
                "no `type`; expected a FeatureCollection or a Feature",
            )),
        }
    }
}

struct Features<'s, 'f, F, E> {
    state: &'s mut State<'f, F, E>,
}

impl<'de, F, E> DeserializeSeed<'de> for Features<'_, '_, F, E>
where
    F: FnMut(usize, geojson::Feature) -> Result<(), E>,
{
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F, E> Visitor<'de> for Features<'_, '_, F, E>
where
    F: FnMut(usize, geojson::Feature) -> Result<(), E>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of GeoJSON Features")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let state = self.state;
        while let Some(obj) = seq.next_element::<Map<String, Value>>()? {
            let index = state.count;
            state.count += 1;
            let feature = match serde_json::from_value::<geojson::Feature>(Value::Object(obj)) {
                Ok(f) => f,
                Err(e) => {
                    state.stop = Some(StreamError::Shape {
                        index: Some(index),
                        message: e.to_string(),
                    });
                    return Err(de::Error::custom("a malformed feature"));
                }
            };
            if let Err(e) = (state.f)(index, feature) {
                state.stop = Some(StreamError::Caller(e));
                return Err(de::Error::custom("stopped by the caller"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Result<Vec<(usize, String)>, String> {
        let mut out = Vec::new();
        for_each_feature(text.as_bytes(), |i, f| {
            out.push((i, f.id.map(|id| format!("{id:?}")).unwrap_or_default()));
            Ok::<_, ()>(())
        })
        .map_err(|e| match e {
            StreamError::Json(e) => format!("json {}:{} {e}", e.line(), e.column()),
            StreamError::Shape { index, message } => format!("shape {index:?} {message}"),
            StreamError::Caller(()) => "caller".into(),
        })?;
        Ok(out)
    }

    #[test]
    fn collections_single_features_and_errors() {
        let fc = r#"{"features": [
            {"type": "Feature", "id": "a", "geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": {}},
            {"type": "Feature", "id": 7, "geometry": null, "properties": null}
        ], "type": "FeatureCollection", "name": "x"}"#;
        let got = ids(fc).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].0, 1);
        let one = r#"{"type": "Feature", "id": "z", "geometry": null, "properties": {"a": 1}}"#;
        assert_eq!(ids(one).unwrap().len(), 1);
        assert!(
            ids(r#"{"type": "Point", "coordinates": [1, 2]}"#)
                .unwrap_err()
                .contains("a bare Geometry (Point)")
        );
        let bad = r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": null, "properties": null}, {"type": "Nope"}]}"#;
        assert!(ids(bad).unwrap_err().starts_with("shape Some(1)"));
        let cut = r#"{"type": "FeatureCollection", "features": [{"type": "Feature","#;
        assert!(ids(cut).unwrap_err().starts_with("json 1:"));
        let mut seen = 0;
        let e = for_each_feature(fc.as_bytes(), |_, _| {
            seen += 1;
            Err("stop")
        })
        .unwrap_err();
        assert!(matches!(e, StreamError::Caller("stop")));
        assert_eq!(seen, 1, "nothing read after the caller stopped");
    }
}
