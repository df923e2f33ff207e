//! The JSON the devlink views print, re-read in order: `-p` pretty output
//! and the plain-text rendering come from the same compact `devlink -j`
//! text, so text and JSON never disagree and key order is kept.

/// A JSON value with object keys in their original order.
#[derive(Debug, Clone, PartialEq)]
pub enum J {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Num(String),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<J>),
    /// An object.
    Obj(Vec<(String, J)>),
}

/// Parses `s` (JSON produced by serde_json).
pub fn parse(s: &str) -> Result<J, String> {
    // Validate with serde_json; its map is sorted, so walk the (now known
    // good) text again for the key order.
    serde_json::from_str::<serde::de::IgnoredAny>(s).map_err(|e| e.to_string())?;
    Parser {
        s: s.as_bytes(),
        i: 0,
    }
    .value()
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Result<J, String> {
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut v = Vec::new();
                loop {
                    self.ws();
                    if self.s.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        return Ok(J::Obj(v));
                    }
                    let k = self.string()?;
                    self.ws();
                    self.expect(b':')?;
                    let val = self.value()?;
                    v.push((k, val));
                    self.ws();
                    if self.s.get(self.i) == Some(&b',') {
                        self.i += 1;
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut v = Vec::new();
                loop {
                    self.ws();
                    if self.s.get(self.i) == Some(&b']') {
                        self.i += 1;
                        return Ok(J::Arr(v));
                    }
                    v.push(self.value()?);
                    self.ws();
                    if self.s.get(self.i) == Some(&b',') {
                        self.i += 1;
                    }
                }
            }
            Some(b'"') => Ok(J::Str(self.string()?)),
            Some(_) => {
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| !b",}] \n\t\r".contains(c))
                {
                    self.i += 1;
                }
                let tok = std::str::from_utf8(&self.s[start..self.i]).map_err(|e| e.to_string())?;
                Ok(match tok {
                    "null" => J::Null,
                    "true" => J::Bool(true),
                    "false" => J::Bool(false),
                    n => J::Num(n.to_string()),
                })
            }
            None => Err("unexpected end of JSON".into()),
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at byte {}", c as char, self.i))
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let start = self.i - 1;
        let mut esc = false;
        while let Some(&c) = self.s.get(self.i) {
            self.i += 1;
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                let raw = std::str::from_utf8(&self.s[start..self.i]).map_err(|e| e.to_string())?;
                return serde_json::from_str(raw).map_err(|e| e.to_string());
            }
        }
        Err("unterminated string".into())
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// Pretty JSON (`-p`) as iproute2's json_writer prints it: four-space
/// indent, each object member on its own line, array elements inline
/// (`[ a,b ]`, an empty one `[ ]`), keys in order.
pub fn pretty(j: &J) -> String {
    let mut out = String::new();
    pretty_into(j, 0, &mut out);
    out
}

fn pretty_into(j: &J, depth: usize, out: &mut String) {
    let pad = |n: usize| "    ".repeat(n);
    match j {
        J::Obj(v) => {
            out.push('{');
            for (i, (k, x)) in v.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&format!("\n{}{}: ", pad(depth + 1), quote(k)));
                pretty_into(x, depth + 1, out);
            }
            if !v.is_empty() {
                out.push_str(&format!("\n{}", pad(depth)));
            }
            out.push('}');
        }
        J::Arr(v) => {
            out.push_str("[ ");
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                pretty_into(x, depth + 1, out);
            }
            if !v.is_empty() {
                out.push(' ');
            }
            out.push(']');
        }
        other => out.push_str(&compact(other)),
    }
}

/// The opening of a `{"mon":[...]}` document written as it goes (compact
/// or [`pretty`]); [`mon_item`] and [`mon_close`] write the rest, the
/// three together being the whole document's text.
pub fn mon_open(pretty: bool) -> String {
    if pretty {
        "{\n    \"mon\": [ ".into()
    } else {
        "{\"mon\":[".into()
    }
}

/// One element of the `mon` array.
pub fn mon_item(j: &J, first: bool, pretty: bool) -> String {
    let mut s = String::new();
    if !first {
        s.push(',');
    }
    if pretty {
        pretty_into(j, 2, &mut s);
    } else {
        s.push_str(&compact(j));
    }
    s
}

/// The end of the `mon` document; `any`: an element was written.
pub fn mon_close(any: bool, pretty: bool) -> String {
    match (pretty, any) {
        (true, true) => " ]\n}".into(),
        (true, false) => "]\n}".into(),
        (false, _) => "]}".into(),
    }
}

