//! Copying every table of one database into another, from one read snapshot: what a backup of
//! PostgreSQL and every restore do, inside the target's writer transaction.
//!
//! Apart from `backup.rs`, which asks a writer for the copy, so that the writer can run it
//! without depending on the backup code that queues it.

use std::sync::Arc;

use sqlx::Connection as _;

use crate::error::{Location, StoreError, from_sqlx};
use crate::reads::{Pooled, Reads};
use crate::sql::{Arg, Conn, Get, RawConn, col, multi_insert};

#[derive(Debug, Clone, Copy)]
enum Ty {
    Uuid,
    I64,
    F64,
    Text,
    Bool,
}

struct Table {
    name: &'static str,
    cols: &'static [(&'static str, Ty)],
    /// Column to page by (the first column); `None`: small table, read at once.
    paged: bool,
}

use Ty::{Bool, F64, I64, Text, Uuid};

/// Every table, parents before children (foreign keys).
const TABLES: &[Table] = &[
    Table {
        name: "users",
        cols: &[
            ("id", Uuid),
            ("name", Text),
            ("display_name", Text),
            ("role", Text),
            ("street", Text),
            ("password_hash", Text),
            ("disabled", Bool),
            ("created_at", I64),
        ],
        paged: true,
    },
    Table {
        name: "categories",
        cols: &[
            ("code", Text),
            ("name_zh", Text),
            ("name_en", Text),
            ("weight", F64),
            ("deadline_hours", I64),
            ("service_minutes", I64),
            ("indoor", Bool),
        ],
        paged: true,
    },
    Table {
        name: "photos",
        cols: &[
            ("id", Text),
            ("mime", Text),
            ("width", I64),
            ("height", I64),
            ("bytes", I64),
            ("created_at", I64),
        ],
        paged: true,
    },
    Table {
        name: "sessions",
        cols: &[
            ("token_hash", Text),
            ("user_id", Uuid),
            ("kind", Text),
            ("created_at", I64),
            ("expires_at", I64),
            ("revoked", Bool),
        ],
        paged: true,
    },
    Table {
        name: "zones",
        cols: &[
            ("id", Uuid),
            ("kind", Text),
            ("name", Text),
            ("poi_kind", Text),
            ("poi", Uuid),
            ("code", Text),
            ("geometry", Text),
            ("min_lon", F64),
            ("min_lat", F64),
            ("max_lon", F64),
            ("max_lat", F64),
            ("external_id", Text),
        ],
        paged: true,
    },
    Table {
        name: "pois",
        cols: &[
            ("id", Uuid),
            ("kind", Text),
            ("name", Text),
            ("geometry", Text),
            ("min_lon", F64),
            ("min_lat", F64),
            ("max_lon", F64),
            ("max_lat", F64),
            ("external_id", Text),
        ],
        paged: true,
    },
    Table {
        name: "zone_assignments",
        cols: &[("zone_id", Uuid), ("user_id", Uuid)],
        paged: false,
    },
    Table {
        name: "problems",
        cols: &[
            ("id", Uuid),
            ("lon", F64),
            ("lat", F64),
            ("category", Text),
            ("severity", Text),
            ("status", Text),
            ("description", Text),
            ("reported_at", I64),
            ("reporter", Uuid),
            ("updated_at", I64),
            ("deadline", I64),
            ("assignee", Uuid),
            ("zone", Uuid),
            ("rework_count", I64),
            ("recurrence_of", Uuid),
            ("merged_into", Uuid),
            ("version", I64),
            ("source", Text),
            ("external_id", Text),
            ("case_no", Text),
            ("place", Text),
        ],
        paged: true,
    },
    Table {
        name: "case_counters",
        cols: &[("day", I64), ("last", I64)],
        paged: false,
    },
    Table {
        name: "events",
        cols: &[
            ("seq", I64),
            ("problem", Uuid),
            ("kind", Text),
            ("actor", Uuid),
            ("at", I64),
            ("note", Text),
            ("photos", Text),
            ("data", Text),
        ],
        paged: true,
    },
    Table {
        name: "public_texts",
        cols: &[
            ("problem", Uuid),
            ("text", Text),
            ("hidden", Bool),
            ("updated_at", I64),
            ("updated_by", Uuid),
        ],
        paged: true,
    },
    Table {
        name: "basemap",
        cols: &[
            ("seq", I64),
            ("layer", Text),
            ("class", Text),
            ("name", Text),
            ("geometry", Text),
            ("min_lon", F64),
            ("min_lat", F64),
            ("max_lon", F64),
            ("max_lat", F64),
            ("external_id", Text),
        ],
        paged: true,
    },
    Table {
        name: "road_ways",
        cols: &[
            ("seq", I64),
            ("way_id", I64),
            ("tags", Text),
            ("nodes", Text),
        ],
        paged: true,
    },
    Table {
        name: "test_points",
        cols: &[
            ("id", Uuid),
            ("kind", Text),
            ("name", Text),
            ("lon", F64),
            ("lat", F64),
            ("zone", Uuid),
            ("street", Text),
            ("owner", Text),
            ("created_at", I64),
        ],
        paged: true,
    },
    Table {
        name: "checklist_items",
        cols: &[
            ("code", Text),
            ("name_zh", Text),
            ("name_en", Text),
            ("kinds", Text),
            ("categories", Text),
            ("weight", F64),
        ],
        paged: true,
    },
    Table {
        name: "inspections",
        cols: &[
            ("id", Uuid),
            ("name", Text),
            ("strata", Text),
            ("seed", I64),
            ("sample", Text),
            ("assignee", Uuid),
            ("status", Text),
            ("created_by", Uuid),
            ("created_at", I64),
            ("finished_at", I64),
        ],
        paged: true,
    },
    // Not paged: its key has three columns; a street's results are thousands of rows.
    Table {
        name: "inspection_results",
        cols: &[
            ("inspection", Uuid),
            ("point", Uuid),
            ("item", Text),
            ("pass", Bool),
            ("weight", F64),
            ("photos", Text),
            ("problem", Uuid),
            ("actor", Uuid),
            ("at", I64),
        ],
        paged: false,
    },
    Table {
        name: "notices",
        cols: &[
            ("id", Uuid),
            ("year", I64),
            ("seq", I64),
            ("problem", Uuid),
            ("point", Uuid),
            ("unit", Text),
            ("place", Text),
            ("wrong", Text),
            ("photos", Text),
            ("deadline", I64),
            ("issued_by", Uuid),
            ("issued_at", I64),
        ],
        paged: true,
    },
    Table {
        name: "patrols",
        cols: &[
            ("id", Uuid),
            ("chief", Uuid),
            ("street", Text),
            ("started_at", I64),
            ("ended_at", I64),
        ],
        paged: true,
    },
    // Not paged: its key has two columns; a year of patrols is thousands of chunks.
    Table {
        name: "patrol_tracks",
        cols: &[("patrol", Uuid), ("seq", I64), ("points", Text)],
        paged: false,
    },
    Table {
        name: "check_ins",
        cols: &[
            ("id", Uuid),
            ("zone", Uuid),
            ("patrol", Uuid),
            ("chief", Uuid),
            ("at", I64),
            ("lon", F64),
            ("lat", F64),
            ("photos", Text),
            ("note", Text),
        ],
        paged: true,
    },
];

