//! Mock inspections (migration 6): test points, checklist items edited in the console,
//! inspections with their drawn sample, results, and rectification notices. Memory holds none
//! of it: the service reads these tables when asked (they are small: hundreds of points, a few
//! inspections a month), and writes go through the group-commit writer like every other write.

use chrono::{DateTime, Utc};
use civmap_domain::inspection::{
    ChecklistItem, Inspection, InspectionId, InspectionResult, InspectionStatus, Notice, NoticeId,
    Stratum, TestPoint, TestPointId,
};
use civmap_domain::{LonLat, ProblemId, UserId, ZoneId};

use crate::codec::from_ms;
use crate::error::StoreError;
use crate::sql::{Arg, Get, col};
use crate::store::Store;
use crate::writer::{Op, Out};

const POINT_COLS: &str = "id, kind, name, lon, lat, zone, street, owner, created_at";
const ITEM_COLS: &str = "code, name_zh, name_en, kinds, categories, weight";
const INSPECTION_COLS: &str =
    "id, name, strata, seed, sample, assignee, status, created_by, created_at, finished_at";
const RESULT_COLS: &str = "inspection, point, item, pass, weight, photos, problem, actor, at";
const NOTICE_COLS: &str =
    "id, year, seq, problem, point, unit, place, wrong, photos, deadline, issued_by, issued_at";

fn ms(t: DateTime<Utc>) -> Arg {
    Arg::I64(Some(t.timestamp_millis()))
}

fn json<T: serde::Serialize>(v: &T) -> Result<Arg, StoreError> {
    serde_json::to_string(v)
        .map(Arg::from)
        .map_err(|e| StoreError::Internal(format!("cannot write JSON: {e}")))
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(format!("{what}: {e}")))
}

fn point_from_row(r: &dyn Get) -> Result<TestPoint, StoreError> {
    let id = TestPointId(r.uuid(0).map_err(col)?);
    let location = LonLat::new(r.f64(3).map_err(col)?, r.f64(4).map_err(col)?)
        .map_err(|e| StoreError::corrupt(format!("test point {id}: {e}")))?;
    Ok(TestPoint {
        id,
        kind: r.str(1).map_err(col)?.to_owned(),
        name: r.str(2).map_err(col)?.to_owned(),
        location,
        zone: r.opt_uuid(5).map_err(col)?.map(ZoneId),
        street: r.str(6).map_err(col)?.to_owned(),
        owner: r.str(7).map_err(col)?.to_owned(),
        created_at: from_ms(r.i64(8).map_err(col)?)?,
    })
}

fn item_from_row(r: &dyn Get) -> Result<ChecklistItem, StoreError> {
    let code = r.str(0).map_err(col)?.to_owned();
    Ok(ChecklistItem {
        zh: r.str(1).map_err(col)?.to_owned(),
        en: r.str(2).map_err(col)?.to_owned(),
        kinds: parse(
            &format!("checklist item {code}: kinds"),
            r.str(3).map_err(col)?,
        )?,
        categories: parse(
            &format!("checklist item {code}: categories"),
            r.str(4).map_err(col)?,
        )?,
        weight: r.f64(5).map_err(col)?,
        code,
    })
}

fn inspection_from_row(r: &dyn Get) -> Result<Inspection, StoreError> {
    let id = InspectionId(r.uuid(0).map_err(col)?);
    let what = |f: &str| format!("inspection {id}: {f}");
    let status = r.str(6).map_err(col)?;
    let sample: Vec<uuid::Uuid> = parse(&what("sample"), r.str(4).map_err(col)?)?;
    let strata: Vec<Stratum> = parse(&what("strata"), r.str(2).map_err(col)?)?;
    Ok(Inspection {
        id,
        name: r.str(1).map_err(col)?.to_owned(),
        strata,
        // Stored as the same 64 bits.
        seed: r.i64(3).map_err(col)?.cast_unsigned(),
        sample: sample.into_iter().map(TestPointId).collect(),
        assignee: r.opt_uuid(5).map_err(col)?.map(UserId),
        status: InspectionStatus::parse(status)
            .ok_or_else(|| StoreError::corrupt(what(&format!("status {status:?}"))))?,
        created_by: r.opt_uuid(7).map_err(col)?.map(UserId),
        created_at: from_ms(r.i64(8).map_err(col)?)?,
        finished_at: r.opt_i64(9).map_err(col)?.map(from_ms).transpose()?,
    })
}

