//! Photos: what an upload may carry ([`strip`]), thumbnails ([`thumbs`]) and storing and
//! serving them ([`photos`]).

pub mod photos;
pub mod strip;
pub mod thumbs;
