//! The authorisation matrix (docs/SECURITY.md), on both stores: every staff page and every
//! staff form, tried by the people who may not use them — another department, another
//! district, a lower role.
//!
//! Nothing here lists routes or forms. An administrator walks the staff pages, starting from
//! every staff route the code declares and following links, and collects every form those
//! pages offer; each other caller walks the same way. Then the rule is one sentence: **a person
//! may see what their own pages lead to and do what their own pages offer, nothing more.**
//! - every form the administrator was offered and a caller was not, sent by that caller with
//!   the caller's own form token, is refused and changes nothing in the store;
//! - every page the administrator saw, asked for by a caller of another department or another
//!   district, is refused or shows none of the records planted where that caller does not work.
//!
//! The walk must reach every staff route the router declares, so a route added tomorrow is in
//! the matrix without anyone listing it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::hash::{Hash, Hasher};

use khidmat::platform::db::query;
use khidmat::platform::identity::Role;
use serde_json::json;

use crate::helpers::*;
use crate::on_both;

/// Written into every planted record of a department's district (all in Peshawar): a page
/// that shows it shows the record.
const MARK: &str = "Qaswar Marker";

/// Written into the planted fellowship application: the programme's records belong to its
/// department (KP IT Board) as a whole, not to a district.
const PROGRAMME_MARK: &str = "Zarsanga Marker";

/// The same walk reaches at most this many addresses of one route (one report page stands for
/// all report pages).
const PER_ROUTE: usize = 6;

/// The departments that hold the planted records.
const PLANTED_IN: &[&str] = &["pesco", "minority-affairs", "excise"];

#[derive(Clone, Debug)]
struct Form {
    /// The page that offered it.
    page: String,
    action: String,
    multipart: bool,
    fields: Vec<(String, String)>,
    /// File inputs: sent with a small photo.
    files: Vec<String>,
}

impl Form {
    /// What makes two offers the same form: where it goes and what it sends (not the token).
    fn key(&self) -> String {
        let mut f: Vec<String> = self
            .fields
            .iter()
            .filter(|(k, _)| k != "csrf")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        f.sort();
        format!("{} {}", self.action, f.join("&"))
    }
}

/// What one person's walk found.
struct Walk {
    /// Address → (status, body).
    pages: BTreeMap<String, (u16, Vec<u8>)>,
    forms: Vec<Form>,
    csrf: String,
}

fn decode(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of attribute `name` in one tag's text.
fn attr(tag: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=");
    let mut from = 0;
    while let Some(i) = tag[from..].find(&needle) {
        let at = from + i;
        from = at + needle.len();
        if !tag[..at].ends_with(|c: char| c.is_whitespace()) {
            continue;
        }
        let rest = &tag[from..];
        let value = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let inner = &rest[1..];
                &inner[..inner.find(q)?]
            }
            _ => {
                &rest[..rest
                    .find(|c: char| c.is_whitespace() || c == '>')
                    .unwrap_or(rest.len())]
            }
        };
        return Some(decode(value));
    }
    None
}