/// Rows read per page and written per statement.
const PAGE: usize = 1000;

fn read_arg(g: &dyn Get, i: usize, ty: Ty) -> Result<Arg, StoreError> {
    Ok(match ty {
        Uuid => Arg::Uuid(g.opt_uuid(i).map_err(col)?),
        I64 => Arg::I64(g.opt_i64(i).map_err(col)?),
        F64 => Arg::F64(g.opt_f64(i).map_err(col)?),
        Text => Arg::Text(g.opt_str(i).map_err(col)?.map(str::to_owned)),
        Bool => Arg::Bool(g.bool(i).map_err(col)?),
    })
}

/// The database a copy reads from: the read side of another store, and where it is.
pub(crate) struct Source {
    pub(crate) reads: Arc<Reads>,
    pub(crate) loc: Location,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("location", &self.loc.to_string())
            .finish_non_exhaustive()
    }
}

/// Refuses a database with any row in any of civmap's tables.
pub(crate) async fn ensure_empty(dst: &mut Conn<'_>) -> Result<(), StoreError> {
    for t in TABLES {
        let nonempty = dst
            .opt(
                &format!("SELECT 1 FROM {} LIMIT 1", t.name),
                vec![],
                &|_| Ok(()),
            )
            .await?
            .is_some();
        if nonempty {
            return Err(StoreError::Invalid(format!(
                "{}: the target database is not empty (table {} has rows); restore needs an empty database",
                dst.loc, t.name
            )));
        }
    }
    Ok(())
}

