//! The guard against an independent oracle (serde_json, strict RFC 8259):
//! both must accept the same texts, and the views must read the same value.
//! Known, documented differences are skipped: our depth limit, and numbers
//! too large for an f64 (valid grammar, which serde_json refuses to build).
#![no_main]

use dsp_core::proto::{guard, GuardErrorKind, Value};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Number, Value as J};

fn to_serde(v: &Value<'_>) -> Option<J> {
    Some(match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                J::Number(u.into())
            } else if let Some(i) = n.as_i64().filter(|&i| i != 0) {
                // serde_json reads `-0` as the float -0.0, not an integer.
                J::Number(i.into())
            } else {
                J::Number(Number::from_f64(n.as_f64()?)?)
            }
        }
        Value::String(s) => J::String(s.to_string()),
        Value::Array(a) => J::Array(a.iter().map(|e| to_serde(&e)).collect::<Option<_>>()?),
        Value::Object(o) => {
            let mut m = Map::new();
            for (k, e) in o.iter() {
                m.insert(k.to_string(), to_serde(&e)?); // duplicates: last wins, as serde_json
            }
            J::Object(m)
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let ours = guard::validate(data, 64);
    let theirs = serde_json::from_slice::<J>(data);
    match (&ours, &theirs) {
        (Err(e), _) if e.kind == GuardErrorKind::TooDeep => {}
        (Ok(_), Err(e)) if e.to_string().contains("number out of range") => {}
        (Ok(_), Err(e)) if e.to_string().contains("recursion limit") => {}
        (Ok(v), Ok(j)) => {
            if let Some(mine) = to_serde(&v.value()) {
                assert_eq!(
                    &mine,
                    j,
                    "values differ for {:?}",
                    String::from_utf8_lossy(data)
                );
            }
        }
        (Err(_), Err(_)) => {}
        _ => panic!(
            "verdicts differ: ours {:?}, serde_json {:?}, input {:?}",
            ours.map(|_| ()),
            theirs.map(|_| ()),
            String::from_utf8_lossy(data)
        ),
    }
});
