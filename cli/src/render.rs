//! Human output: aligned tables that count display width (so app names in
//! any script line up), and number formatting. JSON output bypasses this.

use serde_json::Value;
use std::io::Write;
use unicode_width::UnicodeWidthStr;

/// Writes one line to stdout. A closed pipe (`headroom … | head`) ends the
/// program quietly with status 0, like any well-behaved filter.
pub fn emit(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out
        .write_fmt(args)
        .and_then(|_| out.write_all(b"\n"))
        .and_then(|_| out.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("headroom: cannot write output: {e}");
        std::process::exit(2);
    }
}

/// `println!` that treats a closed pipe as the end (see [`emit`]).
#[macro_export]
macro_rules! outln {
    () => { $crate::render::emit(format_args!("")) };
    ($($t:tt)*) => { $crate::render::emit(format_args!($($t)*)) };
}

/// Prints rows as a table with a header; columns padded by display width.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.width());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                out.push_str(&" ".repeat(widths[i].saturating_sub(cell.width()) + 2));
            }
        }
        crate::outln!("{}", out.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// A scalar for display: numbers without needless digits, null as "-".
pub fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(x) if n.is_f64() => {
                let s = format!("{x:.2}");
                let s = s.trim_end_matches('0').trim_end_matches('.');
                if s == "-0" {
                    "0".into()
                } else {
                    s.to_string()
                }
            }
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Key/value lines, keys padded.
pub fn pairs(items: &[(&str, String)]) {
    let w = items.iter().map(|(k, _)| k.width()).max().unwrap_or(0);
    for (k, v) in items {
        crate::outln!("{k}{}  {v}", " ".repeat(w - k.width()));
    }
}