fn result_from_row(r: &dyn Get) -> Result<InspectionResult, StoreError> {
    Ok(InspectionResult {
        inspection: InspectionId(r.uuid(0).map_err(col)?),
        point: TestPointId(r.uuid(1).map_err(col)?),
        item: r.str(2).map_err(col)?.to_owned(),
        pass: r.bool(3).map_err(col)?,
        weight: r.f64(4).map_err(col)?,
        photos: parse("inspection result photos", r.str(5).map_err(col)?)?,
        problem: r.opt_uuid(6).map_err(col)?.map(ProblemId),
        actor: r.opt_uuid(7).map_err(col)?.map(UserId),
        at: from_ms(r.i64(8).map_err(col)?)?,
    })
}

fn notice_from_row(r: &dyn Get) -> Result<Notice, StoreError> {
    let id = NoticeId(r.uuid(0).map_err(col)?);
    let bad = |f: &str| StoreError::corrupt(format!("notice {id}: {f} out of range"));
    Ok(Notice {
        id,
        year: i32::try_from(r.i64(1).map_err(col)?).map_err(|_| bad("year"))?,
        seq: u32::try_from(r.i64(2).map_err(col)?).map_err(|_| bad("seq"))?,
        problem: r.opt_uuid(3).map_err(col)?.map(ProblemId),
        point: r.opt_uuid(4).map_err(col)?.map(TestPointId),
        unit: r.str(5).map_err(col)?.to_owned(),
        place: r.str(6).map_err(col)?.to_owned(),
        wrong: r.str(7).map_err(col)?.to_owned(),
        photos: parse("notice photos", r.str(8).map_err(col)?)?,
        deadline: from_ms(r.i64(9).map_err(col)?)?,
        issued_by: r.opt_uuid(10).map_err(col)?.map(UserId),
        issued_at: from_ms(r.i64(11).map_err(col)?)?,
    })
}

impl Store {
    pub(crate) async fn statements(
        &self,
        stmts: Vec<(String, Vec<Arg>)>,
    ) -> Result<bool, StoreError> {
        match self.submit(Op::Statements(stmts)).await? {
            Out::Flag(b) => Ok(b),
            other => Err(StoreError::Internal(format!(
                "writer answered {other:?} to statements"
            ))),
        }
    }

    // ---- test points ---------------------------------------------------------------------

    /// Inserts or replaces a test point by id. [`StoreError::Conflict`] when another point
    /// stands for the same zone.
    pub async fn upsert_test_point(&self, p: &TestPoint) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO test_points ({POINT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, \
             lon = excluded.lon, lat = excluded.lat, zone = excluded.zone, \
             street = excluded.street, owner = excluded.owner"
        );
        let args = vec![
            p.id.0.into(),
            p.kind.as_str().into(),
            p.name.as_str().into(),
            p.location.lon().into(),
            p.location.lat().into(),
            p.zone.map(|z| z.0).into(),
            p.street.as_str().into(),
            p.owner.as_str().into(),
            ms(p.created_at),
        ];
        self.statements(vec![(sql, args)]).await.map(drop)
    }

    /// Every test point, by id.
    pub async fn list_test_points(&self) -> Result<Vec<TestPoint>, StoreError> {
        self.read_all(
            &format!("SELECT {POINT_COLS} FROM test_points ORDER BY id"),
            vec![],
            &point_from_row,
        )
        .await
    }

    // ---- checklist items -----------------------------------------------------------------

