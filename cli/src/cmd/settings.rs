//! Turning typed `KEY=VALUE` text into setting values, by the settings table.

use anyhow::{anyhow, bail, Result};
use dsp_core::params::{Kind, Value};
use headroom_config::settings::{self, AllParams, Key};

/// Parses `text` as a value for `setting`.
///
/// # Errors
/// The text is not of the setting's type.
pub fn parse_value(setting: &Key, text: &str) -> Result<Value<'static>> {
    let text = text.trim();
    Ok(match setting.kind() {
        Kind::Bool => match text {
            "true" | "on" | "yes" | "1" => Value::Bool(true),
            "false" | "off" | "no" | "0" => Value::Bool(false),
            _ => bail!("`{}` expects true or false, not {text:?}", setting.key()),
        },
        Kind::Number { .. } => Value::Number(text.parse::<f64>().map_err(|_| {
            anyhow!(
                "`{}` expects {}, not {text:?}",
                setting.key(),
                setting.describe_range()
            )
        })?),
        Kind::Choice(names) => match names.iter().find(|n| **n == text) {
            Some(n) => Value::Choice(n),
            None => bail!(
                "`{}` expects {}, not {text:?}",
                setting.key(),
                setting.describe_range()
            ),
        },
    })
}

/// Applies `KEY=VALUE` to `params`.
///
/// # Errors
/// Malformed assignment, unknown key, or a value of the wrong type or range.
pub fn apply_assignment(params: &mut AllParams, assignment: &str) -> Result<()> {
    let (key, value) = assignment
        .split_once('=')
        .ok_or_else(|| anyhow!("--set expects KEY=VALUE, got {assignment:?}"))?;
    let key = key.trim();
    let setting = settings::find(key)
        .ok_or_else(|| anyhow!("unknown setting `{key}` (see `headroom settings`)"))?;
    let value = parse_value(&setting, value)?;
    setting
        .apply(params, value)
        .map_err(|e| anyhow!("`{key}`: {}", setting.explain(e)))
}
