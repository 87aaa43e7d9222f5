//! Photos: what an upload may carry ([`strip`]), thumbnails ([`thumbs`]), the memory decodes
//! may take ([`budget`]) and storing and serving them ([`photos`]).

pub mod budget;
pub mod photos;
pub mod strip;
pub mod thumbs;