    /// Inserts or replaces a checklist item by code.
    pub async fn upsert_checklist_item(&self, i: &ChecklistItem) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO checklist_items ({ITEM_COLS}) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, \
             name_en = excluded.name_en, kinds = excluded.kinds, \
             categories = excluded.categories, weight = excluded.weight"
        );
        let args = vec![
            i.code.as_str().into(),
            i.zh.as_str().into(),
            i.en.as_str().into(),
            json(&i.kinds)?,
            json(&i.categories)?,
            i.weight.into(),
        ];
        self.statements(vec![(sql, args)]).await.map(drop)
    }

    /// Every checklist item edited in the console, by code.
    pub async fn list_checklist_items(&self) -> Result<Vec<ChecklistItem>, StoreError> {
        self.read_all(
            &format!("SELECT {ITEM_COLS} FROM checklist_items ORDER BY code"),
            vec![],
            &item_from_row,
        )
        .await
    }

    // ---- inspections ---------------------------------------------------------------------

    /// Inserts or replaces an inspection by id (its sample, inspector and status).
    pub async fn upsert_inspection(&self, i: &Inspection) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO inspections ({INSPECTION_COLS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, assignee = excluded.assignee, \
             status = excluded.status, finished_at = excluded.finished_at"
        );
        let sample: Vec<uuid::Uuid> = i.sample.iter().map(|p| p.0).collect();
        let args = vec![
            i.id.0.into(),
            i.name.as_str().into(),
            json(&i.strata)?,
            Arg::I64(Some(i.seed.cast_signed())),
            json(&sample)?,
            i.assignee.map(|u| u.0).into(),
            Arg::Static(i.status.as_str()),
            i.created_by.map(|u| u.0).into(),
            ms(i.created_at),
            Arg::I64(i.finished_at.as_ref().map(DateTime::timestamp_millis)),
        ];
        self.statements(vec![(sql, args)]).await.map(drop)
    }

    /// Every inspection, oldest first.
    pub async fn list_inspections(&self) -> Result<Vec<Inspection>, StoreError> {
        self.read_all(
            &format!("SELECT {INSPECTION_COLS} FROM inspections ORDER BY id"),
            vec![],
            &inspection_from_row,
        )
        .await
    }

    /// One inspection.
    pub async fn get_inspection(&self, id: InspectionId) -> Result<Option<Inspection>, StoreError> {
        Ok(self
            .read_all(
                &format!("SELECT {INSPECTION_COLS} FROM inspections WHERE id = $1"),
                vec![id.0.into()],
                &inspection_from_row,
            )
            .await?
            .pop())
    }

    // ---- results -------------------------------------------------------------------------

    /// Records an item's outcome at a point, replacing an earlier outcome of the same item
    /// there in the same inspection.
    pub async fn put_inspection_result(&self, r: &InspectionResult) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO inspection_results ({RESULT_COLS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (inspection, point, item) DO UPDATE SET pass = excluded.pass, \
             weight = excluded.weight, photos = excluded.photos, problem = excluded.problem, \
             actor = excluded.actor, at = excluded.at"
        );
        let args = vec![
            r.inspection.0.into(),
            r.point.0.into(),
            r.item.as_str().into(),
            r.pass.into(),
            r.weight.into(),
            json(&r.photos)?,
            r.problem.map(|p| p.0).into(),
            r.actor.map(|u| u.0).into(),
            ms(r.at),
        ];
        self.statements(vec![(sql, args)]).await.map(drop)
    }

    /// The results of one inspection, or of all (`None`), in inspection then time order.
    pub async fn inspection_results(
        &self,
        inspection: Option<InspectionId>,
    ) -> Result<Vec<InspectionResult>, StoreError> {
        match inspection {
            Some(id) => {
                self.read_all(
                    &format!(
                        "SELECT {RESULT_COLS} FROM inspection_results WHERE inspection = $1 \
                         ORDER BY at, point, item"
                    ),
                    vec![id.0.into()],
                    &result_from_row,
                )
                .await
            }
            None => {
                self.read_all(
                    &format!(
                        "SELECT {RESULT_COLS} FROM inspection_results \
                         ORDER BY inspection, at, point, item"
                    ),
                    vec![],
                    &result_from_row,
                )
                .await
            }
        }
    }

    // ---- notices -------------------------------------------------------------------------

    /// Stores a notice with the next number of its year (`n.seq` is ignored) and answers it as
    /// stored. The number is taken inside the writer's transaction, so two notices never get
    /// the same one; notices are never deleted, so no number is reused.
    pub async fn insert_notice(&self, n: &Notice) -> Result<Notice, StoreError> {
        let sql = format!(
            "INSERT INTO notices ({NOTICE_COLS}) \
             SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
             FROM notices WHERE year = $2"
        );
        let args = vec![
            n.id.0.into(),
            i64::from(n.year).into(),
            n.problem.map(|p| p.0).into(),
            n.point.map(|p| p.0).into(),
            n.unit.as_str().into(),
            n.place.as_str().into(),
            n.wrong.as_str().into(),
            json(&n.photos)?,
            ms(n.deadline),
            n.issued_by.map(|u| u.0).into(),
            ms(n.issued_at),
        ];
        self.statements(vec![(sql, args)]).await?;
        self.read_all(
            &format!("SELECT {NOTICE_COLS} FROM notices WHERE id = $1"),
            vec![n.id.0.into()],
            &notice_from_row,
        )
        .await?
        .pop()
        .ok_or_else(|| StoreError::Internal(format!("notice {} vanished after its insert", n.id)))
    }

    /// Every notice, by number.
    pub async fn list_notices(&self) -> Result<Vec<Notice>, StoreError> {
        self.read_all(
            &format!("SELECT {NOTICE_COLS} FROM notices ORDER BY year, seq"),
            vec![],
            &notice_from_row,
        )
        .await
    }
}
