//! Setting up a street from the console, on the service itself: a school, park or market added
//! by hand gets its three-surroundings zone at once with the configured radius; the chiefs a
//! manager may assign and the zones it may change are those of its street.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use chrono::Utc;
use civmap_app::config::Config;
use civmap_app::{Actor, App, ServiceError};
use civmap_domain::{
    CategoryTable, Poi, PoiId, PoiKind, Role, User, UserId, Zone, ZoneId, ZoneKind,
};
use civmap_store::{Store, StoreOptions};
use geo::{Contains, MultiPolygon, Point, polygon};

const LON: f64 = 121.500;
const LAT: f64 = 31.280;
/// Metres per degree of latitude (for offsets north of the centre).
const M_PER_DEG_LAT: f64 = 111_320.0;

struct World {
    app: App,
    _dir: tempfile::TempDir,
    admin: Actor,
    office_s1: Actor,
    office_any: Actor,
    chief_s1: UserId,
    chief_s1_cell: UserId,
    chief_s2: UserId,
    chief_none: UserId,
    road_chief: Actor,
}

async fn person(
    store: &Store,
    name: &str,
    role: Role,
    street: Option<&str>,
    disabled: bool,
) -> Actor {
    let u = User {
        id: UserId::new(),
        name: name.into(),
        display_name: format!("{name}·显示"),
        role,
        street: street.map(str::to_owned),
        password_hash: String::new(),
        disabled,
        created_at: Utc::now(),
    };
    store.create_user(&u).await.unwrap();
    Actor {
        user: Some(u.id),
        role,
        authenticated: true,
        ip: None,
        token: None,
    }
}

fn square(half: f64, code: Option<&str>) -> Zone {
    Zone {
        id: ZoneId::new(),
        kind: ZoneKind::Area,
        name: "片区".into(),
        poi_kind: None,
        poi: None,
        code: code.map(str::to_owned),
        geometry: MultiPolygon(vec![polygon![
            (x: LON - half, y: LAT - half),
            (x: LON + half, y: LAT - half),
            (x: LON + half, y: LAT + half),
            (x: LON - half, y: LAT + half),
            (x: LON - half, y: LAT - half),
        ]]),
        external_id: None,
    }
}

