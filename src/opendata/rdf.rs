//! The DCAT documents as Turtle and RDF/XML, for harvesters that do not read JSON-LD (CKAN's
//! DCAT extension offers the three; so does Khidmat).
//!
//! The JSON-LD that `dcat.rs` builds is the one source: it is read here into triples and the
//! triples written out again. Only the JSON-LD that `dcat.rs` writes is read: a context of
//! prefixes and of terms whose values are IRIs (`{"@type": "@id"}`), nodes with `@id` (or none:
//! a blank node) and `@type`, literals as strings, numbers, booleans or `{"@value", "@type" |
//! "@language"}`. Anything else is refused, so a new shape in `dcat.rs` cannot be written out
//! wrong without a test failing.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use crate::platform::xml::escape;

const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const XSD: &str = "http://www.w3.org/2001/XMLSchema#";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Term {
    Iri(String),
    Blank(usize),
    Literal {
        value: String,
        datatype: Option<String>,
        language: Option<String>,
    },
}

/// A graph and the prefixes its document declared (for writing it back compactly).
pub struct Graph {
    pub prefixes: BTreeMap<String, String>,
    pub triples: Vec<(Term, String, Term)>,
}

struct Reader {
    prefixes: BTreeMap<String, String>,
    /// Terms whose string values are IRIs.
    iris: Vec<String>,
    blanks: usize,
    triples: Vec<(Term, String, Term)>,
}

impl Reader {
    fn expand(&self, name: &str) -> Result<String, String> {
        if name.starts_with("http://") || name.starts_with("https://") {
            return Ok(name.to_owned());
        }
        let (prefix, local) = name
            .split_once(':')
            .ok_or_else(|| format!("{name:?} is neither an IRI nor prefixed"))?;
        let ns = self
            .prefixes
            .get(prefix)
            .ok_or_else(|| format!("{name:?}: no prefix {prefix:?} in the context"))?;
        Ok(format!("{ns}{local}"))
    }

    fn node(&mut self, obj: &serde_json::Map<String, Value>) -> Result<Term, String> {
        let subject = match obj.get("@id") {
            Some(Value::String(id)) => Term::Iri(self.expand(id)?),
            Some(other) => return Err(format!("@id {other} is not a string")),
            None => {
                self.blanks += 1;
                Term::Blank(self.blanks)
            }
        };
        for (key, value) in obj {
            match key.as_str() {
                "@id" | "@context" => {}
                "@type" => {
                    let types = match value {
                        Value::String(t) => vec![t.clone()],
                        Value::Array(a) => a
                            .iter()
                            .map(|t| t.as_str().map(str::to_owned).ok_or("@type: not a string"))
                            .collect::<Result<_, _>>()?,
                        _ => return Err("@type: a string or a list".into()),
                    };
                    for t in types {
                        let t = Term::Iri(self.expand(&t)?);
                        self.triples
                            .push((subject.clone(), format!("{RDF}type"), t));
                    }
                }
                k if k.starts_with('@') => return Err(format!("{k} is not read here")),
                k => {
                    let predicate = self.expand(k)?;
                    let iri = self.iris.iter().any(|t| t == k);
                    let values = match value {
                        Value::Array(a) => a.clone(),
                        v => vec![v.clone()],
                    };
                    for v in values {
                        if let Some(object) = self.object(&v, iri)? {
                            self.triples
                                .push((subject.clone(), predicate.clone(), object));
                        }
                    }
                }
            }
        }
        Ok(subject)
    }

    fn object(&mut self, v: &Value, iri: bool) -> Result<Option<Term>, String> {
        let literal = |value: String, datatype: Option<String>| Term::Literal {
            value,
            datatype,
            language: None,
        };
        Ok(Some(match v {
            Value::Null => return Ok(None),
            Value::String(s) if iri => Term::Iri(self.expand(s)?),
            Value::String(s) => literal(s.clone(), None),
            Value::Bool(b) => literal(b.to_string(), Some(format!("{XSD}boolean"))),
            Value::Number(n) if n.is_i64() || n.is_u64() => {
                literal(n.to_string(), Some(format!("{XSD}integer")))
            }
            Value::Number(n) => return Err(format!("{n}: only whole numbers are written")),
            Value::Object(o) if o.contains_key("@value") => {
                let value = match &o["@value"] {
                    Value::String(s) => s.clone(),
                    other => return Err(format!("@value {other} is not a string")),
                };
                let datatype = match o.get("@type").and_then(Value::as_str) {
                    Some(t) => Some(self.expand(t)?),
                    None => None,
                };
                let language = o
                    .get("@language")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                Term::Literal {
                    value,
                    datatype,
                    language,
                }
            }
            Value::Object(o) => self.node(o)?,
            Value::Array(_) => return Err("a list inside a list".into()),
        }))
    }
}

