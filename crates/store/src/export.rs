//! Exports for people and other tools: problems as GeoJSON (RFC 7946, WGS-84 `[lon, lat]`) and
//! CSV, the event log as CSV. Each streams from one query, i.e. one consistent snapshot, without
//! holding all rows in memory.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use civmap_domain::Problem;

use crate::codec::{
    EVENT_SELECT, PROBLEM_SELECT, PROBLEM_SELECT_LEN, event_from_row, problem_from_row,
};
use crate::error::StoreError;
use crate::sql::col;
use crate::store::Store;

fn out_err(e: &std::io::Error) -> StoreError {
    StoreError::Io {
        path: "export output".into(),
        message: e.to_string(),
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// Where an imported problem came from: the import's source name and the row's id there
/// (`None` for problems reported in civmap); and what the public reads for its description when
/// the street office set it (`public_texts`, migration 7).
#[derive(Debug, Clone, Copy, Default)]
struct Origin<'a> {
    source: Option<&'a str>,
    external_id: Option<&'a str>,
    public_text: Option<&'a str>,
    hidden: bool,
}

/// Column of `source` after [`PROBLEM_SELECT`]'s columns; `external_id` follows.
const ORIGIN_COL: usize = PROBLEM_SELECT_LEN;

async fn each_problem(
    store: &Store,
    f: &mut (dyn FnMut(&Problem, Origin<'_>) -> Result<(), StoreError> + Send),
) -> Result<(), StoreError> {
    let mut c = store.acquire().await?;
    c.conn(store.location())
        .each(
            &format!(
                "SELECT {PROBLEM_SELECT}, source, external_id, \
                 (SELECT t.text FROM public_texts t WHERE t.problem = problems.id), \
                 (SELECT CASE WHEN t.hidden THEN CAST(1 AS BIGINT) ELSE CAST(0 AS BIGINT) END \
                  FROM public_texts t WHERE t.problem = problems.id) \
                 FROM problems ORDER BY id"
            ),
            vec![],
            &mut |r| {
                let origin = Origin {
                    source: r.opt_str(ORIGIN_COL).map_err(col)?,
                    external_id: r.opt_str(ORIGIN_COL + 1).map_err(col)?,
                    public_text: r.opt_str(ORIGIN_COL + 2).map_err(col)?,
                    hidden: r.opt_i64(ORIGIN_COL + 3).map_err(col)? == Some(1),
                };
                f(&problem_from_row(r)?, origin)
            },
        )
        .await
}

async fn geojson<W: Write + Send>(store: &Store, mut w: W) -> Result<u64, StoreError> {
    w.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[\n")
        .map_err(|e| out_err(&e))?;
    let mut n = 0u64;
    each_problem(store, &mut |p, origin| {
        let feature = serde_json::json!({
            "type": "Feature",
            "id": p.id.to_string(),
            "geometry": {"type": "Point", "coordinates": [p.location.lon(), p.location.lat()]},
            "properties": {
                "case_no": p.case_no.map(|c| c.to_string()),
                "place": p.place,
                "category": p.category,
                "severity": p.severity.as_str(),
                "status": p.status.as_str(),
                "description": p.description,
                "reported_at": time(p.reported_at),
                "updated_at": time(p.updated_at),
                "deadline": p.deadline.map(time),
                "reporter": p.reporter.map(|u| u.to_string()),
                "assignee": p.assignee.map(|u| u.to_string()),
                "zone": p.zone.map(|z| z.to_string()),
                "rework_count": p.rework_count,
                "recurrence_of": p.recurrence_of.map(|x| x.to_string()),
                "merged_into": p.merged_into.map(|x| x.to_string()),
                "version": p.version,
                "source": origin.source,
                "external_id": origin.external_id,
                "public_description": origin.public_text,
                "description_hidden": origin.hidden,
            }
        });
        if n > 0 {
            w.write_all(b",\n").map_err(|e| out_err(&e))?;
        }
        serde_json::to_writer(&mut w, &feature).map_err(|e| out_err(&std::io::Error::other(e)))?;
        n += 1;
        Ok(())
    })
    .await?;
    w.write_all(b"\n]}\n").map_err(|e| out_err(&e))?;
    w.flush().map_err(|e| out_err(&e))?;
    Ok(n)
}

const BOM: &[u8] = "\u{feff}".as_bytes();

fn csv_err(e: &csv::Error) -> StoreError {
    StoreError::Io {
        path: "export output".into(),
        message: e.to_string(),
    }
}

async fn problems_csv<W: Write + Send>(store: &Store, mut w: W) -> Result<u64, StoreError> {
    w.write_all(BOM).map_err(|e| out_err(&e))?;
    let mut out = csv::Writer::from_writer(w);
    out.write_record([
        "id",
        "case_no",
        "place",
        "lon",
        "lat",
        "category",
        "severity",
        "status",
        "description",
        "reported_at",
        "updated_at",
        "deadline",
        "reporter",
        "assignee",
        "zone",
        "rework_count",
        "recurrence_of",
        "merged_into",
        "version",
        "source",
        "external_id",
        "public_description",
        "description_hidden",
    ])
    .map_err(|e| csv_err(&e))?;
    let mut n = 0u64;
    each_problem(store, &mut |p, origin| {
        out.write_record([
            p.id.to_string(),
            opt(p.case_no),
            p.place.clone(),
            p.location.lon().to_string(),
            p.location.lat().to_string(),
            p.category.clone(),
            p.severity.as_str().to_owned(),
            p.status.as_str().to_owned(),
            p.description.clone(),
            time(p.reported_at),
            time(p.updated_at),
            opt(p.deadline.map(time)),
            opt(p.reporter),
            opt(p.assignee),
            opt(p.zone),
            p.rework_count.to_string(),
            opt(p.recurrence_of),
            opt(p.merged_into),
            p.version.to_string(),
            opt(origin.source),
            opt(origin.external_id),
            opt(origin.public_text),
            origin.hidden.to_string(),
        ])
        .map_err(|e| csv_err(&e))?;
        n += 1;
        Ok(())
    })
    .await?;
    out.flush().map_err(|e| out_err(&e))?;
    Ok(n)
}

async fn events_csv<W: Write + Send>(store: &Store, mut w: W) -> Result<u64, StoreError> {
    w.write_all(BOM).map_err(|e| out_err(&e))?;
    let mut out = csv::Writer::from_writer(w);
    out.write_record([
        "seq", "problem", "kind", "actor", "at", "note", "photos", "data",
    ])
    .map_err(|e| csv_err(&e))?;
    let mut n = 0u64;
    let mut c = store.acquire().await?;
    c.conn(store.location())
        .each(
            &format!("SELECT {EVENT_SELECT} FROM events ORDER BY seq"),
            vec![],
            &mut |r| {
                let e = event_from_row(r)?;
                out.write_record([
                    e.seq.to_string(),
                    e.problem.to_string(),
                    e.kind.as_str().to_owned(),
                    opt(e.actor),
                    time(e.at),
                    e.note,
                    e.photos.join(";"),
                    e.data.to_string(),
                ])
                .map_err(|e| csv_err(&e))?;
                n += 1;
                Ok(())
            },
        )
        .await?;
    out.flush().map_err(|e| out_err(&e))?;
    Ok(n)
}

impl Store {
    /// Every problem as an RFC 7946 GeoJSON `FeatureCollection` (WGS-84, `[lon, lat]`), streamed
    /// from one snapshot; returns the number of features.
    pub async fn export_geojson<W: std::io::Write + Send>(&self, w: W) -> Result<u64, StoreError> {
        geojson(self, w).await
    }

    /// Every problem as CSV (UTF-8 with a byte-order mark, so Excel shows Chinese text), one row
    /// per problem; returns the number of rows.
    pub async fn export_csv<W: std::io::Write + Send>(&self, w: W) -> Result<u64, StoreError> {
        problems_csv(self, w).await
    }

    /// The event log (the rectification ledger, 整改台账) as CSV, oldest first; returns the
    /// number of rows.
    pub async fn export_events_csv<W: std::io::Write + Send>(
        &self,
        w: W,
    ) -> Result<u64, StoreError> {
        events_csv(self, w).await
    }
}