/// Is the boolean attribute `name` (`selected`, `checked`, `multiple`) set on the tag?
fn flag(tag: &str, name: &str) -> bool {
    tag.split(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .any(|w| w == name || w.starts_with(&format!("{name}=")))
}

/// The tags in `html`: `(name, the tag's text, what follows it up to its closing tag for
/// `textarea`, `select` and `button`)`.
fn tags(html: &str) -> Vec<(String, &str, &str)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = html[at..].find('<') {
        let start = at + i;
        let Some(len) = html[start..].find('>') else {
            break;
        };
        let tag = &html[start..=start + len];
        at = start + len + 1;
        let name: String = tag[1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_lowercase();
        let inner = if ["textarea", "select", "button"].contains(&name.as_str()) {
            let close = format!("</{name}>");
            let end = html[at..].find(&close).map_or(html.len(), |e| at + e);
            &html[at..end]
        } else {
            ""
        };
        out.push((name, tag, inner));
    }
    out
}

/// A value a person would type into a field that the page left empty.
fn typed(name: &str, kind: &str, tag: &str) -> String {
    let name = name.to_lowercase();
    if let Some(min) = attr(tag, "min").filter(|m| !m.is_empty()) {
        return min;
    }
    match kind {
        "number" | "range" => "1".into(),
        "date" => chrono::Utc::now().date_naive().to_string(),
        "datetime-local" => chrono::Utc::now().format("%Y-%m-%dT%H:%M").to_string(),
        "email" => "someone@kp.gov.pk".into(),
        "tel" => "03001234567".into(),
        "password" => "a long enough password".into(),
        "url" => "https://kp.gov.pk/".into(),
        _ if name.contains("cnic") => "17301-7654321-3".into(),
        _ if name.contains("phone") || name.contains("mobile") => "03001234567".into(),
        _ if name.contains("email") => "someone@kp.gov.pk".into(),
        _ => "Checked by the matrix".into(),
    }
}

/// The POST forms in a page, filled as a person would fill them: what the page put in, and a
/// plausible value in what it left empty. A form with named buttons gives one form per button.
fn forms(page: &str, html: &str) -> Vec<Form> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = html[at..].find("<form") {
        let start = at + i;
        let tag_end = start + html[start..].find('>').unwrap();
        let tag = &html[start..=tag_end];
        let end = html[tag_end..]
            .find("</form>")
            .map_or(html.len(), |e| tag_end + e);
        at = end;
        if !attr(tag, "method").is_some_and(|m| m.eq_ignore_ascii_case("post")) {
            continue;
        }
        let action = attr(tag, "action").unwrap_or_else(|| page.split('?').next().unwrap().into());
        let multipart = attr(tag, "enctype").is_some_and(|e| e.contains("multipart"));
        let mut fields = Vec::new();
        let mut files = Vec::new();
        let mut radios = BTreeSet::new();
        let mut buttons = Vec::new();
        for (name, t, inner) in tags(&html[tag_end + 1..end]) {
            let Some(field) = attr(t, "name") else {
                continue;
            };
            match name.as_str() {
                "input" => {
                    let kind = attr(t, "type")
                        .unwrap_or_else(|| "text".into())
                        .to_lowercase();
                    let value = attr(t, "value").unwrap_or_default();
                    match kind.as_str() {
                        "submit" | "image" => buttons.push((field, value)),
                        "file" => files.push(field),
                        "reset" | "button" => {}
                        "checkbox" => {
                            fields.push((field, if value.is_empty() { "on".into() } else { value }))
                        }
                        "radio" => {
                            if radios.insert(field.clone()) {
                                fields.push((field, value));
                            }
                        }
                        _ if !value.is_empty() => fields.push((field, value)),
                        _ => {
                            let v = typed(&field, &kind, t);
                            fields.push((field, v));
                        }
                    }
                }
                "textarea" => {
                    let text = decode(inner.trim());
                    fields.push((
                        field,
                        if text.is_empty() {
                            "A note from the matrix".into()
                        } else {
                            text
                        },
                    ));
                }
                "select" => {
                    let options: Vec<(&str, Option<String>)> = tags(inner)
                        .into_iter()
                        .filter(|(n, _, _)| n == "option")
                        .map(|(_, o, _)| (o, attr(o, "value")))
                        .collect();
                    let chosen = options
                        .iter()
                        .find(|(o, _)| flag(o, "selected"))
                        .or_else(|| {
                            options
                                .iter()
                                .find(|(_, v)| v.as_deref().is_some_and(|v| !v.is_empty()))
                        });
                    if let Some((_, Some(v))) = chosen {
                        fields.push((field, v.clone()));
                    }
                }
                "button" if attr(t, "type").is_none_or(|k| k == "submit") => {
                    buttons.push((field, attr(t, "value").unwrap_or_default()));
                }
                _ => {}
            }
        }
        let one = |extra: Option<(String, String)>| {
            let mut fields = fields.clone();
            fields.extend(extra);
            Form {
                page: page.to_owned(),
                action: action.clone(),
                multipart,
                fields,
                files: files.clone(),
            }
        };
        if buttons.is_empty() {
            out.push(one(None));
        } else {
            out.extend(buttons.into_iter().map(|b| one(Some(b))));
        }
    }
    out
}