/// Read a JSON-LD document of the shape described above.
pub fn read(doc: &Value) -> Result<Graph, String> {
    let context = doc
        .get("@context")
        .and_then(Value::as_object)
        .ok_or("no @context object")?;
    let mut prefixes = BTreeMap::new();
    let mut iris = Vec::new();
    for (k, v) in context {
        match v {
            Value::String(ns) => {
                prefixes.insert(k.clone(), ns.clone());
            }
            Value::Object(o) if o.get("@type").and_then(Value::as_str) == Some("@id") => {
                iris.push(k.clone())
            }
            other => return Err(format!("context {k}: {other} is not read here")),
        }
    }
    let mut r = Reader {
        prefixes,
        iris,
        blanks: 0,
        triples: Vec::new(),
    };
    r.node(doc.as_object().ok_or("not an object")?)?;
    Ok(Graph {
        prefixes: r.prefixes,
        triples: r.triples,
    })
}

impl Graph {
    /// `prefix:local` when an IRI is in a declared namespace and the rest is a plain name.
    fn compact(&self, iri: &str) -> Option<(String, String)> {
        self.prefixes
            .iter()
            .filter(|(_, ns)| iri.starts_with(ns.as_str()))
            .map(|(p, ns)| (p.clone(), iri[ns.len()..].to_owned()))
            .find(|(_, local)| {
                let mut chars = local.chars();
                chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                    && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            })
    }

    /// The subjects in the order they first appear, each with its triples.
    fn by_subject(&self) -> Vec<(&Term, Vec<(&String, &Term)>)> {
        let mut order: Vec<&Term> = Vec::new();
        let mut map: BTreeMap<&Term, Vec<(&String, &Term)>> = BTreeMap::new();
        for (s, p, o) in &self.triples {
            if !map.contains_key(s) {
                order.push(s);
            }
            map.entry(s).or_default().push((p, o));
        }
        order
            .into_iter()
            .map(|s| (s, map.remove(s).unwrap_or_default()))
            .collect()
    }

    /// Turtle.
    pub fn turtle(&self) -> String {
        let mut out = String::new();
        for (p, ns) in &self.prefixes {
            let _ = writeln!(out, "@prefix {p}: <{}> .", turtle_iri(ns));
        }
        let _ = writeln!(out, "@prefix rdf: <{RDF}> .");
        let name = |t: &Term| -> String {
            match t {
                Term::Iri(i) => self.compact(i).map_or_else(
                    || format!("<{}>", turtle_iri(i)),
                    |(p, l)| format!("{p}:{l}"),
                ),
                Term::Blank(n) => format!("_:b{n}"),
                Term::Literal {
                    value,
                    datatype,
                    language,
                } => {
                    let mut s = format!("\"{}\"", turtle_string(value));
                    if let Some(l) = language {
                        let _ = write!(s, "@{l}");
                    } else if let Some(d) = datatype {
                        let _ = write!(
                            s,
                            "^^{}",
                            self.compact(d).map_or_else(
                                || format!("<{}>", turtle_iri(d)),
                                |(p, l)| format!("{p}:{l}")
                            )
                        );
                    }
                    s
                }
            }
        };
        for (s, pos) in self.by_subject() {
            let _ = write!(out, "\n{}", name(s));
            for (i, (p, o)) in pos.iter().enumerate() {
                let pred = if p.as_str() == format!("{RDF}type") {
                    "a".to_owned()
                } else {
                    name(&Term::Iri((*p).clone()))
                };
                let sep = if i == 0 { "\n    " } else { " ;\n    " };
                let _ = write!(out, "{sep}{pred} {}", name(o));
            }
            out.push_str(" .\n");
        }
        out
    }

