//! Department information pages: `/info` (every page, or those matching `?q=` in any of the
//! three languages, with the matching rows) and `/info/{code}`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::{render, Here, OrPage, Page, PageError};
use crate::content::{self, PageSpec};
use crate::platform::pictures;
use crate::platform::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/info", get(list))
        .route("/info/{code}", get(show))
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

pub struct Hit {
    pub code: String,
    pub title: String,
    pub summary: String,
    pub lines: Vec<String>,
}

#[derive(Template)]
#[template(path = "info_list.html")]
struct ListPage {
    p: Page,
    q: String,
    hits: Vec<Hit>,
}

async fn list(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Query(sq): Query<SearchQuery>,
) -> Result<Response, PageError> {
    let q =
        sq.q.unwrap_or_default()
            .chars()
            .take(100)
            .collect::<String>();
    let pages = content::pages(&state.db).await.or_page(lang)?;
    let (words, found) = content::search(&pages, &q);
    let hits = found
        .into_iter()
        .map(|p| Hit {
            code: p.code.clone(),
            title: p.title.get(lang).to_owned(),
            summary: p.summary.get(lang).to_owned(),
            lines: if words.is_empty() {
                vec![]
            } else {
                p.matching_lines(&words, lang).into_iter().take(5).collect()
            },
        })
        .collect();
    let page = ListPage {
        p: Page::new(lang, lang.t("info-title"), &uri, &csrf),
        q,
        hits,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

pub struct ItemView {
    pub picture: String,
    pub title: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "info_page.html")]
struct ShowPage {
    p: Page,
    summary: String,
    /// Paragraphs, each a list of lines; a paragraph whose lines start "- " is a list.
    blocks: Vec<(bool, Vec<String>)>,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    items: Vec<ItemView>,
    directory_kind: Option<String>,
}

fn blocks(body: &str) -> Vec<(bool, Vec<String>)> {
    body.split("\n\n")
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(|b| {
            let lines: Vec<&str> = b.lines().map(str::trim).collect();
            let list = lines.iter().all(|l| l.starts_with("- "));
            (
                list,
                lines
                    .iter()
                    .map(|l| l.strip_prefix("- ").unwrap_or(l).to_owned())
                    .collect(),
            )
        })
        .collect()
}

async fn show(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let pages = content::pages(&state.db).await.or_page(lang)?;
    let p: &PageSpec = pages
        .iter()
        .find(|p| p.code == code)
        .ok_or_else(|| PageError::not_found(lang))?;
    let (columns, rows) = match &p.table {
        Some(t) => (
            t.columns.iter().map(|c| c.get(lang).to_owned()).collect(),
            t.row
                .iter()
                .map(|r| r.cells.iter().map(|c| c.get(lang).to_owned()).collect())
                .collect(),
        ),
        None => (vec![], vec![]),
    };
    let items = p
        .item
        .iter()
        .map(|i| ItemView {
            picture: i
                .picture
                .as_deref()
                .and_then(|s| pictures::svg(s, i.title.get(lang)))
                .unwrap_or_default(),
            title: i.title.get(lang).to_owned(),
            text: i.text.get(lang).to_owned(),
        })
        .collect();
    let page = ShowPage {
        p: Page::new(lang, p.title.get(lang).to_owned(), &uri, &csrf),
        summary: p.summary.get(lang).to_owned(),
        blocks: blocks(p.body.get(lang)),
        columns,
        rows,
        items,
        directory_kind: p.directory_kind.clone(),
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}
