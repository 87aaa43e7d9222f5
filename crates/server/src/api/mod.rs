//! `/api/v1`: problems (create, read, edit, list with filters and cursor pagination, one
//! endpoint per lifecycle step, history, the reporter's answer after verification), zones,
//! points of interest, categories and assignments. Geometry is RFC 7946 GeoJSON (lon, lat).

pub mod catalog;
pub mod common;
pub mod feedback;
pub mod inspections;
pub mod problems;
pub mod public_text;
pub mod zones;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::ServerState;

/// The `/api/v1` routes with their OpenAPI declarations.
pub fn router() -> OpenApiRouter<ServerState> {
    OpenApiRouter::new()
        .routes(routes!(problems::list_problems, problems::create_problem))
        .routes(routes!(problems::search_problems))
        .routes(routes!(problems::get_problem, problems::edit_problem))
        .routes(routes!(problems::history))
        .routes(routes!(public_text::set_public_text))
        .routes(routes!(problems::dispatch))
        .routes(routes!(problems::escalate))
        .routes(routes!(problems::rectify))
        .routes(routes!(problems::reject))
        .routes(routes!(problems::verify))
        .routes(routes!(problems::recur))
        .routes(routes!(problems::merge))
        .routes(routes!(feedback::feedback))
        .routes(routes!(feedback::my_feedback))
        .routes(routes!(zones::list_zones, zones::create_zone))
        .routes(routes!(
            zones::get_zone,
            zones::put_zone,
            zones::delete_zone
        ))
        .routes(routes!(zones::zone_problems))
        .routes(routes!(zones::list_pois, zones::create_poi))
        .routes(routes!(zones::get_poi, zones::put_poi))
        .routes(routes!(catalog::list_categories))
        .routes(routes!(catalog::put_category))
        .routes(routes!(catalog::list_assignments))
        .routes(routes!(catalog::assignment_coverage))
        .routes(routes!(catalog::assign, catalog::unassign))
        .routes(routes!(catalog::list_chiefs))
        .routes(routes!(inspections::get_checklists))
        .routes(routes!(inspections::put_checklist_item))
        .routes(routes!(
            inspections::list_test_points,
            inspections::create_test_point
        ))
        .routes(routes!(inspections::test_points_from_surroundings))
        .routes(routes!(
            inspections::list_inspections,
            inspections::create_inspection
        ))
        .routes(routes!(inspections::get_inspection))
        .routes(routes!(inspections::assign_inspection))
        .routes(routes!(inspections::record_result))
        .routes(routes!(inspections::finish_inspection))
        .routes(routes!(inspections::readiness))
        .routes(routes!(
            inspections::list_notices,
            inspections::create_notice
        ))
        .routes(routes!(inspections::notices_due))
        .routes(routes!(inspections::print_notice))
}
