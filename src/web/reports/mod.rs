//! The reports service's pages: in public (`public.rs`: the services as icons, a report form
//! drawn from the service's definition, the receipt and tracking page, the public list and map)
//! and for its staff (`staff.rs`: the inbox, a report's page, the dashboard).

use axum::Router;

use crate::platform::state::AppState;

pub mod alerts;
pub mod public;
pub mod staff;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(public::router())
        .merge(alerts::router())
        .merge(staff::router())
}
