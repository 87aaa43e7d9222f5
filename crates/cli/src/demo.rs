//! `civmap serve --demo`: fills an empty database with the demo — the real OpenStreetMap extract
//! of the Tongji/Siping area of Shanghai (四平路街道, Yangpu, next to Hongkou; shipped in
//! `data/osm/`, ODbL) with its schools and parks, zones built from it, demo chiefs assigned to
//! them, and a seeded synthetic set of problems labelled 【演示数据 demo】.

use anyhow::{Context, Result};
use chrono::{Duration, Utc};
use civmap_domain::{Action, CategoryTable, EventKind, Poi, PoiId, Role, User, UserId, Zone};
use civmap_geodata::demo::{self, DemoOptions};
use civmap_geodata::street::{self, RoadOptions};
use civmap_geodata::zones::{self, SurroundingsRadii};
use civmap_geodata::{extract, osm, poi::PoiTable};
use civmap_store::{NewEvent, Store};
use geo::{Intersects, Point};

/// The demo area, compiled in so `--demo` works from any directory.
const DEMO_OSM: &[u8] = include_bytes!("../../../data/osm/tongji_siping_yangpu.osm");
/// 四平路街道 (Siping Road subdistrict, Yangpu): the street office of the demo area.
const DEMO_STREET: &str = "310110009";
/// The password of every demo account, so the demo (and the browser tests) can sign in. Set
/// ONLY by `serve --demo` on an empty database, and printed in its log; real accounts are made
/// with `civmap user add`, which reads the password from standard input.
pub const DEMO_PASSWORD: &str = "civmap-demo";

/// The demo area's OpenStreetMap data.
pub fn osm() -> Result<osm::OsmData> {
    osm::read_xml(DEMO_OSM).context("reading the demo OSM extract")
}

/// Loads the demo into `store` when it holds no problems yet, its problems reported over the
/// weeks before now.
pub async fn load_if_empty(store: &Store, categories: &CategoryTable) -> Result<()> {
    load_if_empty_at(store, categories, Utc::now()).await
}

