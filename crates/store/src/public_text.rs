//! The codec of the public wording of problem descriptions (migration 7, table
//! `public_texts`, [`PublicText`]): what the street office lets the public read instead of a
//! description as written, or that it is hidden. A table of its own beside `problems` (whose row
//! and codec stay as they are); written through the group-commit writer with its `edited` event
//! (`Store::set_public_text`), read whole at start (`Store::load_public_texts`).

use civmap_domain::{ProblemId, UserId};

use crate::codec::{from_ms, ms, ms_precision};
use crate::error::StoreError;
use crate::sql::{Arg, Get, col};
use crate::types::PublicText;

/// The columns, in the order of [`args`] and [`from_row`].
pub(crate) const COLS: [&str; 5] = ["problem", "text", "hidden", "updated_at", "updated_by"];

pub(crate) fn args(t: &PublicText) -> Vec<Arg> {
    vec![
        t.problem.0.into(),
        t.text.as_str().into(),
        Arg::Bool(t.hidden),
        ms(t.updated_at).into(),
        t.updated_by.map(|u| u.0).into(),
    ]
}

/// The row as the store keeps it: its time to the millisecond.
pub(crate) fn stored(t: &PublicText) -> PublicText {
    PublicText {
        updated_at: ms_precision(t.updated_at),
        ..t.clone()
    }
}

pub(crate) fn from_row(r: &dyn Get) -> Result<PublicText, StoreError> {
    Ok(PublicText {
        problem: ProblemId(r.uuid(0).map_err(col)?),
        text: r.str(1).map_err(col)?.to_owned(),
        hidden: r.bool(2).map_err(col)?,
        updated_at: from_ms(r.i64(3).map_err(col)?)?,
        updated_by: r.opt_uuid(4).map_err(col)?.map(UserId),
    })
}

/// `INSERT ... ON CONFLICT DO UPDATE` of one row ([`args`]), written only when the problem
/// exists and `updated_by` (the event's actor) is a known user or nobody: a row count of 0 means
/// one of them is missing.
pub(crate) fn upsert_sql() -> String {
    format!(
        "INSERT INTO public_texts ({}) SELECT $1, $2, $3, $4, $5 \
         WHERE EXISTS (SELECT 1 FROM problems WHERE id = $1) \
         AND ($5 IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = $5)) \
         ON CONFLICT (problem) DO UPDATE SET text = excluded.text, hidden = excluded.hidden, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        COLS.join(", ")
    )
}
