//! The one cursor codec of every paged list: a kind prefix (`p1.` problems, `z1.` zones, `i1.`
//! points of interest) and the last id of the page as 32 hex digits. Opaque to clients; a
//! cursor of another list or made up is a 400 naming `cursor`.

use std::collections::BTreeMap;
use std::ops::Bound;

use uuid::Uuid;

use crate::error::ApiError;

/// Cursors of problem lists.
pub const PROBLEMS: &str = "p1.";
/// Cursors of zone lists.
pub const ZONES: &str = "z1.";
/// Cursors of point-of-interest lists.
pub const POIS: &str = "i1.";

/// The opaque cursor after `id` in the list of `kind`.
#[must_use]
pub fn encode(kind: &str, id: Uuid) -> String {
    format!("{kind}{}", id.simple())
}

/// Reads a cursor made by [`encode`] for `kind`; 400 naming `cursor` otherwise.
pub fn decode(kind: &str, s: &str) -> Result<Uuid, ApiError> {
    s.strip_prefix(kind)
        .filter(|h| h.len() == 32)
        .and_then(|h| Uuid::parse_str(h).ok())
        .ok_or_else(|| ApiError::bad_param("cursor", "not a cursor returned by this server"))
}

/// A page of `map` in key order after `after`: at most `limit` values that `keep`, and the key
/// of the last one when more follow.
pub fn page<K: Ord + Copy, V>(
    map: &BTreeMap<K, V>,
    after: Option<K>,
    limit: usize,
    mut keep: impl FnMut(&K, &V) -> bool,
) -> (Vec<&V>, Option<K>) {
    let start = after.map_or(Bound::Unbounded, Bound::Excluded);
    let mut out: Vec<(&K, &V)> = map
        .range((start, Bound::Unbounded))
        .filter(|(k, v)| keep(k, v))
        .take(limit + 1)
        .collect();
    let next = (out.len() > limit).then(|| {
        out.truncate(limit);
        out.last().map(|(k, _)| **k)
    });
    (out.into_iter().map(|(_, v)| v).collect(), next.flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_other_kinds() {
        let id = Uuid::now_v7();
        let c = encode(PROBLEMS, id);
        assert_eq!(decode(PROBLEMS, &c).unwrap(), id);
        assert_eq!(decode(ZONES, &c).unwrap_err().field(), Some("cursor"));
        assert!(decode(PROBLEMS, "p1.xyz").is_err());
        let map: BTreeMap<u32, u32> = (0..10).map(|i| (i, i * 10)).collect();
        let (page1, next) = page(&map, None, 3, |_, v| *v != 10);
        assert_eq!((page1, next), (vec![&0, &20, &30], Some(3)));
        let (page2, next) = page(&map, next, 100, |_, _| true);
        assert_eq!(page2.len(), 6);
        assert_eq!(next, None);
    }
}