/// [`load_if_empty`] with the synthetic problems reported over the weeks before `now` (a fixed
/// instant gives the same demo on every run: the golden heat test uses it).
// One straight sequence of glue steps; splitting it would only scatter the order.
#[allow(clippy::too_many_lines)]
pub async fn load_if_empty_at(
    store: &Store,
    categories: &CategoryTable,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    // The basemap the tiles draw (also into a demo database made before it was kept).
    if store.basemap_count().await? == 0 {
        let data = osm()?;
        let ex = extract::extract(&data, &PoiTable::builtin());
        let features = civmap_app::tiles::basemap::basemap_from_osm(&data, &ex);
        store.replace_basemap(&features).await?;
        tracing::info!(features = features.len(), "demo: basemap stored");
    }
    // The road ways, as `import osm` keeps them: a zone's road length in the patrol figures
    // is measured on them, and routes are planned on them.
    if store.road_way_count().await? == 0 {
        let ways = civmap_app::planning::network::road_ways(&osm()?);
        store.replace_road_ways(&ways).await?;
        tracing::info!(ways = ways.len(), "demo: road ways stored");
    }
    if !store.load_problems().await?.is_empty() {
        tracing::info!("demo: the database already has problems; keeping them");
        return Ok(());
    }
    let t0 = std::time::Instant::now();
    let data = osm()?;
    let ex = extract::extract(&data, &PoiTable::builtin());

    // Points of interest and their three-surroundings zones.
    let mut chief_zones: Vec<(Zone, Role, String)> = Vec::new();
    let mut all_zones: Vec<Zone> = Vec::new();
    for p in &ex.pois {
        let poi = Poi {
            id: PoiId::new(),
            kind: p.kind,
            name: p.display_name(),
            geometry: p.geometry.clone(),
            external_id: Some(p.external_id.clone()),
        };
        store.upsert_poi(&poi).await?;
        let shape = zones::surroundings_zone(p, &SurroundingsRadii::default())?;
        all_zones.push(shape.into_zone(Some(poi.id)));
        if p.kind == civmap_domain::PoiKind::School {
            // The school gate: a point-chief's zone (点长). The demo keeps one zone per school at
            // its centre, as it always had (`import osm` puts them at the mapped gates), so its
            // chiefs and dispatches stay the same.
            let centre =
                geo::Centroid::centroid(&p.geometry).context("a school without a position")?;
            let shape = zones::point_zone(
                &format!("{} 校门", poi.name),
                civmap_domain::LonLat::new(centre.x(), centre.y())?,
                street::DEFAULT_GATE_RADIUS_M,
                &format!("point:{}", p.external_id),
            )?;
            let zone = shape.into_zone(Some(poi.id));
            chief_zones.push((zone, Role::PointChief, format!("点长·{}", poi.name)));
        }
    }

    // Road-chiefs (路长) for the named roads that carry traffic, one zone per road (uncut, so
    // the demo keeps one road-chief per road).
    let uncut = RoadOptions {
        stretch_m: None,
        ..RoadOptions::default()
    };
    for shape in street::road_zones(&ex.roads, &uncut, None)? {
        let chief = format!("路长·{}", shape.name);
        chief_zones.push((shape.into_zone(None), Role::RoadChief, chief));
    }

    // The area: two halves of the extract for two area-chiefs (片长), and the 100 m grid.
    let [x0, y0, x1, y1] = demo::extent(&ex).context("the demo extract is empty")?;
    let xm = f64::midpoint(x0, x1);
    for (a, b, side) in [(x0, xm, "西"), (xm, x1, "东")] {
        let rect = geo::Rect::new((a, y0), (b, y1)).to_polygon();
        let shape = zones::area_zone(
            &format!("演示片区·{side}"),
            &geo::Geometry::Polygon(rect),
            &format!("area:demo-{side}"),
        )?;
        chief_zones.push((
            shape.into_zone(None),
            Role::AreaChief,
            format!("片长·{side}片"),
        ));
    }
    let outline = geo::MultiPolygon(vec![geo::Rect::new((x0, y0), (x1, y1)).to_polygon()]);
    let grid = street::grid_zones(&outline, DEMO_STREET, zones::DEFAULT_GRID_CELL_M)?;
    all_zones.extend(grid.into_iter().map(|c| c.into_zone(None)));

    // Demo accounts, all with the demo password (one hash, shared: this is a demo): an
    // admin, the street office, a reporter, and one chief per chief zone, each assigned its zone.
    // The street office has no street code, so it sees every demo problem (a few synthetic ones
    // lie just outside the grid).
    let demo_hash = civmap_app::accounts::passwords::hash_password(DEMO_PASSWORD)
        .map_err(|e| anyhow::anyhow!("hashing the demo password: {e}"))?;
    let mut names = Vec::new();
    for (name, display, role) in [
        ("demo-admin", "演示管理员", Role::Admin),
        ("demo-office", "演示街道办", Role::StreetOffice),
        ("demo-reporter", "演示网格员", Role::Reporter),
    ] {
        store
            .create_user(&User {
                id: UserId::new(),
                name: name.into(),
                display_name: display.into(),
                role,
                street: None,
                password_hash: demo_hash.clone(),
                disabled: false,
                created_at: Utc::now(),
            })
            .await?;
        names.push(name.to_owned());
    }
    let mut owners: Vec<(Zone, UserId)> = Vec::new();
    for (n, (zone, role, display)) in chief_zones.into_iter().enumerate() {
        let user = User {
            id: UserId::new(),
            name: format!("demo-{}-{}", role.as_str().replace('_', "-"), n + 1),
            display_name: display,
            role,
            street: Some(DEMO_STREET.into()),
            password_hash: demo_hash.clone(),
            disabled: false,
            created_at: Utc::now(),
        };
        names.push(user.name.clone());
        store.create_user(&user).await?;
        store.upsert_zone(&zone).await?;
        store.assign(zone.id, user.id).await?;
        owners.push((zone, user.id));
    }
    for z in &all_zones {
        store.upsert_zone(z).await?;
    }
    // Most specific zone first: a problem goes to the point-chief before the road-chief before
    // the area-chief.
    owners.sort_by_key(|(z, _)| z.kind.dispatch_rank());

    // The synthetic problems, reported over the last weeks.
    let opts = DemoOptions {
        now,
        ..DemoOptions::default()
    };
    let planned = demo::synthetic_problems(&ex, &opts);
    let places = civmap_app::tiles::basemap::gazetteer(
        &civmap_app::tiles::basemap::basemap_from_osm(&data, &ex),
    );
    let mut items = Vec::with_capacity(planned.len());
    for p in &planned {
        let mut problem = p
            .report
            .clone()
            .validate(categories, None, p.reported_at)
            .context("a demo problem is invalid")?;
        problem.place = places.describe(problem.location.lon(), problem.location.lat());
        items.push((problem, p.external_id.clone()));
    }
    let problems: Vec<_> = items.iter().map(|(p, _)| p.clone()).collect();
    store.import_problems(items, "demo").await?;

    // Each problem's steps in order; problems side by side, so the store's group commit puts
    // many of them into one transaction.
    let owners = std::sync::Arc::new(owners);
    let categories = std::sync::Arc::new(categories.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for (problem, plan) in problems.into_iter().zip(planned.iter().cloned()) {
        let (store, owners, categories) = (store.clone(), owners.clone(), categories.clone());
        tasks
            .spawn(async move { replay(&store, &owners, &categories, problem, &plan.steps).await });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a demo task panicked")??;
    }
    tracing::info!(
        password = DEMO_PASSWORD,
        accounts = %names.join(" "),
        "demo: accounts for signing in (DEMO ONLY; real accounts: `civmap user add`)"
    );
    tracing::info!(
        pois = ex.pois.len(),
        zones = all_zones.len() + owners.len(),
        problems = planned.len(),
        elapsed_ms = t0.elapsed().as_millis() as u64,
        "demo: loaded the Tongji/Siping area (OSM, ODbL) with synthetic problems"
    );
    Ok(())
}

/// Applies the planned lifecycle steps to a stored demo problem, each with its event.
async fn replay(
    store: &Store,
    owners: &[(Zone, UserId)],
    categories: &CategoryTable,
    mut problem: civmap_domain::Problem,
    steps: &[(Action, chrono::DateTime<Utc>)],
) -> Result<()> {
    for &(action, at) in steps {
        let before = problem.version;
        problem.transition(action, at)?;
        let mut ev = NewEvent::new(EventKind::from(action), at);
        if action == Action::Dispatch {
            let here = Point::new(problem.location.lon(), problem.location.lat());
            if let Some((zone, user)) = owners.iter().find(|(z, _)| z.geometry.intersects(&here)) {
                problem.assignee = Some(*user);
                problem.zone = Some(zone.id);
            }
            let hours = categories
                .by_code(&problem.category)
                .map_or(8, |c| c.deadline_hours);
            problem.deadline = Some(at + Duration::hours(i64::from(hours)));
            ev.note = "演示数据：自动派单".into();
        }
        ev.actor = if action == Action::Rectify {
            problem.assignee
        } else {
            None
        };
        store.update_problem(&problem, before, ev).await?;
    }
    Ok(())
}