async fn world(tune: impl FnOnce(&mut Config)) -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Store::open(
        &url,
        StoreOptions {
            synchronous_full: false,
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap();
    let admin = person(&store, "admin", Role::Admin, None, false).await;
    let office_s1 = person(&store, "jiedao", Role::StreetOffice, Some("S1"), false).await;
    let office_any = person(&store, "jiedao2", Role::StreetOffice, None, false).await;
    let chief_s1 = person(&store, "luzhang", Role::RoadChief, Some("S1"), false).await;
    let chief_s1_cell = person(
        &store,
        "dianzhang",
        Role::PointChief,
        Some("S1-R1C1"),
        false,
    )
    .await;
    let chief_s2 = person(&store, "luzhang2", Role::RoadChief, Some("S2"), false).await;
    let _s10 = person(&store, "pianzhang10", Role::AreaChief, Some("S10"), false).await;
    let chief_none = person(&store, "wujie", Role::AreaChief, None, false).await;
    let _gone = person(&store, "tuixiu", Role::RoadChief, Some("S1"), true).await;
    let _reporter = person(&store, "wanggeyuan", Role::Reporter, Some("S1"), false).await;
    let mut config = Config::default();
    config.workflow.escalation_check_s = 0;
    tune(&mut config);
    let app = App::load(store, CategoryTable::builtin(), config)
        .await
        .unwrap();
    World {
        app,
        _dir: dir,
        admin,
        office_s1,
        office_any,
        chief_s1: chief_s1.user.unwrap(),
        chief_s1_cell: chief_s1_cell.user.unwrap(),
        chief_s2: chief_s2.user.unwrap(),
        chief_none: chief_none.user.unwrap(),
        road_chief: chief_s1,
    }
}

fn school(name: &str) -> Poi {
    Poi {
        id: PoiId::new(),
        kind: PoiKind::School,
        name: name.into(),
        geometry: geo::Geometry::Point(Point::new(LON, LAT)),
        external_id: None,
    }
}

/// The point `m` metres north of the centre.
fn north(m: f64) -> Point<f64> {
    Point::new(LON, LAT + m / M_PER_DEG_LAT)
}

fn surroundings_of(app: &App, poi: PoiId) -> Vec<Zone> {
    app.zones()
        .map
        .values()
        .filter(|z| z.kind == ZoneKind::Surroundings && z.poi == Some(poi))
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_school_added_by_hand_gets_its_surroundings_zone_at_once() {
    let w = world(|_| {}).await;
    let poi = school("新建小学");
    let made = w.app.add_poi(&w.office_s1, poi.clone()).await.unwrap();
    // Stored, and in memory at once.
    assert!(w.app.pois().contains_key(&poi.id));
    let zones = surroundings_of(&w.app, poi.id);
    assert_eq!(zones.len(), 1, "one surroundings zone");
    let z = &zones[0];
    assert_eq!(z.id, made.zone.id);
    assert_eq!(z.poi_kind, Some(PoiKind::School));
    assert!(
        z.name.contains("新建小学") && z.name.contains("200"),
        "{}",
        z.name
    );
    // The default school radius, 200 m: 190 m north is inside, 210 m is not.
    assert!(z.geometry.contains(&north(190.0)));
    assert!(!z.geometry.contains(&north(210.0)));
    // The street office's street code, so the zone is in its street.
    assert_eq!(z.code.as_deref(), Some("S1"));
    // Dispatch sees it: a position inside is in the zone.
    let inside = w.app.containing_zones(LON, LAT + 100.0 / M_PER_DEG_LAT);
    assert!(inside.contains(&z.id));

    // Replaced (moved 100 m north): the same zone id, remade around the new place; no second zone.
    let mut moved = poi.clone();
    moved.geometry = geo::Geometry::Point(north(100.0));
    w.app.add_poi(&w.office_s1, moved).await.unwrap();
    let zones = surroundings_of(&w.app, poi.id);
    assert_eq!(zones.len(), 1);
    assert_eq!(zones[0].id, made.zone.id);
    assert!(zones[0].geometry.contains(&north(290.0)));
}

#[tokio::test]
async fn the_surroundings_radius_is_the_configured_one_and_markets_have_theirs() {
    let w = world(|c| {
        c.surroundings.school_m = 300.0;
        c.surroundings.market_m = 50.0;
    })
    .await;
    let poi = school("大校");
    let z = w.app.add_poi(&w.admin, poi).await.unwrap().zone;
    assert!(z.geometry.contains(&north(290.0)));
    assert!(!z.geometry.contains(&north(310.0)));
    // Admin has no street: no code.
    assert_eq!(z.code, None);
    let market = Poi {
        id: PoiId::new(),
        kind: PoiKind::Market,
        name: "菜场".into(),
        geometry: geo::Geometry::Point(Point::new(LON, LAT)),
        external_id: None,
    };
    let z = w.app.add_poi(&w.admin, market).await.unwrap().zone;
    assert!(z.geometry.contains(&north(45.0)));
    assert!(!z.geometry.contains(&north(60.0)));
    assert_eq!(z.poi_kind, Some(PoiKind::Market));
}

#[tokio::test]
async fn only_managers_add_places_and_a_bad_place_stores_nothing() {
    let w = world(|_| {}).await;
    let e = w.app.add_poi(&w.road_chief, school("x")).await.unwrap_err();
    assert!(matches!(e, ServiceError::Forbidden(_)), "{e:?}");
    let mut bad = school("空");
    bad.geometry = geo::Geometry::MultiPolygon(MultiPolygon(vec![]));
    let e = w.app.add_poi(&w.admin, bad.clone()).await.unwrap_err();
    assert_eq!(e.field(), Some("geometry"), "{e:?}");
    assert!(
        !w.app.pois().contains_key(&bad.id),
        "the POI is not stored without its zone"
    );
    assert!(surroundings_of(&w.app, bad.id).is_empty());
}

#[tokio::test]
async fn a_street_office_lists_the_chiefs_of_its_street_only() {
    let w = world(|_| {}).await;
    let names =
        |v: Vec<civmap_app::setup::Chief>| v.into_iter().map(|c| c.name).collect::<Vec<_>>();
    let mut s1 = names(w.app.chiefs(&w.office_s1).await.unwrap());
    s1.sort();
    // Its street's chiefs (also coded below it); not S2, not S10, not chiefs without a street,
    // not a disabled chief, not a reporter.
    assert_eq!(s1, vec!["dianzhang", "luzhang"]);
    for all in [&w.admin, &w.office_any] {
        let mut every = names(w.app.chiefs(all).await.unwrap());
        every.sort();
        assert_eq!(
            every,
            vec!["dianzhang", "luzhang", "luzhang2", "pianzhang10", "wujie"]
        );
    }
    let e = w.app.chiefs(&w.road_chief).await.unwrap_err();
    assert!(matches!(e, ServiceError::Forbidden(_)), "{e:?}");
    // Each chief with its zones.
    let zone = square(0.001, Some("S1"));
    w.app.put_zone(zone.clone()).await.unwrap();
    w.app
        .assign_as(&w.office_s1, zone.id, w.chief_s1)
        .await
        .unwrap();
    let c = w.app.chiefs(&w.office_s1).await.unwrap();
    let lu = c.iter().find(|c| c.id == w.chief_s1).unwrap();
    assert_eq!(lu.zones, vec![zone.id]);
    assert_eq!(lu.role, Role::RoadChief);
    assert!(
        c.iter()
            .find(|c| c.id == w.chief_s1_cell)
            .unwrap()
            .zones
            .is_empty()
    );
}

#[tokio::test]
async fn a_street_office_changes_and_assigns_within_its_street_only() {
    let w = world(|_| {}).await;
    // A new zone without a code gets the office's street.
    let mine = square(0.001, None);
    w.app.put_zone_as(&w.office_s1, mine.clone()).await.unwrap();
    assert_eq!(w.app.zones().map[&mine.id].code.as_deref(), Some("S1"));
    // Another street's code is refused.
    let e = w
        .app
        .put_zone_as(&w.office_s1, square(0.001, Some("S2")))
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("code"), "{e:?}");
    // Another street's zone does not exist for it: not replaced, not deleted, not assigned.
    let theirs = square(0.002, Some("S2-R1C1"));
    w.app.put_zone(theirs.clone()).await.unwrap();
    let mut changed = theirs.clone();
    changed.code = Some("S1".into());
    for e in [
        w.app.put_zone_as(&w.office_s1, changed).await.unwrap_err(),
        w.app
            .delete_zone_as(&w.office_s1, theirs.id)
            .await
            .unwrap_err(),
        w.app
            .assign_as(&w.office_s1, theirs.id, w.chief_s1)
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(e, ServiceError::NotFound(_)), "{e:?}");
    }
    assert!(w.app.zones().map.contains_key(&theirs.id));
    // Its own zone takes its street's chiefs, not another street's nor a chief without one.
    w.app
        .assign_as(&w.office_s1, mine.id, w.chief_s1)
        .await
        .unwrap();
    for other in [w.chief_s2, w.chief_none] {
        let e = w
            .app
            .assign_as(&w.office_s1, mine.id, other)
            .await
            .unwrap_err();
        assert!(matches!(e, ServiceError::NotFound(_)), "{e:?}");
    }
    assert_eq!(w.app.zones_of(w.chief_s1), vec![mine.id]);
    assert!(w.app.zones_of(w.chief_s2).is_empty());
    // Admin may do what the office may not.
    w.app
        .assign_as(&w.admin, theirs.id, w.chief_s2)
        .await
        .unwrap();
    w.app
        .assign_as(&w.office_any, theirs.id, w.chief_none)
        .await
        .unwrap();
    // Unassigned and deleted.
    w.app
        .unassign_as(&w.office_s1, mine.id, w.chief_s1)
        .await
        .unwrap();
    assert!(w.app.zones_of(w.chief_s1).is_empty());
    w.app.delete_zone_as(&w.office_s1, mine.id).await.unwrap();
    assert!(!w.app.zones().map.contains_key(&mine.id));
}

