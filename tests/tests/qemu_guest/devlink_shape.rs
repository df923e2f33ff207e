//! `devlink -j` (iproute2, on the kernel's mlx5_core) against `cxu -j` (on
//! our driver), both on the same model: the keys and the JSON types of two
//! documents of one command, not their values (a driver name or a reporter's
//! state legitimately differs).
//!
//! An array is compared through the union of its elements' shapes: devlink's
//! per-handle arrays (reporters, params) hold objects whose names differ
//! between drivers but whose keys are the ones a script reads.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// One difference: the path (`.key`, `[]` for an array's elements) and what
/// differs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diff {
    pub path: String,
    pub what: String,
}

impl std::fmt::Display for Diff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.what)
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The union of the shapes of `items`: objects merge their keys (each key's
/// values merged in turn), arrays their elements; a scalar keeps the first.
fn merged(items: &[Value]) -> Option<Value> {
    let mut it = items.iter();
    let first = it.next()?.clone();
    Some(it.fold(first, merge))
}

fn merge(acc: Value, v: &Value) -> Value {
    match (acc, v) {
        (Value::Object(mut a), Value::Object(b)) => {
            for (k, bv) in b {
                let m = match a.remove(k) {
                    Some(av) => merge(av, bv),
                    None => bv.clone(),
                };
                a.insert(k.clone(), m);
            }
            Value::Object(a)
        }
        (Value::Array(mut a), Value::Array(b)) => {
            a.extend(b.iter().cloned());
            Value::Array(merged(&a).into_iter().collect())
        }
        (acc, _) => acc,
    }
}

fn keys(m: &Map<String, Value>) -> BTreeSet<&str> {
    m.keys().map(String::as_str).collect()
}

/// The differences between `devlink`'s document and `cxu`'s, in path order.
pub fn diff(devlink: &Value, cxu: &Value) -> Vec<Diff> {
    let mut out = Vec::new();
    walk("", devlink, cxu, &mut out);
    out.sort();
    out
}

fn walk(path: &str, d: &Value, c: &Value, out: &mut Vec<Diff>) {
    match (d, c) {
        (Value::Object(dm), Value::Object(cm)) => {
            let (dk, ck) = (keys(dm), keys(cm));
            for k in dk.union(&ck) {
                let p = format!("{path}.{k}");
                match (dm.get(*k), cm.get(*k)) {
                    (Some(dv), Some(cv)) => walk(&p, dv, cv, out),
                    (Some(dv), None) => out.push(Diff {
                        path: p,
                        what: format!("only devlink has it ({})", kind(dv)),
                    }),
                    (None, Some(cv)) => out.push(Diff {
                        path: p,
                        what: format!("only cxu has it ({})", kind(cv)),
                    }),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(da), Value::Array(ca)) => {
            if let (Some(dv), Some(cv)) = (merged(da), merged(ca)) {
                walk(&format!("{path}[]"), &dv, &cv, out);
            } else if da.is_empty() != ca.is_empty() {
                out.push(Diff {
                    path: path.to_string(),
                    what: format!("devlink has {} element(s), cxu {}", da.len(), ca.len()),
                });
            }
        }
        _ if kind(d) != kind(c) => out.push(Diff {
            path: path.to_string(),
            what: format!("{} in devlink, {} in cxu", kind(d), kind(c)),
        }),
        _ => {}
    }
}

#[test]
fn keys_and_types_differ_values_do_not() {
    let d: Value = serde_json::from_str(
        r#"{"health":{"pci/x":[{"reporter":"fw","state":"healthy","error":0},{"reporter":"vnic","state":"healthy","error":0,"grace_period":0}]}}"#,
    )
    .unwrap();
    let c: Value = serde_json::from_str(
        r#"{"health":{"pci/x":[{"reporter":"fw_fatal","state":"error","error":"0","dump":true}]}}"#,
    )
    .unwrap();
    let got: Vec<String> = diff(&d, &c).iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            r#".health.pci/x[].dump: only cxu has it (bool)"#,
            r#".health.pci/x[].error: number in devlink, string in cxu"#,
            r#".health.pci/x[].grace_period: only devlink has it (number)"#,
        ]
    );
    assert!(diff(&d, &d).is_empty());
}
