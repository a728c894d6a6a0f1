//! XML output for standards that require it (Open311's `.xml`): a JSON value rendered as
//! elements, arrays as repeated child elements named by the caller.

use serde_json::Value;

/// Render `value` as an XML document whose root element is `root`. `item_name(array_name)` names
/// the elements of an array (Open311: `services` holds `service` elements).
pub fn to_xml(root: &str, value: &Value, item_name: &dyn Fn(&str) -> String) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    element(&mut out, root, value, item_name);
    out
}

fn element(out: &mut String, name: &str, value: &Value, item_name: &dyn Fn(&str) -> String) {
    match value {
        Value::Null => {
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
        }
        Value::Array(items) => {
            out.push_str(&format!("<{name}>"));
            let child = item_name(name);
            for item in items {
                element(out, &child, item, item_name);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Object(map) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in map {
                element(out, k, v, item_name);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(s) => {
            out.push_str(&format!("<{name}>"));
            escape_into(out, s);
            out.push_str(&format!("</{name}>"));
        }
        Value::Bool(b) => out.push_str(&format!("<{name}>{b}</{name}>")),
        Value::Number(n) => out.push_str(&format!("<{name}>{n}</{name}>")),
    }
}

/// `s` as XML or HTML text or attribute value: the five markup characters escaped, characters
/// XML cannot carry dropped. The one escaping function of the code that writes markup by hand.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all are dropped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_objects_and_escaping() {
        let v = json!([{"service_code": "a<b", "metadata": true, "group": null, "n": 1.5}]);
        let xml = to_xml("services", &v, &|n| n.trim_end_matches('s').to_string());
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><services><service><service_code>a&lt;b</service_code><metadata>true</metadata><group/><n>1.5</n></service></services>"
        );
    }
}
