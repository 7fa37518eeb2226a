//! Home: per product, assigned of total as a bar.

use crate::error::WebResult;
use crate::session::Signed;
use crate::view::{html, percent, Chrome};
use crate::WebState;
use askama::Template;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use skuld_app::Action;

pub fn routes() -> Router<WebState> {
    Router::new().route("/home", get(show))
}

struct Bar {
    name: String,
    part: String,
    assigned: i64,
    total: i64,
    width: i64,
}

#[derive(Template)]
#[template(path = "home/home.html")]
struct Home {
    chrome: Chrome,
    products: Vec<Bar>,
}

async fn show(
    axum::extract::State(state): axum::extract::State<WebState>,
    signed: Signed,
) -> Response {
    page(&state, &signed).await
}

/// The home page of a signed-in user (also what `GET /` shows a browser).
pub async fn page(state: &WebState, signed: &Signed) -> Response {
    use axum::response::IntoResponse;
    render(state, signed)
        .await
        .unwrap_or_else(|e| e.into_response())
}

async fn render(state: &WebState, signed: &Signed) -> WebResult {
    let products = if signed.may(Action::ReadLicenses) {
        state
            .app
            .sku_rows(&signed.tenant)
            .await?
            .into_iter()
            .map(|r| Bar {
                width: percent(r.assigned, r.total),
                name: r.display_name,
                part: r.part_number,
                assigned: r.assigned,
                total: r.total,
            })
            .collect()
    } else {
        Vec::new()
    };
    html(&Home {
        chrome: Chrome::new(signed, "Home", "/"),
        products,
    })
}
