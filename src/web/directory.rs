//! Directory pages: "near me" (location, or a district when there is none), a place with its
//! hours, attributes, providers and reviews, the review form (the phone proven by a one-time
//! code), the suggestion form, and the staff's verification and moderation queue.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use serde::Deserialize;

use super::staff::StaffPage;
use super::{render, Csrf, FormPost, Here, OrPage, Page, PageError, PublicWrite};
use crate::directory::model::{Hours, Kind, KindAttr};
use crate::directory::{self, index, store};
use crate::platform::error::Error;
use crate::platform::i18n::Lang;
use crate::platform::personal::Phone;
use crate::platform::state::AppState;
use crate::t;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/places", get(near))
        .route("/places/suggest", get(suggest_form).post(suggest))
        .route("/places/{uuid}", get(place))
        .route("/places/{uuid}/review", get(review_form).post(review))
        .route("/places/{uuid}/review/code", post(review_code))
        .route("/staff/directory", get(queue))
        .route("/staff/directory/places/{id}", post(decide))
        .route("/staff/directory/reviews/{id}", post(moderate))
}

fn stars(avg: f64, count: i64, lang: Lang) -> String {
    if count == 0 {
        lang.t("dir-no-reviews")
    } else {
        t!(
            lang,
            "dir-rating",
            stars = format!("{avg:.1}"),
            count = count
        )
    }
}

const DAY_CODES: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/// `Mon–Fri 09:00–17:00` in the reader's language.
fn hours_line(h: &Hours, lang: Lang) -> String {
    let days: Vec<&str> = h.byday.split(',').map(str::trim).collect();
    let idx: Vec<usize> = days
        .iter()
        .filter_map(|d| DAY_CODES.iter().position(|x| x == d))
        .collect();
    let name = |i: usize| lang.t(&format!("day-{}", DAY_CODES[i].to_lowercase()));
    let contiguous = idx.windows(2).all(|w| w[1] == w[0] + 1);
    let days = if idx.len() == 7 {
        lang.t("dir-daily")
    } else if idx.len() > 2 && contiguous {
        format!("{}–{}", name(idx[0]), name(idx[idx.len() - 1]))
    } else {
        idx.iter().map(|i| name(*i)).collect::<Vec<_>>().join("، ")
    };
    if h.opens_at == "00:00" && h.closes_at == "24:00" {
        format!("{days}: {}", lang.t("dir-24h"))
    } else {
        format!("{days}: {}–{}", h.opens_at, h.closes_at)
    }
}

fn distance(m: f64, lang: Lang) -> String {
    if m < 1000.0 {
        t!(lang, "dir-metres", metres = format!("{:.0}", m))
    } else {
        t!(lang, "dir-km", km = format!("{:.1}", m / 1000.0))
    }
}

pub struct KindTile {
    pub code: String,
    pub name: String,
    pub icon: String,
}

pub struct Filter {
    pub code: String,
    pub label: String,
    /// `bool` or `enum`
    pub kind: &'static str,
    pub checked: bool,
    pub options: Vec<(String, String, bool)>,
}

pub struct Hit {
    pub uuid: String,
    /// The place's page, carrying the point searched from (for its distance there).
    pub href: String,
    pub name: String,
    pub distance: String,
    pub rating: String,
    pub open: bool,
    pub address: String,
}

#[derive(Template)]
#[template(path = "places_near.html")]
struct Near {
    p: Page,
    kinds: Vec<KindTile>,
    kind: Option<String>,
    filters: Vec<Filter>,
    districts: Vec<(String, String, bool)>,
    open_now: bool,
    lat: String,
    long: String,
    hits: Option<Vec<Hit>>,
    error: Option<String>,
}

async fn kinds(state: &AppState) -> Result<Vec<Kind>, sqlx::Error> {
    store::kinds(&state.db).await
}