/// The staff pages a page links to.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(decode)
        .map(|l| l.split('#').next().unwrap().to_owned())
        .filter(|l| l.starts_with("/staff") && !l.starts_with("/staff/logout"))
        .collect()
}

/// The declared route an address belongs to: the pattern that matches it with the most fixed
/// segments.
fn route_of<'a>(address: &str, patterns: &'a [String]) -> Option<&'a String> {
    let path: Vec<&str> = address.split('?').next().unwrap().split('/').collect();
    patterns
        .iter()
        .filter(|p| {
            let segments: Vec<&str> = p.split('/').collect();
            segments.len() == path.len()
                && segments
                    .iter()
                    .zip(&path)
                    .all(|(s, a)| s == a || (s.starts_with('{') && !a.is_empty()))
        })
        .max_by_key(|p| p.split('/').filter(|s| !s.starts_with('{')).count())
}

/// Walk the staff pages as `b` does: from every declared staff page without parameters,
/// following links, at most `PER_ROUTE` addresses of each route.
async fn walk(b: &reqwest::Client, app: &TestApp, routes: &[(String, String)]) -> Walk {
    let gets: Vec<String> = routes
        .iter()
        .filter(|(m, p)| m == "GET" && p.starts_with("/staff"))
        .map(|(_, p)| p.clone())
        .collect();
    let own = [
        "/staff/login",
        "/staff/logout",
        "/staff/invite",
        "/staff/reset",
        "/staff/password",
    ];
    // Each page also as it shows one of the departments that hold the planted records (an
    // administrator's pages take `?department=`; others ignore it).
    let mut queue: VecDeque<String> = gets
        .iter()
        .filter(|p| !p.contains('{') && !own.iter().any(|o| p.starts_with(o)))
        .flat_map(|p| {
            std::iter::once(p.clone()).chain(
                PLANTED_IN
                    .iter()
                    .map(move |d| format!("{p}?department={d}")),
            )
        })
        .collect();
    let mut per_route: BTreeMap<String, usize> = BTreeMap::new();
    let mut pages = BTreeMap::new();
    let mut found = Vec::new();
    let mut seen_forms = BTreeSet::new();
    while let Some(address) = queue.pop_front() {
        if pages.contains_key(&address) || own.iter().any(|o| address.starts_with(o)) {
            continue;
        }
        let Some(route) = route_of(&address, &gets) else {
            continue;
        };
        let n = per_route.entry(route.clone()).or_default();
        if *n >= PER_ROUTE {
            continue;
        }
        *n += 1;
        let r = b.get(app.at(&address)).send().await.unwrap();
        let status = r.status().as_u16();
        let html = r
            .headers()
            .get("content-type")
            .is_some_and(|t| t.to_str().unwrap_or("").starts_with("text/html"));
        let body = r.bytes().await.unwrap().to_vec();
        if html && status == 200 {
            let text = String::from_utf8_lossy(&body);
            for f in forms(&address, &text) {
                if seen_forms.insert(f.key()) {
                    found.push(f);
                }
            }
            queue.extend(links(&text));
        }
        pages.insert(address, (status, body));
    }
    let (_, staff) = page(b, app, "/staff").await;
    Walk {
        pages,
        forms: found,
        csrf: hidden(&staff, "csrf"),
    }
}

