//! The README's settings table is generated from the one settings table in
//! spirit and checked against it here: same keys, same ranges, same
//! defaults, so the docs cannot drift from the code.

use dsp_core::params::{Kind, Value};
use headroom_config::settings;

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

#[test]
fn readme_table_matches_the_settings_table() {
    let readme = include_str!("../../README.md");
    let rows: Vec<Vec<String>> = readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.split('|').map(|c| c.trim().to_string()).collect())
        .filter(|cells: &Vec<String>| {
            cells.len() >= 7 && settings::find(cells[1].trim_matches('`')).is_some()
        })
        .collect();
    let keys: Vec<_> = settings::keys().collect();
    assert_eq!(
        rows.len(),
        keys.len(),
        "README lists {} settings, the table has {}",
        rows.len(),
        keys.len()
    );
    for k in keys {
        let row = rows
            .iter()
            .find(|r| r[1].trim_matches('`') == k.key())
            .unwrap_or_else(|| panic!("README is missing `{}`", k.key()));
        let (unit, range, default) = (&row[2], &row[3], &row[4]);
        assert_eq!(unit, k.unit(), "{}: unit", k.key());
        let want_range = match k.kind() {
            Kind::Bool => "bool".to_string(),
            Kind::Number { min, max } => format!("{} … {}", fmt_num(min), fmt_num(max)),
            Kind::Choice(names) => names.join(", "),
        };
        assert_eq!(range, &want_range, "{}: range", k.key());
        let want_default = match k.default_value() {
            Value::Bool(b) => b.to_string(),
            Value::Number(x) => fmt_num(x),
            Value::Choice(s) => s.to_string(),
        };
        assert_eq!(default, &want_default, "{}: default", k.key());
    }
}
