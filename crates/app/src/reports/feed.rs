//! Following a place: the new and the fixed problems of a zone or a drawn area, newest first,
//! as entries of a public feed (the server renders them as Atom). Feed readers are anonymous
//! and often public (a neighbourhood committee's page, the press), so every entry is the public
//! view whoever asks: the category, the place (generalised for indoor categories), the status
//! and the description with personal data masked; no names, notes or photos.

use chrono::{DateTime, Utc};
use civmap_domain::{EventKind, Problem, ProblemId, Status, ZoneId};
use civmap_index::Filter;

use crate::app::App;
use crate::error::ServiceError;
use crate::page::{case_no, place, status_zh};
use crate::privacy::{generalise_place, is_generalised, mask_personal, public_lon_lat};
use crate::spatial::Spatial;

/// Entries a feed holds at most (feed readers poll; older entries they already have).
pub const MAX_FEED_ENTRIES: usize = 100;
/// Problems of one area a feed looks at, at most: far above any street's count, a bound on
/// the work of one request.
const MAX_FEED_PROBLEMS: usize = 200_000;
/// Characters of the description an entry's summary carries.
const SUMMARY_CHARS: usize = 140;

/// What an entry announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedEntryKind {
    /// A problem was reported.
    New,
    /// A problem's rectification was verified (closed).
    Fixed,
}

/// One entry of a feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEntry {
    pub problem: ProblemId,
    pub kind: FeedEntryKind,
    pub case_no: String,
    /// When it was reported or verified.
    pub at: DateTime<Utc>,
    /// `新问题：违停 · 四平路1239号附近` / `已整改：…`.
    pub title: String,
    /// The status and the masked description.
    pub summary: String,
}

/// A feed: its title and entries, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    pub title: String,
    pub entries: Vec<FeedEntry>,
    /// The newest entry's time; the feed's creation time when it has none.
    pub updated: DateTime<Utc>,
}

impl App {
    /// The feed of zone `zone` (`NotFound` when there is no such zone).
    pub async fn zone_feed(&self, zone: ZoneId) -> Result<Feed, ServiceError> {
        let name = self
            .zones()
            .map
            .get(&zone)
            .map(|z| z.name.clone())
            .ok_or_else(|| ServiceError::NotFound(format!("no zone {zone}")))?;
        self.feed(&[Spatial::Zone(zone)], format!("{name} · 问题动态"))
            .await
    }

    /// The feed of the problems matching every condition of `spatial` (a box, a polygon).
    pub async fn area_feed(&self, spatial: &[Spatial]) -> Result<Feed, ServiceError> {
        self.feed(spatial, "所选区域 · 问题动态".to_owned()).await
    }

    async fn feed(&self, spatial: &[Spatial], title: String) -> Result<Feed, ServiceError> {
        let page = self.query(spatial, &Filter::default(), None, MAX_FEED_PROBLEMS)?;
        let problems: Vec<Problem> = page
            .ids
            .iter()
            .filter_map(|id| self.problem(*id).ok())
            .filter(|p| p.status != Status::Merged)
            .collect();
        // When each closed problem was verified: its last verification.
        let closed: Vec<ProblemId> = problems
            .iter()
            .filter(|p| p.status == Status::Closed)
            .map(|p| p.id)
            .collect();
        let mut verified = std::collections::HashMap::new();
        for e in self.store().events_for_problems(&closed).await? {
            if e.kind == EventKind::Verified {
                verified.insert(e.problem, e.at);
            }
        }
        let mut entries = Vec::with_capacity(problems.len() * 2);
        for p in &problems {
            entries.push(self.entry(p, FeedEntryKind::New, p.reported_at));
            if let Some(at) = verified.get(&p.id) {
                entries.push(self.entry(p, FeedEntryKind::Fixed, *at));
            }
        }
        // Newest first; the same instant in a stable order (fixed after new, then by id).
        entries.sort_by(|a, b| {
            (b.at, b.kind == FeedEntryKind::Fixed, b.problem).cmp(&(
                a.at,
                a.kind == FeedEntryKind::Fixed,
                a.problem,
            ))
        });
        entries.truncate(MAX_FEED_ENTRIES);
        let updated = entries.first().map_or_else(Utc::now, |e| e.at);
        Ok(Feed {
            title,
            entries,
            updated,
        })
    }

    /// An entry as the public reads it.
    fn entry(&self, p: &Problem, kind: FeedEntryKind, at: DateTime<Utc>) -> FeedEntry {
        let table = self.categories();
        let category = table
            .by_code(&p.category)
            .map_or_else(|| p.category.clone(), |c| c.name_zh.clone());
        let generalised = table
            .id(&p.category)
            .is_ok_and(|c| is_generalised(&table, c));
        let place = place(p);
        let place = if generalised {
            generalise_place(&place)
        } else {
            place
        };
        let place = if place.is_empty() {
            let (pos, _) = table
                .id(&p.category)
                .map_or(([p.location.lon(), p.location.lat()], false), |c| {
                    public_lon_lat(&table, c, p.location.lon(), p.location.lat())
                });
            format!("{:.4}, {:.4}", pos[1], pos[0])
        } else {
            place
        };
        let head = match kind {
            FeedEntryKind::New => "新问题",
            FeedEntryKind::Fixed => "已整改",
        };
        let description: String = mask_personal(&p.description)
            .chars()
            .take(SUMMARY_CHARS)
            .collect();
        let summary = if description.is_empty() {
            format!("状态：{}", status_zh(p.status))
        } else {
            format!("状态：{}。{description}", status_zh(p.status))
        };
        FeedEntry {
            problem: p.id,
            kind,
            case_no: case_no(p),
            at,
            title: format!("{head}：{category} · {place}"),
            summary,
        }
    }
}
