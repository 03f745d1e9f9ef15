//! `headroomd`'s command line: three flags, `--help` and `--version`.
//!
//! Contract: [`parse`] takes the arguments after the program name and
//! returns what to do, or an [`ArgsError`] naming the offending argument.
//! Paths are taken as `OsString`s, so any path the system allows works.
//!
//! Written by hand rather than with `clap` (which the CLI uses): in the
//! daemon, clap was about 220 KB of code and nearly all of it stayed
//! resident, a tenth of the daemon's 10 MiB memory budget for parsing
//! three flags once (see the README's RSS notes).

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::PathBuf;

/// The daemon's options.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Args {
    /// Control socket path (overrides `HEADROOM_SOCKET` and the XDG default).
    pub socket: Option<PathBuf>,
    /// Log debug detail.
    pub verbose: bool,
    /// Make Headroom the default sink while running (given back on exit).
    pub promote_default: bool,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the daemon.
    Run(Args),
    /// Print [`HELP`] and exit 0.
    Help,
    /// Print the version and exit 0.
    Version,
}

/// Why a command line was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgsError {
    /// A flag the daemon does not have.
    Unknown(OsString),
    /// A flag that needs a value was last, or given an empty one.
    MissingValue(&'static str),
    /// A flag that takes no value was given one (`--verbose=yes`).
    UnexpectedValue(&'static str),
    /// A flag given twice.
    Repeated(&'static str),
    /// A word that is not a flag: the daemon takes no operands.
    Operand(OsString),
}

impl fmt::Display for ArgsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(a) => write!(f, "unknown option '{}'", a.to_string_lossy()),
            Self::MissingValue(flag) => write!(f, "option '{flag}' needs a value"),
            Self::UnexpectedValue(flag) => write!(f, "option '{flag}' takes no value"),
            Self::Repeated(flag) => write!(f, "option '{flag}' given more than once"),
            Self::Operand(a) => write!(
                f,
                "unexpected argument '{}' (headroomd takes no operands)",
                a.to_string_lossy()
            ),
        }
    }
}

impl std::error::Error for ArgsError {}

/// `headroomd --help`.
pub const HELP: &str = "\
headroomd: levels every app through the Headroom PipeWire sink.

Usage: headroomd [OPTIONS]

Options:
      --socket <PATH>    Control socket path (overrides HEADROOM_SOCKET and the XDG default)
  -v, --verbose          Log debug detail
      --promote-default  Make Headroom the default sink while running (given back on exit)
  -h, --help             Print help
  -V, --version          Print version

