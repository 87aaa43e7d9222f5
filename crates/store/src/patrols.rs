//! Patrols and check-ins (migration 10). Memory holds none of it: the service reads these
//! tables when asked (a street has tens of patrols a day), and writes go through the
//! group-commit writer like every other write. A track is stored in chunks, one row per append,
//! numbered inside the writer's transaction.

use chrono::{DateTime, Utc};
use civmap_domain::patrol::{CheckIn, CheckInId, Patrol, PatrolId, TrackPoint};
use civmap_domain::{UserId, ZoneId};

use crate::codec::from_ms;
use crate::error::StoreError;
use crate::sql::{Arg, Get, col};
use crate::store::Store;

const PATROL_COLS: &str = "id, chief, street, started_at, ended_at";
const CHECK_IN_COLS: &str = "id, zone, patrol, chief, at, lon, lat, photos, note";
/// The patrols that overlap `[$1, $2)` (ms): started before its end, not ended before its
/// start (the track query below says the same of `p.`).
const OVERLAPS: &str = "started_at < $2 AND (ended_at IS NULL OR ended_at >= $1)";

fn ms(t: DateTime<Utc>) -> Arg {
    Arg::I64(Some(t.timestamp_millis()))
}

fn patrol_from_row(r: &dyn Get) -> Result<Patrol, StoreError> {
    Ok(Patrol {
        id: PatrolId(r.uuid(0).map_err(col)?),
        chief: UserId(r.uuid(1).map_err(col)?),
        street: r.str(2).map_err(col)?.to_owned(),
        started_at: from_ms(r.i64(3).map_err(col)?)?,
        ended_at: r.opt_i64(4).map_err(col)?.map(from_ms).transpose()?,
        track: Vec::new(),
    })
}

/// A chunk as stored: `[lon, lat, t_ms, accuracy_m]` per position.
type Chunk = Vec<(f64, f64, i64, f64)>;

fn chunk_json(points: &[TrackPoint]) -> String {
    let rows: Chunk = points
        .iter()
        .map(|p| (p.lon, p.lat, p.at.timestamp_millis(), p.accuracy_m))
        .collect();
    serde_json::to_string(&rows).unwrap_or_else(|_| "[]".to_owned())
}

