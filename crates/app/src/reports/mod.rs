//! What staff read about their work, as typed rows (the server renders them as JSON, CSV or
//! a printable page): the inbox, a grid worker's own reports, the assessment (综合评价),
//! recurrence hot spots, a zone's rectification ledger (整改台账) and the street office's problem
//! table.

pub mod assessment;
pub mod feed;
pub mod hotspots;
pub mod inbox;
pub mod ledger;
pub mod table;
