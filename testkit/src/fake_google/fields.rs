//! Partial responses: Drive returns only the fields a request names
//! (`nextPageToken,files(id,name,capabilities/canDownload)`, or `*` for everything).

use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mask {
    /// Field → mask for its value (`None` means the whole value).
    fields: BTreeMap<String, Option<Mask>>,
    all: bool,
}

pub fn parse(spec: &str) -> Result<Mask, String> {
    let chars: Vec<char> = spec.chars().filter(|c| !c.is_whitespace()).collect();
    let mut pos = 0;
    let mask = parse_list(&chars, &mut pos)?;
    if pos != chars.len() {
        return Err(format!("unexpected `{}` in fields", chars[pos]));
    }
    Ok(mask)
}

fn parse_list(chars: &[char], pos: &mut usize) -> Result<Mask, String> {
    let mut mask = Mask::default();
    loop {
        let start = *pos;
        while *pos < chars.len() && !matches!(chars[*pos], ',' | '(' | ')' | '/') {
            *pos += 1;
        }
        let name: String = chars[start..*pos].iter().collect();
        if name.is_empty() {
            return Err("empty field name".into());
        }
        let sub = match chars.get(*pos) {
            Some('(') => {
                *pos += 1;
                let inner = parse_list(chars, pos)?;
                if chars.get(*pos) != Some(&')') {
                    return Err("missing `)` in fields".into());
                }
                *pos += 1;
                Some(inner)
            }
            Some('/') => {
                *pos += 1;
                let start = *pos;
                while *pos < chars.len() && !matches!(chars[*pos], ',' | ')') {
                    *pos += 1;
                }
                let rest: String = chars[start..*pos].iter().collect();
                Some(parse(&rest)?)
            }
            _ => None,
        };
        if name == "*" {
            mask.all = true;
        } else {
            mask.fields.insert(name, sub);
        }
        match chars.get(*pos) {
            Some(',') => *pos += 1,
            _ => return Ok(mask),
        }
    }
}

impl Mask {
    /// Keeps only the masked fields of `value` (applied to each element of arrays).
    pub fn apply(&self, value: &Value) -> Value {
        if self.all {
            return value.clone();
        }
        match value {
            Value::Array(items) => Value::Array(items.iter().map(|v| self.apply(v)).collect()),
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (name, sub) in &self.fields {
                    if let Some(v) = map.get(name) {
                        out.insert(name.clone(), sub.as_ref().map(|m| m.apply(v)).unwrap_or_else(|| v.clone()));
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_requested_fields_come_back() {
        let mask = parse("nextPageToken,files(id,capabilities/canDownload)").unwrap();
        let value = json!({"kind": "x", "nextPageToken": "t", "files": [{"id": "1", "name": "n", "capabilities": {"canDownload": true, "canEdit": false}}]});
        assert_eq!(
            mask.apply(&value),
            json!({"nextPageToken": "t", "files": [{"id": "1", "capabilities": {"canDownload": true}}]})
        );
        assert_eq!(parse("*").unwrap().apply(&value), value);
        assert!(parse("files(id").is_err());
    }
}