/// Compact JSON.
pub fn compact(j: &J) -> String {
    match j {
        J::Null => "null".into(),
        J::Bool(b) => b.to_string(),
        J::Num(n) => n.clone(),
        J::Str(s) => quote(s),
        J::Arr(v) => format!("[{}]", v.iter().map(compact).collect::<Vec<_>>().join(",")),
        J::Obj(v) => format!(
            "{{{}}}",
            v.iter()
                .map(|(k, x)| format!("{}:{}", quote(k), compact(x)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

fn scalar(j: &J) -> Option<String> {
    match j {
        J::Null => Some("null".into()),
        J::Bool(b) => Some(b.to_string()),
        J::Num(n) => Some(n.clone()),
        J::Str(s) => Some(s.clone()),
        J::Arr(v) if v.is_empty() => Some("[]".into()),
        J::Arr(v) if v.iter().all(|x| scalar(x).is_some()) => {
            Some(v.iter().filter_map(scalar).collect::<Vec<_>>().join(" "))
        }
        _ => None,
    }
}

/// iproute2-style text of one object: scalars as `key value` on one line,
/// nested objects and lists under an indented `key:` heading, their
/// content indented one step more.
pub fn text_object(j: &J, ind: usize, out: &mut String) {
    let pad = "  ".repeat(ind);
    match j {
        J::Obj(v) => {
            let line: Vec<String> = v
                .iter()
                .filter_map(|(k, x)| scalar(x).map(|s| format!("{k} {s}")))
                .collect();
            if !line.is_empty() {
                out.push_str(&format!("{pad}{}\n", line.join(" ")));
            }
            // devlink's pr_out_object_start / pr_out_array_start: the
            // heading one step in from its object's line, its content two.
            for (k, x) in v.iter().filter(|(_, x)| scalar(x).is_none()) {
                out.push_str(&format!("{pad}  {k}:\n"));
                text_object(x, ind + 2, out);
            }
        }
        J::Arr(v) => {
            for x in v {
                text_object(x, ind, out);
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other).unwrap_or_default())),
    }
}

/// Text of a whole `{"section":{"handle":entry-or-list}}` answer.
pub fn text_section(j: &J) -> String {
    let mut out = String::new();
    let J::Obj(sections) = j else {
        text_object(j, 0, &mut out);
        return out;
    };
    for (_, handles) in sections {
        let J::Obj(hs) = handles else {
            text_object(handles, 0, &mut out);
            continue;
        };
        for (h, v) in hs {
            match v {
                J::Obj(fields) if fields.iter().all(|(_, x)| scalar(x).is_some()) => {
                    let mut line = String::new();
                    text_object(v, 0, &mut line);
                    let line = line.trim_end();
                    if line.is_empty() {
                        out.push_str(&format!("{h}\n"));
                    } else {
                        out.push_str(&format!("{h}: {line}\n"));
                    }
                }
                // pr_out_handle_start without an array: the entry's
                // scalars on the handle's line, its nested objects under it.
                J::Obj(fields) => {
                    let mut body = String::new();
                    text_object(v, 0, &mut body);
                    if fields.iter().any(|(_, x)| scalar(x).is_some()) {
                        out.push_str(&format!("{h}: {body}"));
                    } else {
                        out.push_str(&format!("{h}:\n{body}"));
                    }
                }
                _ => {
                    out.push_str(&format!("{h}:\n"));
                    text_object(v, 1, &mut out);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_kept_and_text_reads_like_iproute2() {
        let s = r#"{"trap":{"model/0":[{"name":"stp","type":"control","generic":true},{"name":"x","type":"drop","generic":false}]}}"#;
        let j = parse(s).unwrap();
        assert_eq!(compact(&j), s);
        assert_eq!(
            text_section(&j),
            "model/0:\n  name stp type control generic true\n  name x type drop generic false\n"
        );
        let p = r#"{"port":{"model/0/1":{"type":"notset","flavour":"physical","port":1}}}"#;
        assert_eq!(
            text_section(&parse(p).unwrap()),
            "model/0/1: type notset flavour physical port 1\n"
        );
        assert_eq!(
            pretty(&parse(p).unwrap()),
            "{\n    \"port\": {\n        \"model/0/1\": {\n            \"type\": \"notset\",\n            \"flavour\": \"physical\",\n            \"port\": 1\n        }\n    }\n}"
        );
        // json_writer's arrays: inline, objects in them indented one level
        // deeper than the array's key.
        assert_eq!(
            pretty(&parse(r#"{"a":[{"b":1},{"c":[]}],"d":{},"e":[1,2]}"#).unwrap()),
            "{\n    \"a\": [ {\n            \"b\": 1\n        },{\n            \"c\": [ ]\n        } ],\n    \"d\": {},\n    \"e\": [ 1,2 ]\n}"
        );
        assert!(parse("{\"a\":").is_err());
        // The monitor's document written piece by piece is the document.
        let items = [
            parse(p).unwrap(),
            parse(r#"{"command":"del","x":[]}"#).unwrap(),
        ];
        for pr in [false, true] {
            for n in 0..=2 {
                let mut s = mon_open(pr);
                for (i, it) in items[..n].iter().enumerate() {
                    s.push_str(&mon_item(it, i == 0, pr));
                }
                s.push_str(&mon_close(n > 0, pr));
                let whole = J::Obj(vec![("mon".into(), J::Arr(items[..n].to_vec()))]);
                assert_eq!(s, if pr { pretty(&whole) } else { compact(&whole) });
            }
        }
    }
}