/// Send a form as `b`, with `csrf` as its token: `(status, where it redirects)`.
async fn send(b: &reqwest::Client, app: &TestApp, form: &Form, csrf: &str) -> (u16, String) {
    let fields: Vec<(String, String)> = form
        .fields
        .iter()
        .map(|(k, v)| {
            if k == "csrf" {
                (k.clone(), csrf.to_owned())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect();
    let request = b.post(app.at(&form.action));
    let request = if form.multipart {
        let mut m = reqwest::multipart::Form::new();
        for (k, v) in fields {
            m = m.text(k, v);
        }
        for f in &form.files {
            m = m.part(
                f.clone(),
                reqwest::multipart::Part::bytes(png(40, 30))
                    .file_name("photo.png")
                    .mime_str("image/png")
                    .unwrap(),
            );
        }
        request.multipart(m)
    } else {
        request.form(&fields)
    };
    let r = request.send().await.unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap_or("").to_owned())
        .unwrap_or_default();
    (r.status().as_u16(), location)
}

/// Send, as `b`, the form that `address` offers it and that goes to an action ending in
/// `to`, as a person would fill it.
async fn send_offered(
    b: &reqwest::Client,
    app: &TestApp,
    address: &str,
    to: &str,
) -> (u16, String) {
    let (status, html) = page(b, app, address).await;
    assert_eq!(status, 200, "{address}");
    let form = forms(address, &html)
        .into_iter()
        .find(|f| f.action.ends_with(to))
        .unwrap_or_else(|| panic!("{address} offers no form to …{to}"));
    send(b, app, &form, &hidden(&html, "csrf")).await
}

/// Tables that change by being asked at all (counters of requests and failures, the probe,
/// sessions' last use), left out of "did anything change".
const COUNTERS: &[&str] = &["rate_buckets", "health_probe", "sessions", "login_failures"];

/// A digest of every table's content.
async fn fingerprint(app: &TestApp) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for t in table_names(app).await {
        if COUNTERS.contains(&t.as_str()) || t.contains("_fts") {
            continue;
        }
        let sql = match app.backend {
            Backend::Sqlite => {
                let columns: Vec<(String,)> = app
                    .db
                    .fetch_all(query(format!("SELECT name FROM pragma_table_info('{t}')")))
                    .await
                    .unwrap();
                let row = columns
                    .iter()
                    .map(|(c,)| format!("quote(\"{c}\")"))
                    .collect::<Vec<_>>()
                    .join("||','||");
                format!("SELECT coalesce(group_concat(r, char(10)), '') FROM (SELECT {row} AS r FROM \"{t}\" ORDER BY 1)")
            }
            Backend::Postgres => format!(
                "SELECT coalesce(md5(string_agg(x::text, E'\\n' ORDER BY x::text)), '') FROM \"{t}\" AS x"
            ),
        };
        let (text,): (String,) = app.db.fetch_one(query(sql)).await.unwrap();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        out.insert(t, h.finish());
    }
    out
}

fn changed(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> Vec<String> {
    after
        .iter()
        .filter(|(t, h)| before.get(*t) != Some(h))
        .map(|(t, _)| t.clone())
        .collect()
}

/// Is this answer a refusal: a client error, or "sign in first"?
fn refused(status: u16, location: &str) -> bool {
    (400..500).contains(&status) || (status == 303 && location.starts_with("/staff/login"))
}

/// What `plant` made: the keys the staff API reaches them by.
struct Planted {
    report: String,
    application: String,
    case: String,
}

/// Plant one marked record of each kind that departments hold, all in Peshawar: a report
/// (PESCO), a grant application (Minority Affairs), a vehicle seizure (Excise).
async fn plant(app: &TestApp) -> Planted {
    let report = app
        .report(&[
            ("service_code", "kunda"),
            ("lat", "34.0151"),
            ("long", "71.5249"),
            ("attribute[premises]", "shop"),
            ("attribute[method]", "hook"),
            ("description", &format!("{MARK}: hooks on the line")),
            ("first_name", MARK),
            ("phone", "03007654321"),
        ])
        .await;
    // The reporter adds to it (staff may hide that from the public).
    let token: String = app
        .db
        .scalar(
            khidmat::platform::db::query("SELECT token FROM reports WHERE id = $1")
                .bind(report.parse::<i64>().unwrap()),
        )
        .await
        .unwrap();
    let reporter = crate::helpers::browser();
    let (_, html) = crate::helpers::page(&reporter, app, &format!("/track/{token}")).await;
    let r = reporter
        .post(app.at(&format!("/track/{token}/update")))
        .multipart(
            reqwest::multipart::Form::new()
                .text("csrf", crate::helpers::hidden(&html, "csrf"))
                .text("note", format!("{MARK}: still hooked")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "the reporter's update is added");

    app.add_user(
        "desk@minorities.test",
        Role::Officer,
        Some("minority-affairs"),
        None,
    )
    .await;
    let desk = api_session(app, "desk@minorities.test").await;
    let r = desk
        .post(app.at("/api/v1/benefits/funds/minority-education-2026/applications"))
        .json(&json!({
            "cnic": "17301-7654321-2",
            "name": MARK,
            "guardian_name": "Guardian",
            "gender": "female",
            "birth_date": "2005-03-01",
            "district": "peshawar",
            "phone": "03001234567",
            "monthly_income": 2_000_000,
            "dependants": 2,
            "bank_account": null,
            "answers": {"institution": [format!("{MARK} College")], "level": ["bachelor"], "religion": ["christian"]},
        }))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    // A document photographed at the desk.
    let (desk, _) = login(app, "desk@minorities.test").await;
    let reference = body["reference"].as_str().unwrap().to_owned();
    let application = format!("/staff/benefits/applications/{reference}");
    let (status, _) = send_offered(&desk, app, &application, "/documents").await;
    assert_eq!(status, 303, "the document is added");

    let inspector = app
        .add_user(
            "inspector@excise.test",
            Role::Officer,
            Some("excise"),
            Some("peshawar"),
        )
        .await;
    khidmat::cases::run::grant_role(&app.db, "test", inspector, "vehicle-seizure", "inspector")
        .await
        .unwrap();
    let (b, _) = login(app, "inspector@excise.test").await;
    let r = b
        .post(app.at("/api/v1/cases/vehicle-seizure"))
        .json(&json!({"fields": {
            "registration_number": "LEB-07-4321",
            "chassis_number": "NZE141-1234567",
            "make_model": format!("{MARK} Corolla"),
            "seizure_reason": "suspicious-chassis",
            "owner_name": MARK,
            "owner_cnic": "17301-7654321-1",
            "owner_phone": "0300 7654321",
        }}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let case: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{case}");
    // The next step, taken on the case's page by the one who holds it (its photos attached).
    let eto = app
        .add_user(
            "eto@excise.test",
            Role::Officer,
            Some("excise"),
            Some("peshawar"),
        )
        .await;
    khidmat::cases::run::grant_role(&app.db, "test", eto, "vehicle-seizure", "eto")
        .await
        .unwrap();
    let (b, _) = login(app, "eto@excise.test").await;
    let at = format!(
        "/staff/cases/vehicle-seizure/{}",
        case["reference"].as_str().unwrap()
    );
    let (status, to) = send_offered(&b, app, &at, &at).await;
    assert_eq!(status, 303, "the step is taken: {to}");

    // A second report a few metres away (a likely duplicate), a department key, a place a
    // citizen suggested, and a programme cycle: each brings its own staff forms.
    app.kunda_at("34.0151", "71.5249").await;
    app.department_key("pesco").await;
    let b = browser();
    let (_, html) = page(&b, app, "/places/suggest?kind=public-toilet").await;
    let csrf = hidden(&html, "csrf");
    let (status, _) = submit(
        &b,
        app,
        "/places/suggest",
        &[
            ("csrf", csrf.as_str()),
            ("kind", "public-toilet"),
            ("name", &format!("{MARK} toilet")),
            ("lat", "34.0100"),
            ("long", "71.5600"),
            ("address", "Hashtnagri"),
            ("a_gender", "women"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    app.add_user("manager@itb.test", Role::Manager, Some("kp-itb"), None)
        .await;
    let (b, csrf) = login(app, "manager@itb.test").await;
    crate::programme::create_cycle(&b, &csrf, app, "matrix-2027").await;
    let (status, _) = crate::programme::apply(
        app,
        "matrix-2027",
        &crate::programme::applicant(
            PROGRAMME_MARK,
            "female",
            "marker@example.pk",
            "0300 7654321",
        ),
        Some(crate::programme::PDF),
    )
    .await;
    assert_eq!(status, 303, "the application is taken");
    Planted {
        report,
        application: reference,
        case: case["reference"].as_str().unwrap().to_owned(),
    }
}

on_both!(
    no_staff_page_or_form_answers_another_department_another_district_or_a_lower_role,
    |backend| async move {
        let app = spawn(backend).await;
        let routes = declared_routes();
        let planted = plant(&app).await;

        app.add_user("root@kp.gov.pk", Role::Admin, None, None)
            .await;
        // (who, do they work where the planted records are?)
        let mut callers: Vec<(String, bool)> = vec![("manager@home.test".into(), false)];
        app.add_user("manager@home.test", Role::Manager, Some("home"), None)
            .await;
        for department in ["pesco", "minority-affairs", "excise", "kp-itb"] {
            let elsewhere = format!("mardan@{department}.test");
            app.add_user(&elsewhere, Role::Officer, Some(department), Some("mardan"))
                .await;
            callers.push((elsewhere, false));
            let lower = format!("officer@{department}.test");
            app.add_user(&lower, Role::Officer, Some(department), Some("peshawar"))
                .await;
            callers.push((lower, true));
        }
        // Those who made the planted records, each holding a role in what they made, and the
        // one who holds the seizure's next step in another department.
        let keeper = app
            .add_user(
                "keeper@warehouse.test",
                Role::Officer,
                Some("excise-warehouse"),
                None,
            )
            .await;
        khidmat::cases::run::grant_role(
            &app.db,
            "test",
            keeper,
            "vehicle-seizure",
            "warehouse-keeper",
        )
        .await
        .unwrap();
        for who in [
            "desk@minorities.test",
            "inspector@excise.test",
            "eto@excise.test",
            "keeper@warehouse.test",
            "manager@itb.test",
        ] {
            callers.push((who.into(), true));
        }

        // Everyone walks their own pages; what any of them was shown or offered is what the
        // others are tried on.
        let mut walks = Vec::new();
        for (email, home) in std::iter::once(("root@kp.gov.pk".to_owned(), true)).chain(callers) {
            let (b, _) = login(&app, &email).await;
            let w = walk(&b, &app, &routes).await;
            walks.push((email, home, b, w));
        }
        let admin = &walks[0].3;
        assert!(
            admin
                .pages
                .values()
                .any(|(_, body)| String::from_utf8_lossy(body).contains(MARK)),
            "the administrator sees the planted records"
        );
        // Every page someone was shown (address → what they saw), every form someone was
        // offered (with who).
        let mut shown: BTreeMap<&String, &Vec<u8>> = BTreeMap::new();
        let mut offers: Vec<(usize, &Form)> = Vec::new();
        let mut keys = BTreeSet::new();
        for (i, (_, _, _, w)) in walks.iter().enumerate() {
            for (address, (status, body)) in &w.pages {
                if *status == 200 {
                    shown.entry(address).or_insert(body);
                }
            }
            for f in &w.forms {
                if keys.insert(f.key()) {
                    offers.push((i, f));
                }
            }
        }

        // The walks reach every staff route the router declares: pages by address, writes
        // by a form that goes there.
        let staff_routes: Vec<&(String, String)> = routes
            .iter()
            .filter(|(_, p)| p.starts_with("/staff"))
            .collect();
        let posts: Vec<String> = staff_routes
            .iter()
            .filter(|(m, _)| m != "GET")
            .map(|(_, p)| p.clone())
            .collect();
        let gets: Vec<String> = staff_routes
            .iter()
            .filter(|(m, _)| m == "GET")
            .map(|(_, p)| p.clone())
            .collect();
        let reached_pages: BTreeSet<&String> =
            shown.keys().filter_map(|a| route_of(a, &gets)).collect();
        let reached_forms: BTreeSet<&String> = offers
            .iter()
            .filter_map(|(_, f)| route_of(&f.action, &posts))
            .collect();
        let missed: Vec<String> = gets
            .iter()
            .filter(|p| !reached_pages.contains(p))
            .map(|p| format!("GET {p}"))
            .chain(
                posts
                    .iter()
                    .filter(|p| !reached_forms.contains(p))
                    .map(|p| format!("POST {p}")),
            )
            .collect();
        // What the walks cannot reach, and why. A route missing here and from the walks fails
        // the test: a new route is in the matrix, or named here with its reason.
        let unreached: BTreeSet<&str> = [
            // Before signing in: tried by the attack suite (tests/it/security.rs).
            "GET /staff/login",
            "POST /staff/login",
            "GET /staff/password/{token}",
            "POST /staff/password/{token}",
            // Offered only after a valid pack is previewed (a pack's text is not typed).
            "POST /staff/admin/pack/import",
            // A fund's payment batches exist only after a draw, selection and approval.
            "GET /staff/benefits/batches/{id}",
            "POST /staff/benefits/batches/{id}",
            // Offered once an eligible application awaits verification (the planted one
            // is not yet verified as eligible by the draw's rules).
            "POST /staff/benefits/applications/{reference}",
            // Only a report described aloud (a WhatsApp voice note, a call's recording) has
            // one; tests/it/whatsapp.rs plays it as its department and refuses it to others.
            "GET /staff/reports/{id}/voice",
            // Attachments and issued documents exist only further along a seizure.
            "GET /staff/cases/attachments/{id}",
            "GET /staff/cases/documents/{number}",
            // Need a registered organisation, a review held for moderation, a failed message.
            "POST /staff/campaigns/orgs/{id}",
            "POST /staff/directory/reviews/{id}",
            "POST /staff/messages/{id}/retry",
            // A cycle's reviewers, teams, projects and alumni come after its selection.
            "POST /staff/programme/cycles/{cycle}/assign/{id}",
            "POST /staff/programme/cycles/{cycle}/teams",
            "GET /staff/programme/projects/{code}",
            "POST /staff/programme/projects/{code}/advance",
            "POST /staff/programme/projects/{code}/checklist",
            "POST /staff/programme/projects/{code}/milestones",
            "POST /staff/programme/projects/{code}/milestones/{id}/done",
            "POST /staff/programme/alumni/{id}",
        ]
        .into();
        let unexplained: Vec<&String> = missed
            .iter()
            .filter(|m| !unreached.contains(m.as_str()))
            .collect();
        let stale: Vec<&&str> = unreached
            .iter()
            .filter(|u| !missed.iter().any(|m| m == **u))
            .collect();
        assert!(
            stale.is_empty(),
            "reached now, so no longer explained: {stale:?}"
        );
        assert!(
            unexplained.is_empty(),
            "staff routes no walk reached and nobody explained: {unexplained:#?}"
        );

        // What the planting set going (acknowledgements by SMS, their jobs) has finished, so
        // that whatever changes from here on was changed by the sends below.
        let mut last = fingerprint(&app).await;
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            let now = fingerprint(&app).await;
            if now == last {
                break;
            }
            last = now;
        }

        // Every keyed read of the staff API (from the OpenAPI document), its parameters
        // naming the planted records; the administrator reads them there.
        let spec: serde_json::Value = app.get_json("/api/openapi.json").await;
        let api_reads: Vec<String> = spec["paths"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, item)| {
                item["get"]["security"]
                    .as_array()
                    .is_some_and(|s| !s.is_empty())
            })
            .map(|(path, _)| {
                let mut out = path.clone();
                for (name, value) in [
                    (
                        "{id}",
                        if path.starts_with("/api/v1/reports") {
                            planted.report.as_str()
                        } else {
                            "1"
                        },
                    ),
                    (
                        "{reference}",
                        if path.starts_with("/api/v1/cases") {
                            planted.case.as_str()
                        } else {
                            planted.application.as_str()
                        },
                    ),
                    ("{code}", "minority-education-2026"),
                    ("{workflow}", "vehicle-seizure"),
                    ("{number}", "1"),
                ] {
                    out = out.replace(name, value);
                }
                out
            })
            .collect();
        let (_, _, root, _) = &walks[0];
        let mut marked = 0;
        for path in &api_reads {
            let answer = root
                .get(app.at(path))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if answer.contains(MARK) {
                marked += 1;
            }
        }
        assert!(
            marked >= 3,
            "the administrator reads the planted report, application and case through the API: {marked} of {api_reads:?}"
        );

        let mut problems = Vec::new();
        let mut tried = 0;
        let mut pages_asked = 0;
        for (email, home, b, own) in &walks[1..] {
            let offered: BTreeSet<&str> = own.forms.iter().map(|f| f.action.as_str()).collect();

            // Pages: another department or district sees none of Peshawar's records; another
            // department none of the programme's.
            let hidden_from_them: &[&str] = if email.ends_with("@kp-itb.test") {
                &[MARK]
            } else {
                &[MARK, PROGRAMME_MARK]
            };
            if !home {
                for (address, body) in &shown {
                    let theirs_too = own.pages.get(*address).is_some_and(|(s, _)| *s == 200);
                    pages_asked += 1;
                    let r = b.get(app.at(address)).send().await.unwrap();
                    let st = r.status().as_u16();
                    let location = r
                        .headers()
                        .get("location")
                        .map(|l| l.to_str().unwrap_or("").to_owned())
                        .unwrap_or_default();
                    let text = r
                        .headers()
                        .get("content-type")
                        .is_some_and(|t| t.to_str().unwrap_or("").starts_with("text/"));
                    let theirs = r.bytes().await.unwrap();
                    if refused(st, &location) || st == 303 {
                        continue;
                    }
                    let text_of = String::from_utf8_lossy(&theirs);
                    if hidden_from_them.iter().any(|m| text_of.contains(m)) {
                        problems.push(format!("{email} sees a planted record at {address}"));
                    } else if !text && !theirs_too && theirs.as_ref() == body.as_slice() {
                        problems.push(format!("{email} downloads the same file at {address}"));
                    }
                }
            }

            // The staff API: every keyed read, its parameters naming the planted records.
            for path in &api_reads {
                let r = b.get(app.at(path)).send().await.unwrap();
                let answer = r.text().await.unwrap();
                if !home && hidden_from_them.iter().any(|m| answer.contains(m)) {
                    problems.push(format!("{email} reads a planted record at {path}"));
                }
            }

            // Forms: whatever the caller's own pages did not offer is refused, and changes
            // nothing.
            let before = fingerprint(&app).await;
            for (_, form) in offers
                .iter()
                .filter(|(_, f)| !offered.contains(f.action.as_str()))
            {
                tried += 1;
                let (status, location) = send(b, &app, form, &own.csrf).await;
                if !refused(status, &location) {
                    problems.push(format!(
                        "{email} sent {} (offered on {}): {status} {location}",
                        form.action, form.page
                    ));
                }
            }
            let after = fingerprint(&app).await;
            let moved = changed(&before, &after);
            if !moved.is_empty() {
                problems.push(format!("{email}'s refused forms changed {moved:?}"));
            }
        }

        // The forms are real: sent by whoever was offered them, they are accepted.
        let mut accepted = 0;
        let mut not_accepted = Vec::new();
        for (i, form) in offers
            .iter()
            .filter(|(_, f)| !f.action.starts_with("/staff/logout"))
        {
            let (_, _, b, w) = &walks[*i];
            let (status, location) = send(b, &app, form, &w.csrf).await;
            if refused(status, &location) || status >= 500 {
                not_accepted.push(format!("{} {status}", form.action));
            } else {
                accepted += 1;
            }
        }
        println!(
            "{backend:?}: {} keyed API reads by each, {marked} of them showing the administrator a planted record",
            api_reads.len()
        );
        println!(
            "{backend:?}: {} people walked {} staff pages and were offered {} forms; {pages_asked} page requests and {tried} form sends by those not offered them; sent by those offered them, accepted: {accepted} (not: {not_accepted:?})",
            walks.len(),
            shown.len(),
            offers.len(),
        );
        assert!(
            offers.len() > 100 && tried > 1000,
            "the matrix is not empty"
        );
        assert!(
            accepted * 2 > offers.len(),
            "most forms are real: {accepted} of {}",
            offers.len()
        );
        assert!(problems.is_empty(), "{problems:#?}");
    }
);