fn filter_views(kind: &Kind, given: &HashMap<String, String>, lang: Lang) -> Vec<Filter> {
    kind.attributes
        .iter()
        .filter(|a| {
            matches!(
                a.datatype,
                directory::model::AttrType::Bool | directory::model::AttrType::Enum
            )
        })
        .map(|a| {
            let v = given
                .get(&format!("f_{}", a.code))
                .cloned()
                .unwrap_or_default();
            Filter {
                code: a.code.clone(),
                label: a.label.get(lang).to_owned(),
                kind: if a.datatype == directory::model::AttrType::Bool {
                    "bool"
                } else {
                    "enum"
                },
                checked: v == "yes",
                options: a
                    .values
                    .iter()
                    .map(|x| (x.key.clone(), x.name.get(lang).to_owned(), x.key == v))
                    .collect(),
            }
        })
        .collect()
}

/// `GET /places`: the kinds; with a kind and a place (a point, or a district's centre), the
/// nearest matching places.
async fn near(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let all = kinds(&state).await.or_page(lang)?;
    let kind = q
        .get("kind")
        .filter(|k| !k.is_empty())
        .map(|k| {
            all.iter()
                .find(|x| &x.code == k)
                .cloned()
                .ok_or_else(|| PageError::not_found(lang))
        })
        .transpose()?;
    let districts = state.districts().await.or_page(lang)?;
    let chosen_district = q.get("district").cloned().unwrap_or_default();
    let mut district_opts: Vec<(String, String, bool)> = districts
        .iter()
        .map(|d| {
            (
                d.slug.clone(),
                d.name(lang).to_owned(),
                d.slug == chosen_district,
            )
        })
        .collect();
    district_opts.sort_by(|a, b| a.1.cmp(&b.1));
    let open_now = q.get("open").is_some_and(|v| v == "yes");
    let mut error = None;
    let mut hits = None;
    if let Some(k) = &kind {
        let point = match directory::parse_point(
            q.get("lat").map(String::as_str),
            q.get("long").map(String::as_str),
        ) {
            Ok(Some(p)) => Some(p),
            Ok(None) => districts
                .iter()
                .find(|d| d.slug == chosen_district)
                .map(|d| (d.hq_lat, d.hq_long)),
            Err(e) => {
                error = Some(e.message());
                None
            }
        };
        let raw: Vec<(String, String)> = k
            .attributes
            .iter()
            .filter_map(|a| {
                let v = q.get(&format!("f_{}", a.code))?.trim();
                match (a.datatype, v) {
                    (_, "") => None,
                    (directory::model::AttrType::Bool, "yes") => {
                        Some((a.code.clone(), "yes".into()))
                    }
                    (directory::model::AttrType::Bool, _) => None,
                    _ => Some((a.code.clone(), v.to_owned())),
                }
            })
            .collect();
        let filters = directory::parse_filters(k, &raw).or_page(lang)?;
        if let Some((lat, long)) = point {
            let query = index::Query {
                kind: k.code.clone(),
                lat,
                long,
                radius_m: 30_000.0,
                filters,
                open_at: open_now.then(Utc::now),
                limit: 20,
            };
            let found = state
                .directory()
                .nearest(&state.db, &query)
                .await
                .or_page(lang)?;
            let subjects: Vec<String> = found
                .iter()
                .map(|(p, _)| format!("place:{}", p.id))
                .collect();
            let ratings = store::ratings(&state.db, &subjects).await.or_page(lang)?;
            let now = Utc::now();
            hits = Some(
                found
                    .iter()
                    .map(|(p, d)| {
                        let (avg, n) = ratings
                            .get(&format!("place:{}", p.id))
                            .copied()
                            .unwrap_or((0.0, 0));
                        Hit {
                            href: format!("/places/{}?from={lat:.5},{long:.5}", p.uuid),
                            uuid: p.uuid.clone(),
                            name: p.name.get(lang).to_owned(),
                            distance: distance(*d, lang),
                            rating: stars(avg, n, lang),
                            open: directory::model::open_at(&p.hours, now),
                            address: p.address.get(lang).to_owned(),
                        }
                    })
                    .collect(),
            );
        }
    }
    let page = Near {
        p: Page::new(
            lang,
            kind.as_ref()
                .map(|k| k.name.get(lang).to_owned())
                .unwrap_or_else(|| lang.t("dir-title")),
            &uri,
            &csrf,
        ),
        kinds: all
            .iter()
            .map(|k| KindTile {
                code: k.code.clone(),
                name: k.name.get(lang).to_owned(),
                icon: if k.icon.is_empty() {
                    "dot".into()
                } else {
                    k.icon.clone()
                },
            })
            .collect(),
        filters: kind
            .as_ref()
            .map(|k| filter_views(k, &q, lang))
            .unwrap_or_default(),
        kind: kind.map(|k| k.code),
        districts: district_opts,
        open_now,
        lat: q.get("lat").cloned().unwrap_or_default(),
        long: q.get("long").cloned().unwrap_or_default(),
        hits,
        error,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

pub struct Fact {
    pub label: String,
    pub value: String,
}

pub struct ReviewView {
    pub stars: i64,
    pub name: String,
    pub comment: String,
    pub date: String,
    pub photo: Option<String>,
}

pub struct ProviderView {
    pub uuid: String,
    pub name: String,
    pub title: String,
    pub facts: Vec<Fact>,
    pub hours: Vec<String>,
    pub rating: String,
    pub reviews: Vec<ReviewView>,
}

#[derive(Template)]
#[template(path = "place.html")]
struct PlacePage {
    p: Page,
    uuid: String,
    name: String,
    kind: String,
    description: String,
    address: String,
    phone: String,
    open: bool,
    hours: Vec<String>,
    facts: Vec<Fact>,
    rating: String,
    reviews: Vec<ReviewView>,
    providers: Vec<ProviderView>,
    map: String,
    attribution: String,
    notice: Option<String>,
    /// `geo:` for the phone's maps app, and a route on OpenStreetMap.
    geo: String,
    directions: String,
    /// How far it is from where the citizen searched, if they did.
    distance: Option<String>,
}

fn facts(
    attrs: &[KindAttr],
    values: &std::collections::BTreeMap<String, serde_json::Value>,
    lang: Lang,
) -> Vec<Fact> {
    attrs
        .iter()
        .filter_map(|a| {
            values.get(&a.code).map(|v| Fact {
                label: a.label.get(lang).to_owned(),
                value: a.show(v, lang),
            })
        })
        .collect()
}

fn review_views(rows: Vec<store::ReviewRow>, lang: Lang, base: &str) -> Vec<ReviewView> {
    rows.into_iter()
        .map(|r| ReviewView {
            stars: r.stars,
            name: if r.reviewer_name.is_empty() {
                lang.t("dir-anonymous")
            } else {
                directory::mask_name(&r.reviewer_name)
            },
            comment: r.comment,
            date: super::format::date(lang, r.created_at),
            photo: r
                .photo_sha256
                .map(|s| crate::platform::files::url(base, &s)),
        })
        .collect()
}

#[derive(Deserialize)]
struct PlaceQuery {
    reviewed: Option<String>,
    /// `lat,long`: where the citizen searched from, for the distance.
    from: Option<String>,
}

/// A `lat,long` pair on Earth.
fn point_of(s: &str) -> Option<(f64, f64)> {
    let (a, b) = s.split_once(',')?;
    let (lat, long): (f64, f64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&long)).then_some((lat, long))
}

async fn place(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    headers: axum::http::HeaderMap,
    Path(uuid): Path<String>,
    Query(q): Query<PlaceQuery>,
) -> Result<Response, PageError> {
    let p = store::place_by_uuid(&state.db, &uuid)
        .await
        .or_page(lang)?
        .filter(|p| p.status == "verified")
        .ok_or_else(|| PageError::not_found(lang))?;
    let k = directory::kind(&state, &p.kind).await.or_page(lang)?;
    let base = state.config.base_url(&headers);
    let providers = store::providers_of(&state.db, &[p.id])
        .await
        .or_page(lang)?;
    let mut subjects = vec![format!("place:{}", p.id)];
    subjects.extend(providers.iter().map(|d| format!("provider:{}", d.id)));
    let ratings = store::ratings(&state.db, &subjects).await.or_page(lang)?;
    let rating = |s: &str| {
        let (a, n) = ratings.get(s).copied().unwrap_or((0.0, 0));
        stars(a, n, lang)
    };
    let mut provider_views = Vec::new();
    for d in &providers {
        let subject = format!("provider:{}", d.id);
        provider_views.push(ProviderView {
            uuid: d.uuid.clone(),
            name: d.name.clone(),
            title: d.title.clone(),
            facts: facts(&k.provider_attributes, &d.attributes(), lang),
            hours: d.hours().iter().map(|h| hours_line(h, lang)).collect(),
            rating: rating(&subject),
            reviews: review_views(
                store::reviews_of(&state.db, &subject, 5)
                    .await
                    .or_page(lang)?,
                lang,
                &base,
            ),
        });
    }
    let subject = format!("place:{}", p.id);
    let districts = state.districts().await.or_page(lang)?;
    let page = PlacePage {
        p: Page::new(lang, p.names().get(lang).to_owned(), &uri, &csrf),
        uuid: p.uuid.clone(),
        name: p.names().get(lang).to_owned(),
        kind: k.name.get(lang).to_owned(),
        description: p.description.clone(),
        address: p.addresses().get(lang).to_owned(),
        phone: p.phone.clone().unwrap_or_default(),
        open: directory::model::open_at(&p.hours(), Utc::now()),
        hours: p.hours().iter().map(|h| hours_line(h, lang)).collect(),
        facts: facts(&k.attributes, &p.attributes(), lang),
        rating: rating(&subject),
        reviews: review_views(
            store::reviews_of(&state.db, &subject, 20)
                .await
                .or_page(lang)?,
            lang,
            &base,
        ),
        providers: provider_views,
        map: super::map::small_map(&state.config, p.lat, p.long, &districts, lang),
        attribution: super::map::attribution(&state.config),
        notice: q.reviewed.map(|_| lang.t("dir-review-thanks")),
        geo: format!(
            "geo:{:.6},{:.6}?q={:.6},{:.6}",
            p.lat, p.long, p.lat, p.long
        ),
        directions: match q.from.as_deref().and_then(point_of) {
            Some((la, lo)) => format!(
                "https://www.openstreetmap.org/directions?route={la:.5}%2C{lo:.5}%3B{:.6}%2C{:.6}",
                p.lat, p.long
            ),
            None => format!(
                "https://www.openstreetmap.org/?mlat={:.6}&mlon={:.6}#map=17/{:.6}/{:.6}",
                p.lat, p.long, p.lat, p.long
            ),
        },
        distance: q.from.as_deref().and_then(point_of).map(|(la, lo)| {
            distance(
                crate::platform::geo::haversine_m(la, lo, p.lat, p.long),
                lang,
            )
        }),
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

#[derive(Template)]
#[template(path = "place_review.html")]
struct ReviewPage {
    p: Page,
    uuid: String,
    subject: String,
    subject_name: String,
    /// `phone` (ask for a code) or `review` (the code and the review)
    step: &'static str,
    phone: String,
    name: String,
    comment: String,
    stars: i64,
    error: Option<String>,
}

#[derive(Deserialize)]
struct ReviewQuery {
    provider: Option<String>,
}

/// What is being reviewed: `(subject "place:UUID" | "provider:UUID", its name)`.
async fn subject_of(
    state: &AppState,
    uuid: &str,
    provider: Option<&str>,
    lang: Lang,
) -> Result<(String, String), PageError> {
    let p = store::place_by_uuid(&state.db, uuid)
        .await
        .or_page(lang)?
        .filter(|p| p.status == "verified")
        .ok_or_else(|| PageError::not_found(lang))?;
    match provider.filter(|s| !s.is_empty()) {
        None => Ok((format!("place:{}", p.uuid), p.names().get(lang).to_owned())),
        Some(d) => {
            let d = store::provider_by_uuid(&state.db, d)
                .await
                .or_page(lang)?
                .filter(|d| d.place_id == p.id)
                .ok_or_else(|| PageError::not_found(lang))?;
            Ok((
                format!("provider:{}", d.uuid),
                format!("{} ({})", d.name, p.names().get(lang)),
            ))
        }
    }
}

async fn review_form(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path(uuid): Path<String>,
    Query(q): Query<ReviewQuery>,
) -> Result<Response, PageError> {
    let (subject, subject_name) = subject_of(&state, &uuid, q.provider.as_deref(), lang).await?;
    let page = ReviewPage {
        p: Page::new(lang, lang.t("dir-review-title"), &uri, &csrf),
        uuid,
        subject,
        subject_name,
        step: "phone",
        phone: String::new(),
        name: String::new(),
        comment: String::new(),
        stars: 0,
        error: None,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

#[derive(Deserialize)]
struct CodeForm {
    subject: String,
    phone: String,
}

/// Step one: send a one-time code to the phone, then show the review form.
async fn review_code(
    State(state): State<AppState>,
    _: PublicWrite,
    Here { lang, uri, .. }: Here,
    Path(uuid): Path<String>,
    FormPost(csrf, f): FormPost<CodeForm>,
) -> Result<Response, PageError> {
    let provider = f.subject.strip_prefix("provider:");
    let (subject, subject_name) = subject_of(&state, &uuid, provider, lang).await?;
    let mut page = ReviewPage {
        p: Page::new(lang, lang.t("dir-review-title"), &uri, &csrf),
        uuid,
        subject,
        subject_name,
        step: "review",
        phone: f.phone.clone(),
        name: String::new(),
        comment: String::new(),
        stars: 0,
        error: None,
    };
    let status = match Phone::parse(&f.phone) {
        None => {
            page.step = "phone";
            page.error = Some(lang.t("err-phone"));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Some(phone) => match crate::platform::otp::issue(
            &state.db,
            &state.config,
            &state.job_wake,
            &phone,
            "review",
            lang,
        )
        .await
        {
            Ok(()) => StatusCode::OK,
            Err(e @ Error::TooManyRequests(_)) => {
                page.error = Some(e.message());
                StatusCode::TOO_MANY_REQUESTS
            }
            Err(e) => return Err(PageError { error: e, lang }),
        },
    };
    Ok(render(status, &csrf, &page))
}

/// Step two: the code and the review.
async fn review(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path(uuid): Path<String>,
    req: Request,
) -> Result<Response, PageError> {
    let fields = super::read_fields_checked(&state, &csrf, req, lang).await?;
    let get = |k: &str| fields.get(k).unwrap_or("").to_owned();
    let provider = get("subject").strip_prefix("provider:").map(str::to_owned);
    let (subject, subject_name) = subject_of(&state, &uuid, provider.as_deref(), lang).await?;
    let stars: i64 = get("stars").parse().unwrap_or(0);
    let input = directory::ReviewIn {
        subject: subject.clone(),
        stars,
        comment: get("comment"),
        name: get("name"),
        phone: get("phone"),
        code: get("code"),
        photo: fields.photos.first().cloned(),
    };
    match directory::review(&state, input, lang).await {
        Ok(_) => Ok(Redirect::to(&format!("/places/{uuid}?reviewed=1")).into_response()),
        Err(
            e @ (Error::BadRequest(_)
            | Error::Forbidden(_)
            | Error::Conflict(_)
            | Error::TooLarge(_)),
        ) => {
            let status = e.status();
            let page = ReviewPage {
                p: Page::new(lang, lang.t("dir-review-title"), &uri, &csrf),
                uuid,
                subject,
                subject_name,
                step: "review",
                phone: get("phone"),
                name: get("name"),
                comment: get("comment"),
                stars,
                error: Some(e.message()),
            };
            Ok(render(status, &csrf, &page))
        }
        Err(e) => Err(PageError { error: e, lang }),
    }
}

/// An attribute field of the suggestion form: `(code, label, datatype, [(value, label)])`.
type AttrField = (String, String, &'static str, Vec<(String, String)>);

#[derive(Template)]
#[template(path = "place_suggest.html")]
struct SuggestPage {
    p: Page,
    kinds: Vec<(String, String, bool)>,
    attributes: Vec<AttrField>,
    v: HashMap<String, String>,
    error: Option<String>,
    done: Option<String>,
}

impl SuggestPage {
    fn val(&self, k: &str) -> &str {
        self.v.get(k).map(String::as_str).unwrap_or("")
    }
}

async fn suggest_page(
    state: &AppState,
    lang: Lang,
    csrf: &Csrf,
    uri: &axum::http::Uri,
    v: HashMap<String, String>,
    error: Option<String>,
    done: Option<String>,
) -> Result<SuggestPage, PageError> {
    let all = kinds(state).await.or_page(lang)?;
    let chosen = v.get("kind").cloned().unwrap_or_default();
    let attributes = all
        .iter()
        .find(|k| k.code == chosen)
        .map(|k| {
            k.attributes
                .iter()
                .map(|a| {
                    let t = match a.datatype {
                        directory::model::AttrType::Bool => "bool",
                        directory::model::AttrType::Enum => "enum",
                        directory::model::AttrType::Number => "number",
                        directory::model::AttrType::Text => "text",
                    };
                    (
                        a.code.clone(),
                        a.label.get(lang).to_owned(),
                        t,
                        a.values
                            .iter()
                            .map(|x| (x.key.clone(), x.name.get(lang).to_owned()))
                            .collect(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(SuggestPage {
        p: Page::new(lang, lang.t("dir-suggest-title"), uri, csrf),
        kinds: all
            .iter()
            .map(|k| {
                (
                    k.code.clone(),
                    k.name.get(lang).to_owned(),
                    k.code == chosen,
                )
            })
            .collect(),
        attributes,
        v,
        error,
        done,
    })
}

async fn suggest_form(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let page = suggest_page(&state, lang, &csrf, &uri, q, None, None).await?;
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn suggest(
    State(state): State<AppState>,
    _: PublicWrite,
    Here { lang, uri, .. }: Here,
    FormPost(csrf, f): FormPost<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let v: HashMap<String, String> = f.iter().cloned().collect();
    let get = |k: &str| v.get(k).cloned().unwrap_or_default();
    let point = directory::parse_point(Some(&get("lat")), Some(&get("long")));
    let result = match point {
        Ok(Some((lat, long))) => {
            let attributes: Vec<(String, String)> = f
                .iter()
                .filter_map(|(k, val)| k.strip_prefix("a_").map(|c| (c.to_owned(), val.clone())))
                .collect();
            directory::suggest(
                &state,
                directory::SuggestIn {
                    kind: get("kind"),
                    name: get("name"),
                    lat,
                    long,
                    address: get("address"),
                    attributes,
                    phone: Some(get("phone")),
                },
                lang,
            )
            .await
        }
        Ok(None) => Err(Error::BadRequest(lang.t("dir-err-where"))),
        Err(e) => Err(e),
    };
    match result {
        Ok((_, duplicate)) => {
            let done = if duplicate.is_some() {
                lang.t("dir-suggest-duplicate")
            } else {
                lang.t("dir-suggest-thanks")
            };
            let page =
                suggest_page(&state, lang, &csrf, &uri, HashMap::new(), None, Some(done)).await?;
            Ok(render(StatusCode::OK, &csrf, &page))
        }
        Err(e @ (Error::BadRequest(_) | Error::NotFound(_))) => {
            let page = suggest_page(&state, lang, &csrf, &uri, v, Some(e.message()), None).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &csrf, &page))
        }
        Err(e) => Err(PageError { error: e, lang }),
    }
}

// ---------------------------------------------------------------------------------------------
// Staff: verification and moderation

pub struct PendingView {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub place: String,
    pub duplicate: Option<String>,
    pub when: String,
}

pub struct ModerationView {
    pub id: i64,
    pub stars: i64,
    pub comment: String,
    pub subject: String,
    pub status: String,
    pub reason: String,
    pub when: String,
}

#[derive(Template)]
#[template(path = "staff_directory.html")]
struct Queue {
    p: Page,
    pending: Vec<PendingView>,
    reviews: Vec<ModerationView>,
}

async fn queue(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
) -> Result<Response, PageError> {
    let kinds_of = directory::staff_kinds(&state, &staff).await.or_page(lang)?;
    let all: HashMap<String, Kind> = kinds(&state)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|k| (k.code.clone(), k))
        .collect();
    let mut pending = Vec::new();
    for p in store::pending_places(&state.db, kinds_of.as_deref())
        .await
        .or_page(lang)?
    {
        let duplicate = match p.possible_duplicate_of {
            Some(id) => store::place_by_id(&state.db, id)
                .await
                .or_page(lang)?
                .map(|d| d.name),
            None => None,
        };
        pending.push(PendingView {
            id: p.id,
            name: p.name.clone(),
            kind: all
                .get(&p.kind)
                .map(|k| k.name.get(lang).to_owned())
                .unwrap_or_default(),
            place: format!("{} ({:.5}, {:.5})", p.address, p.lat, p.long),
            duplicate,
            when: super::format::datetime(lang, p.created_at),
        });
    }
    let mut reviews = Vec::new();
    for r in store::recent_reviews(&state.db, kinds_of.as_deref(), 100)
        .await
        .or_page(lang)?
    {
        let place = store::place_by_id(&state.db, r.place_id)
            .await
            .or_page(lang)?
            .map(|p| p.name)
            .unwrap_or_default();
        reviews.push(ModerationView {
            id: r.id,
            stars: r.stars,
            comment: r.comment,
            subject: place,
            status: r.status,
            reason: r.reason.unwrap_or_default(),
            when: super::format::datetime(lang, r.created_at),
        });
    }
    let p = super::staff::staff_page(&state, lang, lang.t("dir-queue-title"), &uri, &csrf, &staff);
    let page = Queue {
        p,
        pending,
        reviews,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

#[derive(Deserialize)]
struct DecideForm {
    action: String,
    /// The place's name and address in Urdu and Pashto, added as it is verified.
    #[serde(default)]
    name_ur: String,
    #[serde(default)]
    name_ps: String,
    #[serde(default)]
    address_ur: String,
    #[serde(default)]
    address_ps: String,
}

async fn decide(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(id): Path<i64>,
    FormPost(_, f): FormPost<DecideForm>,
) -> Result<Response, PageError> {
    let accept = match f.action.as_str() {
        "verify" => true,
        "reject" => false,
        _ => {
            return Err(PageError {
                error: Error::BadRequest("action must be verify or reject".into()),
                lang,
            })
        }
    };
    let words = directory::PlaceWords {
        name_ur: f.name_ur,
        name_ps: f.name_ps,
        address_ur: f.address_ur,
        address_ps: f.address_ps,
    };
    directory::decide(&state, &staff, id, accept, &words)
        .await
        .or_page(lang)?;
    Ok(Redirect::to("/staff/directory").into_response())
}

#[derive(Deserialize)]
struct ModerateForm {
    action: String,
    reason: String,
}

async fn moderate(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(id): Path<i64>,
    FormPost(_, f): FormPost<ModerateForm>,
) -> Result<Response, PageError> {
    let hide = match f.action.as_str() {
        "hide" => true,
        "restore" => false,
        _ => {
            return Err(PageError {
                error: Error::BadRequest("action must be hide or restore".into()),
                lang,
            })
        }
    };
    directory::moderate(&state, &staff, id, hide, &f.reason)
        .await
        .or_page(lang)?;
    Ok(Redirect::to("/staff/directory").into_response())
}