#[test]
fn a_drawn_line_is_buffered_by_its_width_and_a_point_by_its_radius() {
    use civmap_app::setup::{MAX_ZONE_BUFFER_M, buffered};
    // A road stretch 200 m long, running north from the centre, 15 m each side.
    let line = geo::Geometry::LineString(geo::LineString::from(vec![
        (LON, LAT),
        (LON, LAT + 200.0 / M_PER_DEG_LAT),
    ]));
    let z = buffered(&line, 15.0).unwrap();
    let east = |m: f64| {
        // Metres east at this latitude.
        let per_deg = M_PER_DEG_LAT * LAT.to_radians().cos();
        Point::new(LON + m / per_deg, LAT + 100.0 / M_PER_DEG_LAT)
    };
    assert!(z.contains(&east(10.0)));
    assert!(!z.contains(&east(20.0)));
    let circle = buffered(&geo::Geometry::Point(Point::new(LON, LAT)), 30.0).unwrap();
    assert!(circle.contains(&north(25.0)));
    assert!(!circle.contains(&north(35.0)));
    for bad in [0.0, -1.0, f64::NAN, MAX_ZONE_BUFFER_M + 1.0] {
        let e = buffered(&line, bad).unwrap_err();
        assert_eq!(e.field(), Some("buffer_m"), "{bad}");
    }
}