    /// RDF/XML: one `rdf:Description` per subject, properties as elements of their namespace.
    pub fn rdf_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rdf:RDF");
        let _ = write!(out, " xmlns:rdf=\"{RDF}\"");
        for (p, ns) in &self.prefixes {
            let _ = write!(out, "\n    xmlns:{p}=\"{}\"", escape(ns));
        }
        out.push_str(">\n");
        // A predicate outside the declared namespaces gets its own (ns1, ns2, …) on its element.
        for (s, pos) in self.by_subject() {
            let about = match s {
                Term::Iri(i) => format!("rdf:about=\"{}\"", escape(i)),
                Term::Blank(n) => format!("rdf:nodeID=\"b{n}\""),
                Term::Literal { .. } => continue,
            };
            let _ = writeln!(out, "  <rdf:Description {about}>");
            for (p, o) in pos {
                let (tag, xmlns) = match self.compact(p) {
                    Some((prefix, local)) => (format!("{prefix}:{local}"), String::new()),
                    None if p.starts_with(RDF) => {
                        (format!("rdf:{}", &p[RDF.len()..]), String::new())
                    }
                    None => {
                        let cut = p.rfind(['#', '/']).map_or(0, |i| i + 1);
                        (
                            format!("ns1:{}", &p[cut..]),
                            format!(" xmlns:ns1=\"{}\"", escape(&p[..cut])),
                        )
                    }
                };
                match o {
                    Term::Iri(i) => {
                        let _ = writeln!(out, "    <{tag}{xmlns} rdf:resource=\"{}\"/>", escape(i));
                    }
                    Term::Blank(n) => {
                        let _ = writeln!(out, "    <{tag}{xmlns} rdf:nodeID=\"b{n}\"/>");
                    }
                    Term::Literal {
                        value,
                        datatype,
                        language,
                    } => {
                        let attr = match (language, datatype) {
                            (Some(l), _) => format!(" xml:lang=\"{}\"", escape(l)),
                            (None, Some(d)) => format!(" rdf:datatype=\"{}\"", escape(d)),
                            (None, None) => String::new(),
                        };
                        let _ = writeln!(out, "    <{tag}{xmlns}{attr}>{}</{tag}>", escape(value));
                    }
                }
            }
            out.push_str("  </rdf:Description>\n");
        }
        out.push_str("</rdf:RDF>\n");
        out
    }
}

/// An IRI inside `<…>`: the characters Turtle forbids there, as `\u` escapes.
fn turtle_iri(iri: &str) -> String {
    iri.chars()
        .map(|c| match c {
            '<' | '>' | '"' | '{' | '}' | '|' | '^' | '`' | '\\' | '\0'..=' ' => {
                format!("\\u{:04X}", c as u32)
            }
            c => c.to_string(),
        })
        .collect()
}

/// A string inside `"…"`.
fn turtle_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literals_and_iris_are_escaped_in_both_syntaxes() {
        let doc = json!({
            "@context": {"dct": "http://purl.org/dc/terms/", "dcat": "http://www.w3.org/ns/dcat#",
                "dcat:downloadURL": {"@type": "@id"}},
            "@id": "https://example.org/dataset/a", "@type": "dcat:Dataset",
            "dct:title": "Quote \" back\\slash\nnew line <b>&",
            "dct:description": {"@value": "پشاور", "@language": "ur"},
            "dcat:downloadURL": "https://example.org/x?a=1&b=<2>",
            "dct:publisher": {"@type": "dct:Agent", "dct:title": "x"},
        });
        let g = read(&doc).unwrap();
        assert_eq!(g.triples.len(), 7);
        let ttl = g.turtle();
        assert!(
            ttl.contains(r#"dct:title "Quote \" back\\slash\nnew line <b>&""#),
            "{ttl}"
        );
        assert!(ttl.contains(r#""پشاور"@ur"#), "{ttl}");
        assert!(
            ttl.contains(r"<https://example.org/x?a=1&b=\u003C2\u003E>"),
            "{ttl}"
        );
        assert!(ttl.contains("dct:publisher _:b1"), "{ttl}");
        let xml = g.rdf_xml();
        assert!(
            xml.contains("Quote &quot; back\\slash\nnew line &lt;b&gt;&amp;"),
            "{xml}"
        );
        assert!(
            xml.contains("rdf:resource=\"https://example.org/x?a=1&amp;b=&lt;2&gt;\""),
            "{xml}"
        );
        assert!(
            xml.contains("<dct:description xml:lang=\"ur\">پشاور</dct:description>"),
            "{xml}"
        );
    }

    #[test]
    fn what_is_not_read_is_refused() {
        let ctx = json!({"dct": "http://purl.org/dc/terms/"});
        for doc in [
            json!({"@context": ctx, "dct:title": 1.5}),
            json!({"@context": ctx, "unknown:title": "x"}),
            json!({"@context": ctx, "@graph": []}),
            json!({"dct:title": "no context"}),
        ] {
            assert!(read(&doc).is_err(), "{doc}");
        }
    }
}