fn chunk_from_row(r: &dyn Get) -> Result<(PatrolId, Vec<TrackPoint>), StoreError> {
    let id = PatrolId(r.uuid(0).map_err(col)?);
    let rows: Chunk = serde_json::from_str(r.str(1).map_err(col)?)
        .map_err(|e| StoreError::corrupt(format!("patrol {id}: track chunk: {e}")))?;
    let points = rows
        .into_iter()
        .map(|(lon, lat, t, accuracy_m)| {
            Ok(TrackPoint {
                lon,
                lat,
                at: from_ms(t)?,
                accuracy_m,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok((id, points))
}

fn check_in_from_row(r: &dyn Get) -> Result<CheckIn, StoreError> {
    let id = CheckInId(r.uuid(0).map_err(col)?);
    let location = match (r.opt_f64(5).map_err(col)?, r.opt_f64(6).map_err(col)?) {
        (Some(lon), Some(lat)) => Some((lon, lat)),
        _ => None,
    };
    Ok(CheckIn {
        id,
        zone: ZoneId(r.uuid(1).map_err(col)?),
        patrol: r.opt_uuid(2).map_err(col)?.map(PatrolId),
        chief: UserId(r.uuid(3).map_err(col)?),
        at: from_ms(r.i64(4).map_err(col)?)?,
        location,
        photos: serde_json::from_str(r.str(7).map_err(col)?)
            .map_err(|e| StoreError::corrupt(format!("check-in {id}: photos: {e}")))?,
        note: r.str(8).map_err(col)?.to_owned(),
    })
}

/// The statement appending `points` to `patrol`'s track as its next chunk.
fn append_statement(patrol: PatrolId, points: &[TrackPoint]) -> (String, Vec<Arg>) {
    (
        "INSERT INTO patrol_tracks (patrol, seq, points) \
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2 FROM patrol_tracks WHERE patrol = $1"
            .to_owned(),
        vec![patrol.0.into(), chunk_json(points).into()],
    )
}

impl Store {
    /// Stores a new patrol (its track, if any, as the first chunk).
    pub async fn insert_patrol(&self, p: &Patrol) -> Result<(), StoreError> {
        let mut stmts = vec![(
            format!("INSERT INTO patrols ({PATROL_COLS}) VALUES ($1, $2, $3, $4, $5)"),
            vec![
                p.id.0.into(),
                p.chief.0.into(),
                p.street.as_str().into(),
                ms(p.started_at),
                Arg::I64(p.ended_at.as_ref().map(DateTime::timestamp_millis)),
            ],
        )];
        if !p.track.is_empty() {
            stmts.push(append_statement(p.id, &p.track));
        }
        self.statements(stmts).await.map(drop)
    }

    /// Appends `points` to the track of `patrol` and, with `end`, ends it then (an ended
    /// patrol keeps its first end time). Both in one transaction.
    pub async fn append_patrol(
        &self,
        patrol: PatrolId,
        points: &[TrackPoint],
        end: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let mut stmts = Vec::new();
        if !points.is_empty() {
            stmts.push(append_statement(patrol, points));
        }
        if let Some(end) = end {
            stmts.push((
                "UPDATE patrols SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL".to_owned(),
                vec![patrol.0.into(), ms(end)],
            ));
        }
        if stmts.is_empty() {
            return Ok(());
        }
        self.statements(stmts).await.map(drop)
    }

    /// One patrol with its whole track.
    pub async fn get_patrol(&self, id: PatrolId) -> Result<Option<Patrol>, StoreError> {
        let Some(mut p) = self
            .read_all(
                &format!("SELECT {PATROL_COLS} FROM patrols WHERE id = $1"),
                vec![id.0.into()],
                &patrol_from_row,
            )
            .await?
            .pop()
        else {
            return Ok(None);
        };
        for (_, points) in self
            .read_all(
                "SELECT patrol, points FROM patrol_tracks WHERE patrol = $1 ORDER BY seq",
                vec![id.0.into()],
                &chunk_from_row,
            )
            .await?
        {
            p.track.extend(points);
        }
        Ok(Some(p))
    }

    /// The patrols under way at some time in `[from, to)`, with their tracks, by start.
    pub async fn patrols_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Patrol>, StoreError> {
        let mut patrols = self
            .read_all(
                &format!(
                    "SELECT {PATROL_COLS} FROM patrols WHERE {OVERLAPS} ORDER BY started_at, id"
                ),
                vec![ms(from), ms(to)],
                &patrol_from_row,
            )
            .await?;
        let chunks = self
            .read_all(
                "SELECT t.patrol, t.points FROM patrol_tracks t JOIN patrols p ON p.id = t.patrol \
                 WHERE p.started_at < $2 AND (p.ended_at IS NULL OR p.ended_at >= $1) \
                 ORDER BY t.patrol, t.seq",
                vec![ms(from), ms(to)],
                &chunk_from_row,
            )
            .await?;
        let index: std::collections::HashMap<PatrolId, usize> =
            patrols.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
        for (id, points) in chunks {
            if let Some(&i) = index.get(&id) {
                patrols[i].track.extend(points);
            }
        }
        Ok(patrols)
    }

    /// Stores a check-in.
    pub async fn insert_check_in(&self, c: &CheckIn) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO check_ins ({CHECK_IN_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        );
        let args = vec![
            c.id.0.into(),
            c.zone.0.into(),
            c.patrol.map(|p| p.0).into(),
            c.chief.0.into(),
            ms(c.at),
            Arg::F64(c.location.map(|l| l.0)),
            Arg::F64(c.location.map(|l| l.1)),
            serde_json::to_string(&c.photos)
                .unwrap_or_else(|_| "[]".to_owned())
                .into(),
            c.note.as_str().into(),
        ];
        self.statements(vec![(sql, args)]).await.map(drop)
    }

    /// The check-ins made in `[from, to)`, by time.
    pub async fn check_ins_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CheckIn>, StoreError> {
        self.read_all(
            &format!(
                "SELECT {CHECK_IN_COLS} FROM check_ins WHERE at >= $1 AND at < $2 ORDER BY at, id"
            ),
            vec![ms(from), ms(to)],
            &check_in_from_row,
        )
        .await
    }
}
