//! What the handlers share: the service and the HTTP metrics.

use std::sync::Arc;

use axum::extract::FromRef;
use civmap_app::App;

use crate::metrics::Metrics;

/// The router's state. Handlers take the part they need (`State<App>`, `State<Arc<Metrics>>`).
#[derive(Clone, Debug, FromRef)]
pub struct ServerState {
    pub app: App,
    pub metrics: Arc<Metrics>,
}