/// The number of rows of each of civmap's tables, parents first.
pub(crate) async fn row_counts(c: &mut Conn<'_>) -> Result<Vec<(&'static str, u64)>, StoreError> {
    let mut out = Vec::with_capacity(TABLES.len());
    for t in TABLES {
        let n = c
            .one(&format!("SELECT COUNT(*) FROM {}", t.name), vec![], &|g| {
                g.i64(0).map_err(col)
            })
            .await?;
        out.push((t.name, u64::try_from(n).unwrap_or(0)));
    }
    Ok(out)
}

/// Copies every row of `src` into `dst` (inside the caller's transaction). `dst` must be empty.
pub(crate) async fn copy_all(src: &Source, dst: &mut Conn<'_>) -> Result<(), StoreError> {
    ensure_empty(dst).await?;
    let loc = &src.loc;
    let mut pooled = src.reads.acquire(loc).await?;
    match &mut pooled {
        Pooled::Sqlite(c) => {
            // One read transaction: every SELECT below sees the same snapshot.
            let mut tx = c.begin().await.map_err(|e| from_sqlx(loc, e))?;
            let mut s = Conn {
                raw: RawConn::Sqlite(&mut tx),
                loc,
            };
            copy_tables(&mut s, dst).await?;
            tx.rollback().await.map_err(|e| from_sqlx(loc, e))?;
        }
        Pooled::Pg(c) => {
            let mut tx = c
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await
                .map_err(|e| from_sqlx(loc, e))?;
            let mut s = Conn {
                raw: RawConn::Pg(&mut tx),
                loc,
            };
            copy_tables(&mut s, dst).await?;
            tx.rollback().await.map_err(|e| from_sqlx(loc, e))?;
        }
    }
    if dst.is_pg() {
        // Restored events keep their numbers; new ones continue after them.
        dst.one(
            "SELECT setval(pg_get_serial_sequence('events', 'seq'), COALESCE(MAX(seq), 1), \
             MAX(seq) IS NOT NULL)::text FROM events",
            vec![],
            &|_| Ok(()),
        )
        .await?;
    }
    Ok(())
}

async fn copy_tables(src: &mut Conn<'_>, dst: &mut Conn<'_>) -> Result<(), StoreError> {
    for t in TABLES {
        let names: Vec<&str> = t.cols.iter().map(|c| c.0).collect();
        let list = names.join(", ");
        let key = names[0];
        let mut last: Option<Arg> = None;
        loop {
            let (sql, args) = match (&last, t.paged) {
                (_, false) => (format!("SELECT {list} FROM {}", t.name), vec![]),
                (None, true) => (
                    format!("SELECT {list} FROM {} ORDER BY {key} LIMIT {PAGE}", t.name),
                    vec![],
                ),
                (Some(k), true) => (
                    format!(
                        "SELECT {list} FROM {} WHERE {key} > $1 ORDER BY {key} LIMIT {PAGE}",
                        t.name
                    ),
                    vec![k.clone()],
                ),
            };
            let rows: Vec<Vec<Arg>> = src
                .all(&sql, args, &|g| {
                    t.cols
                        .iter()
                        .enumerate()
                        .map(|(i, (_, ty))| read_arg(g, i, *ty))
                        .collect()
                })
                .await?;
            let n = rows.len();
            for chunk in rows.chunks(PAGE) {
                let sql = multi_insert(t.name, &names, chunk.len());
                let args: Vec<Arg> = chunk.iter().flatten().cloned().collect();
                dst.exec(&sql, args).await?;
            }
            if !t.paged || n < PAGE {
                break;
            }
            last = rows.last().map(|r| r[0].clone());
        }
    }
    Ok(())
}