Environment:
  HEADROOM_SOCKET       control socket path (default $XDG_RUNTIME_DIR/headroom/control.sock)
  HEADROOM_CAPS_TOKEN   if set, mutating ops must carry this token in \"caps\"
  HEADROOM_DSP_ISA      \"portable\": run the DSP's baseline build even where AVX2 is
                        available (same output, slower); default \"best\"
  PIPEWIRE_CONFIG_NAME  if set, PipeWire's client configuration is used as is (by
                        default headroomd brings its own on PipeWire 0.3, to get
                        realtime priority from module-rt, see the README)
  XDG_RUNTIME_DIR       where the socket lives
  XDG_CONFIG_HOME       user profiles in $XDG_CONFIG_HOME/headroom/profiles/*.toml (default ~/.config)
  XDG_STATE_HOME        saved settings in $XDG_STATE_HOME/headroom/state.toml (default ~/.local/state)
  JOURNAL_STREAM        set by systemd: log lines get journald priority prefixes

Signals: SIGTERM/SIGINT shut down cleanly; SIGHUP reloads profiles.
";

/// Parses the arguments after the program name. `--help` and `--version`
/// win over everything after them, like in most tools, but an error before
/// them is still reported.
///
/// # Errors
/// See [`ArgsError`].
pub fn parse<I: IntoIterator<Item = OsString>>(argv: I) -> Result<Command, ArgsError> {
    let mut args = Args::default();
    let mut socket_seen = false;
    let mut it = argv.into_iter();
    while let Some(arg) = it.next() {
        let (name, inline) = split_flag(&arg);
        match name {
            Some("-h" | "--help") => return Ok(Command::Help),
            Some("-V" | "--version") => return Ok(Command::Version),
            Some("--socket") => {
                if std::mem::replace(&mut socket_seen, true) {
                    return Err(ArgsError::Repeated("--socket"));
                }
                let value = match inline {
                    Some(v) => v,
                    None => it.next().ok_or(ArgsError::MissingValue("--socket"))?,
                };
                if value.is_empty() {
                    return Err(ArgsError::MissingValue("--socket"));
                }
                args.socket = Some(PathBuf::from(value));
            }
            Some("-v" | "--verbose") => switch(&mut args.verbose, "--verbose", inline)?,
            Some("--promote-default") => {
                switch(&mut args.promote_default, "--promote-default", inline)?;
            }
            _ if arg.as_encoded_bytes().starts_with(b"-") && arg.len() > 1 => {
                return Err(ArgsError::Unknown(arg));
            }
            _ => return Err(ArgsError::Operand(arg)),
        }
    }
    Ok(Command::Run(args))
}

/// Sets a boolean flag once; `name` is how errors spell it.
fn switch(slot: &mut bool, name: &'static str, inline: Option<OsString>) -> Result<(), ArgsError> {
    if inline.is_some() {
        return Err(ArgsError::UnexpectedValue(name));
    }
    if std::mem::replace(slot, true) {
        return Err(ArgsError::Repeated(name));
    }
    Ok(())
}

/// `--name=value` → (`--name`, `value`); anything else → (the argument,
/// None). A name that is not valid UTF-8 comes back as `None`, which no
/// flag matches.
fn split_flag(arg: &OsStr) -> (Option<&str>, Option<OsString>) {
    let bytes = arg.as_encoded_bytes();
    if bytes.starts_with(b"--") {
        if let Some(eq) = bytes.iter().position(|&b| b == b'=') {
            // The value keeps its bytes: a path need not be UTF-8.
            let name = std::str::from_utf8(&bytes[..eq]).ok();
            return (name, Some(os_from_bytes(&bytes[eq + 1..])));
        }
    }
    (arg.to_str(), None)
}

#[cfg(unix)]
fn os_from_bytes(bytes: &[u8]) -> OsString {
    use std::os::unix::ffi::OsStrExt;
    OsStr::from_bytes(bytes).to_os_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Command, ArgsError> {
        parse(args.iter().map(OsString::from))
    }

    fn ok(args: &[&str]) -> Args {
        match run(args) {
            Ok(Command::Run(a)) => a,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn no_arguments_run_with_defaults() {
        assert_eq!(ok(&[]), Args::default());
    }

    #[test]
    fn every_flag_in_both_spellings() {
        let want = Args {
            socket: Some(PathBuf::from("/tmp/s.sock")),
            verbose: true,
            promote_default: true,
        };
        assert_eq!(
            ok(&["--socket", "/tmp/s.sock", "-v", "--promote-default"]),
            want
        );
        assert_eq!(
            ok(&["--verbose", "--socket=/tmp/s.sock", "--promote-default"]),
            want
        );
        // A value that looks like a flag is still the socket's value.
        assert_eq!(
            ok(&["--socket", "--weird"]).socket,
            Some(PathBuf::from("--weird"))
        );
    }

    #[test]
    fn help_and_version() {
        assert_eq!(run(&["--help"]), Ok(Command::Help));
        assert_eq!(run(&["-v", "-h"]), Ok(Command::Help));
        assert_eq!(run(&["-V"]), Ok(Command::Version));
        assert_eq!(run(&["--version", "--bogus"]), Ok(Command::Version));
        assert_eq!(
            run(&["--bogus", "--help"]),
            Err(ArgsError::Unknown("--bogus".into()))
        );
        for flag in [
            "--socket",
            "--verbose",
            "--promote-default",
            "HEADROOM_DSP_ISA",
            "PIPEWIRE_CONFIG_NAME",
        ] {
            assert!(HELP.contains(flag), "{flag} missing from the help");
        }
    }

    #[test]
    fn mistakes_are_named() {
        // (command line, error, what its message must quote)
        let cases: &[(&[&str], ArgsError, &str)] = &[
            (
                &["--sockett", "x"],
                ArgsError::Unknown("--sockett".into()),
                "'--sockett'",
            ),
            (&["-x"], ArgsError::Unknown("-x".into()), "'-x'"),
            (
                &["--socket"],
                ArgsError::MissingValue("--socket"),
                "'--socket'",
            ),
            (
                &["--socket="],
                ArgsError::MissingValue("--socket"),
                "'--socket'",
            ),
            (
                &["--socket", ""],
                ArgsError::MissingValue("--socket"),
                "'--socket'",
            ),
            (
                &["--socket", "a", "--socket", "b"],
                ArgsError::Repeated("--socket"),
                "'--socket'",
            ),
            (
                &["-v", "--verbose"],
                ArgsError::Repeated("--verbose"),
                "'--verbose'",
            ),
            (
                &["--verbose=yes"],
                ArgsError::UnexpectedValue("--verbose"),
                "'--verbose'",
            ),
            (
                &["--promote-default=1"],
                ArgsError::UnexpectedValue("--promote-default"),
                "'--promote-default'",
            ),
            (&["run"], ArgsError::Operand("run".into()), "'run'"),
            (&["-"], ArgsError::Operand("-".into()), "'-'"),
        ];
        for (args, want, quoted) in cases {
            assert_eq!(run(args).as_ref(), Err(want), "{args:?}");
            let text = want.to_string();
            assert!(text.contains(quoted), "{args:?}: {text}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn socket_paths_need_not_be_utf8() {
        use std::os::unix::ffi::OsStringExt;
        let path = OsString::from_vec(b"/tmp/\xff.sock".to_vec());
        let mut eq = OsString::from("--socket=");
        eq.push(&path);
        for argv in [vec![OsString::from("--socket"), path.clone()], vec![eq]] {
            match parse(argv) {
                Ok(Command::Run(a)) => assert_eq!(a.socket, Some(PathBuf::from(&path))),
                other => panic!("{other:?}"),
            }
        }
    }
}
