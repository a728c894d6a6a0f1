//! Department information pages: the fine schedule, the licence procedure, traffic signs with
//! their pictures, emergency numbers. Declared in packs (three languages), shown at `/info`,
//! searchable in any of the three languages.
//!
//! A page has a body (paragraphs; lines starting "- " are a list), an optional table (the fine
//! for each offence and vehicle class), optional items (a traffic sign: its picture, name and
//! meaning) and an optional link to a directory kind (emergency contacts near you).

use serde::{Deserialize, Serialize};

use crate::platform::db::{Db, Tx};
use crate::platform::definitions::Definitions;
use crate::platform::error::Result;
use crate::platform::i18n::{Lang, Text3};
use crate::platform::{pictures, text};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageSpec {
    pub code: String,
    pub department: String,
    pub title: Text3,
    #[serde(default)]
    pub summary: Text3,
    #[serde(default)]
    pub body: Text3,
    #[serde(default)]
    pub table: Option<Table>,
    #[serde(default)]
    pub item: Vec<Item>,
    /// A directory kind this page points to (`emergency-contact`).
    #[serde(default)]
    pub directory_kind: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub columns: Vec<Text3>,
    pub row: Vec<Row>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub cells: Vec<Text3>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub title: Text3,
    #[serde(default)]
    pub text: Text3,
    /// A picture shown with the item (`platform::pictures`: `stop`, `speed-limit-60`). Packs
    /// written before it had a generic name say `sign`.
    #[serde(default, alias = "sign")]
    pub picture: Option<String>,
}

impl PageSpec {
    pub fn check(&self) -> std::result::Result<(), String> {
        let c = &self.code;
        if c.is_empty()
            || !c
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!(
                "page {c:?}: use lower-case letters, digits and hyphens"
            ));
        }
        if self.title.en.is_empty() {
            return Err(format!("page {c}: title.en is required"));
        }
        if let Some(t) = &self.table {
            for (i, r) in t.row.iter().enumerate() {
                if r.cells.len() != t.columns.len() {
                    return Err(format!(
                        "page {c}: table row {} has {} cells for {} columns",
                        i + 1,
                        r.cells.len(),
                        t.columns.len()
                    ));
                }
            }
        }
        for i in &self.item {
            if let Some(s) = &i.picture {
                pictures::check(s).map_err(|e| format!("page {c}: {e}"))?;
            }
        }
        Ok(())
    }

    /// Every text of the page in every language, folded, for search.
    fn haystack(&self) -> String {
        let mut all = String::new();
        let mut push = |t: &Text3| {
            for s in [&t.en, &t.ur, &t.ps] {
                all.push_str(s);
                all.push(' ');
            }
        };
        push(&self.title);
        push(&self.summary);
        push(&self.body);
        if let Some(t) = &self.table {
            for r in &t.row {
                for c in &r.cells {
                    push(c);
                }
            }
        }
        for i in &self.item {
            push(&i.title);
            push(&i.text);
        }
        text::fold(&all)
    }

    /// The table's rows and the items that mention every word of `q`, in `lang` (for a
    /// search result's lines).
    pub fn matching_lines(&self, q: &[String], lang: Lang) -> Vec<String> {
        let hit = |s: &str| {
            let f = text::fold(s);
            q.iter().all(|w| f.contains(w.as_str()))
        };
        let mut out = Vec::new();
        if let Some(t) = &self.table {
            for r in &t.row {
                let all: String = r
                    .cells
                    .iter()
                    .map(|c| format!("{} {} {} ", c.en, c.ur, c.ps))
                    .collect();
                if hit(&all) {
                    out.push(
                        r.cells
                            .iter()
                            .map(|c| c.get(lang))
                            .collect::<Vec<_>>()
                            .join(" · "),
                    );
                }
            }
        }
        for i in &self.item {
            let all = format!(
                "{} {} {} {} {} {}",
                i.title.en, i.title.ur, i.title.ps, i.text.en, i.text.ur, i.text.ps
            );
            if hit(&all) {
                out.push(i.title.get(lang).to_owned());
            }
        }
        out
    }
}

const PAGES: Definitions = Definitions::of_departments("content_pages");

pub async fn upsert(tx: &mut Tx, p: &PageSpec, department_id: i64) -> Result<()> {
    Ok(PAGES.upsert(tx, &p.code, Some(department_id), p).await?)
}

pub async fn pages(db: &Db) -> Result<Vec<PageSpec>> {
    Ok(PAGES.all(db).await?.into_iter().map(|(p, _)| p).collect())
}

/// Pages with every word of `q` somewhere in any language, most matching lines first.
pub fn search<'a>(pages: &'a [PageSpec], q: &str) -> (Vec<String>, Vec<&'a PageSpec>) {
    let words = text::words(q);
    if words.is_empty() {
        return (words, pages.iter().collect());
    }
    let found = pages
        .iter()
        .filter(|p| {
            let h = p.haystack();
            words.iter().all(|w| h.contains(w.as_str()))
        })
        .collect();
    (words, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(en: &str, ur: &str) -> Text3 {
        Text3 {
            en: en.into(),
            ur: ur.into(),
            ps: String::new(),
        }
    }

    #[test]
    fn search_finds_a_row_in_any_language() {
        let p = PageSpec {
            code: "fines".into(),
            department: "kp-traffic-police".into(),
            title: t("Fine schedule", "جرمانوں کی فہرست"),
            summary: Text3::default(),
            body: Text3::default(),
            table: Some(Table {
                columns: vec![t("Offence", "خلاف ورزی"), t("Car", "کار")],
                row: vec![
                    Row {
                        cells: vec![t("Over-speeding", "حد رفتار سے تجاوز"), t("750", "")],
                    },
                    Row {
                        cells: vec![t("Without helmet", "ہیلمٹ کے بغیر"), t("-", "")],
                    },
                ],
            }),
            item: vec![],
            directory_kind: None,
        };
        p.check().unwrap();
        let pages = vec![p];
        let (words, found) = search(&pages, "HELMET");
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].matching_lines(&words, Lang::Ur),
            vec!["ہیلمٹ کے بغیر · -"]
        );
        let (_, found) = search(&pages, "ہیلمٹ");
        assert_eq!(found.len(), 1);
        assert!(search(&pages, "parking").1.is_empty());
        let mut bad = pages[0].clone();
        bad.table.as_mut().unwrap().row[0].cells.pop();
        assert!(bad.check().unwrap_err().contains("1 cells for 2 columns"));
    }
}
