//! What page forms share: a form's questions (a service's attributes, a fund's questions) as
//! fields to draw, filled with what was answered, and the district select.

use std::collections::BTreeMap;

use crate::platform::i18n::Lang;
use crate::platform::questions::{Attribute, Datatype};
use crate::platform::state::AppState;

pub struct Choice {
    pub key: String,
    pub label: String,
    pub checked: bool,
}

/// One question of the form, ready to draw.
pub struct Field {
    pub code: String,
    /// `string`, `number`, `datetime`, `text`, `single`, `multi`, or `info` (no answer).
    pub kind: &'static str,
    pub label: String,
    pub hint: String,
    pub required: bool,
    pub value: String,
    pub choices: Vec<Choice>,
}

pub struct DistrictOption {
    pub slug: String,
    pub name: String,
    pub selected: bool,
}

/// The questions of a service (or a fund) as form fields, filled with what was answered.
pub fn form_fields(
    attributes: &[Attribute],
    lang: Lang,
    answers: &BTreeMap<String, Vec<String>>,
) -> Vec<Field> {
    let mut attrs: Vec<_> = attributes.iter().collect();
    attrs.sort_by_key(|a| a.order.unwrap_or(i64::MAX));
    attrs
        .into_iter()
        .map(|a| {
            let given = answers.get(&a.code).cloned().unwrap_or_default();
            let kind = if !a.variable {
                "info"
            } else {
                match a.datatype {
                    Datatype::String => "string",
                    Datatype::Number => "number",
                    Datatype::Datetime => "datetime",
                    Datatype::Text => "text",
                    Datatype::Singlevaluelist => "single",
                    Datatype::Multivaluelist => "multi",
                }
            };
            Field {
                code: a.code.clone(),
                kind,
                label: a.description.get(lang).to_owned(),
                hint: a
                    .datatype_description
                    .as_ref()
                    .map(|d| d.get(lang).to_owned())
                    .unwrap_or_default(),
                required: a.required,
                value: given.first().cloned().unwrap_or_default(),
                choices: a
                    .values
                    .iter()
                    .map(|v| Choice {
                        key: v.key.clone(),
                        label: v.name.get(lang).to_owned(),
                        checked: given.contains(&v.key),
                    })
                    .collect(),
            }
        })
        .collect()
}

pub async fn district_options(
    state: &AppState,
    lang: Lang,
    selected: Option<&str>,
) -> Result<Vec<DistrictOption>, sqlx::Error> {
    let mut out: Vec<DistrictOption> = state
        .districts()
        .await?
        .iter()
        .map(|d| DistrictOption {
            slug: d.slug.clone(),
            name: d.name(lang).to_owned(),
            selected: Some(d.slug.as_str()) == selected,
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// One option of a select.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// `(value, label)` pairs as a select's options, `selected` chosen.
pub fn options(items: Vec<(String, String)>, selected: Option<&str>) -> Vec<Opt> {
    items
        .into_iter()
        .map(|(value, label)| Opt {
            selected: Some(value.as_str()) == selected,
            value,
            label,
        })
        .collect()
}
