//! The guard: a strict RFC 8259 validator that every received frame passes
//! before anything interprets it.
//!
//! ## Why a separate pass
//! Off-the-shelf `no_std` JSON parsers recurse per nesting level (a frame of
//! 64 KiB of `[` overflows a small stack) and are lenient where they skip
//! (raw control characters inside strings, bare garbage in ignored values).
//! The guard is iterative, keeps its container stack in one `u64`, and
//! enforces the whole grammar, so everything downstream ([`Value`] views and
//! the request decoder) only ever sees well-formed text.
//!
//! ## What it enforces (IPC.md, "Limits" and "Strings")
//! * the bytes are UTF-8 (RFC 3629; no BOM);
//! * exactly one JSON value, with only whitespace around it;
//! * no raw control character (U+0000–U+001F) inside a string;
//! * only the escapes `\" \\ \/ \b \f \n \r \t \uXXXX`; a `\uD800`–`\uDBFF`
//!   escape must be followed by a `\uDC00`–`\uDFFF` escape (a surrogate
//!   pair), and a low surrogate may not stand alone;
//! * numbers follow the RFC grammar (no leading zeros, `+`, `.5`, `NaN`…);
//! * at most `max_depth` nested arrays/objects (IPC.md: 16).
//!
//! ## Cost
//! One forward pass, O(n) time, O(1) memory, no recursion.

use core::fmt;

use super::value::{swar, Value};
use super::ErrorCode;

/// Why a frame is not acceptable JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardErrorKind {
    /// The bytes are not UTF-8.
    InvalidUtf8,
    /// Nothing but whitespace.
    Empty,
    /// The text ends inside a value.
    UnexpectedEnd,
    /// A byte that the grammar does not allow here.
    UnexpectedCharacter,
    /// A raw U+0000–U+001F inside a string (must be escaped).
    ControlCharacter,
    /// A backslash escape other than the nine RFC 8259 ones.
    InvalidEscape,
    /// A `\u` escape of a UTF-16 surrogate that is not part of a pair.
    LoneSurrogate,
    /// A number that breaks the grammar (`01`, `1.`, `-`, `1e`).
    InvalidNumber,
    /// Something other than whitespace after the value.
    TrailingData,
    /// More nested arrays/objects than allowed.
    TooDeep,
}

/// A rejected frame: what is wrong and at which byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardError {
    /// What is wrong.
    pub kind: GuardErrorKind,
    /// Byte offset in the frame where it was detected.
    pub offset: usize,
    /// The depth limit in force (for the message of [`GuardErrorKind::TooDeep`]).
    pub max_depth: usize,
}

impl GuardError {
    /// The protocol error code: `too_large` for the depth limit,
    /// `bad_message` for everything else.
    pub fn code(&self) -> ErrorCode {
        match self.kind {
            GuardErrorKind::TooDeep => ErrorCode::TooLarge,
            _ => ErrorCode::BadMessage,
        }
    }
}

impl fmt::Display for GuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            GuardErrorKind::TooDeep => {
                return write!(
                    f,
                    "nesting deeper than {} levels at byte {}",
                    self.max_depth, self.offset
                )
            }
            GuardErrorKind::InvalidUtf8 => "invalid UTF-8",
            GuardErrorKind::Empty => "empty message",
            GuardErrorKind::UnexpectedEnd => "unexpected end of input",
            GuardErrorKind::UnexpectedCharacter => "unexpected character",
            GuardErrorKind::ControlCharacter => "raw control character in string",
            GuardErrorKind::InvalidEscape => "invalid escape in string",
            GuardErrorKind::LoneSurrogate => "lone surrogate in \\u escape",
            GuardErrorKind::InvalidNumber => "invalid number",
            GuardErrorKind::TrailingData => "trailing data after the value",
        };
        write!(f, "invalid JSON at byte {}: {what}", self.offset)
    }
}

/// JSON text that passed [`validate`]: the proof that views over it are sound.
#[derive(Debug, Clone, Copy)]
pub struct Validated<'a> {
    text: &'a str,
}

impl<'a> Validated<'a> {
    /// The validated text (the whole frame, whitespace included).
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// A view of the value.
    pub fn value(&self) -> Value<'a> {
        Value::from_validated(self.text)
    }
}

/// Validates `frame` as one JSON value with at most `max_depth` nesting
/// levels (capped at 64).
///
/// # Errors
/// The first violation found, with its byte offset (see [`GuardErrorKind`]).
pub fn validate(frame: &[u8], max_depth: usize) -> Result<Validated<'_>, GuardError> {
    let max_depth = max_depth.min(64);
    let fail = |kind, offset| GuardError {
        kind,
        offset,
        max_depth,
    };
    let text = core::str::from_utf8(frame)
        .map_err(|e| fail(GuardErrorKind::InvalidUtf8, e.valid_up_to()))?;
    let b = text.as_bytes();
    Checker { b, max_depth }
        .run()
        .map(|()| Validated { text })
        .map_err(|(kind, offset)| fail(kind, offset))
}

/// Bytes that end the fast scan inside a string: `"`, `\` and controls.
const fn string_stops() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
}
static STRING_STOP: [bool; 256] = string_stops();

type Fail = (GuardErrorKind, usize);

struct Checker<'a> {
    b: &'a [u8],
    max_depth: usize,
}

impl Checker<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    #[inline]
    fn ws(&self, mut i: usize) -> usize {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.at(i) {
            i += 1;
        }
        i
    }

    fn unexpected(&self, i: usize) -> Fail {
        if i >= self.b.len() {
            (GuardErrorKind::UnexpectedEnd, i)
        } else {
            (GuardErrorKind::UnexpectedCharacter, i)
        }
    }

    fn run(&self) -> Result<(), Fail> {
        let mut i = self.ws(0);
        if i >= self.b.len() {
            return Err((GuardErrorKind::Empty, i));
        }
        // Bit d of `stack` is 1 when the container at depth d+1 is an object.
        let mut stack: u64 = 0;
        let mut depth = 0usize;
        'value: loop {
            // Expecting a value at `i` (whitespace already skipped).
            match self.at(i) {
                Some(open @ (b'{' | b'[')) => {
                    if depth >= self.max_depth {
                        return Err((GuardErrorKind::TooDeep, i));
                    }
                    let is_obj = open == b'{';
                    if is_obj {
                        stack |= 1 << depth;
                    } else {
                        stack &= !(1 << depth);
                    }
                    depth += 1;
                    i = self.ws(i + 1);
                    let close = if is_obj { b'}' } else { b']' };
                    if self.at(i) == Some(close) {
                        depth -= 1;
                        i += 1;
                    } else {
                        if is_obj {
                            i = self.member_key(i)?;
                        }
                        continue 'value;
                    }
                }
                Some(b'"') => i = self.string(i)?,
                Some(b't') => i = self.literal(i, b"true")?,
                Some(b'f') => i = self.literal(i, b"false")?,
                Some(b'n') => i = self.literal(i, b"null")?,
                Some(b'-' | b'0'..=b'9') => i = self.number(i)?,
                _ => return Err(self.unexpected(i)),
            }
            // A value ended at `i`: close containers / move to the next one.
            loop {
                i = self.ws(i);
                if depth == 0 {
                    if i < self.b.len() {
                        return Err((GuardErrorKind::TrailingData, i));
                    }
                    return Ok(());
                }
                let in_obj = stack & (1 << (depth - 1)) != 0;
                match (self.at(i), in_obj) {
                    (Some(b','), _) => {
                        i = self.ws(i + 1);
                        if in_obj {
                            i = self.member_key(i)?;
                        }
                        continue 'value;
                    }
                    (Some(b'}'), true) | (Some(b']'), false) => {
                        depth -= 1;
                        i += 1;
                    }
                    _ => return Err(self.unexpected(i)),
                }
            }
        }
    }

    /// `"key"` `:` at `i`; returns the index of the value (whitespace skipped).
    #[inline]
    fn member_key(&self, i: usize) -> Result<usize, Fail> {
        if self.at(i) != Some(b'"') {
            return Err(self.unexpected(i));
        }
        let j = self.ws(self.string(i)?);
        if self.at(j) != Some(b':') {
            return Err(self.unexpected(j));
        }
        Ok(self.ws(j + 1))
    }

    fn literal(&self, i: usize, word: &[u8]) -> Result<usize, Fail> {
        match self.b.get(i..i + word.len()) {
            Some(s) if s == word => Ok(i + word.len()),
            _ => {
                // Report the first byte that differs.
                let k = (0..word.len())
                    .find(|&k| self.at(i + k) != word.get(k).copied())
                    .unwrap_or(0);
                Err(self.unexpected(i + k))
            }
        }
    }

    fn digits(&self, mut i: usize) -> usize {
        while let Some(b'0'..=b'9') = self.at(i) {
            i += 1;
        }
        i
    }

    #[inline]
    fn number(&self, start: usize) -> Result<usize, Fail> {
        let bad = |i| Err((GuardErrorKind::InvalidNumber, i));
        let mut i = start;
        if self.at(i) == Some(b'-') {
            i += 1;
        }
        match self.at(i) {
            Some(b'0') => {
                i += 1;
                if let Some(b'0'..=b'9') = self.at(i) {
                    return bad(i);
                }
            }
            Some(b'1'..=b'9') => i = self.digits(i + 1),
            _ => return bad(i),
        }
        if self.at(i) == Some(b'.') {
            let j = self.digits(i + 1);
            if j == i + 1 {
                return bad(j);
            }
            i = j;
        }
        if let Some(b'e' | b'E') = self.at(i) {
            i += 1;
            if let Some(b'+' | b'-') = self.at(i) {
                i += 1;
            }
            let j = self.digits(i);
            if j == i {
                return bad(j);
            }
            i = j;
        }
        Ok(i)
    }

    fn hex4(&self, i: usize) -> Result<u32, Fail> {
        let mut v = 0;
        for k in 0..4 {
            let d = self
                .at(i + k)
                .and_then(|c| (c as char).to_digit(16))
                .ok_or((GuardErrorKind::InvalidEscape, i + k))?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    /// The string whose opening quote is at `i`; returns the index after it.
    #[inline]
    fn string(&self, i: usize) -> Result<usize, Fail> {
        let mut j = i + 1;
        loop {
            // Fast path: plain text runs, eight bytes at a time, then one.
            while let Some(w) = swar::word(self.b, j) {
                if swar::has(w, b'"') | swar::has(w, b'\\') | swar::has_less(w, 0x20) != 0 {
                    break;
                }
                j += 8;
            }
            while let Some(&c) = self.b.get(j) {
                if STRING_STOP[c as usize] {
                    break;
                }
                j += 1;
            }
            match self.at(j) {
                None => return Err((GuardErrorKind::UnexpectedEnd, j)),
                Some(b'"') => return Ok(j + 1),
                Some(b'\\') => match self.at(j + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => j += 2,
                    Some(b'u') => {
                        let v = self.hex4(j + 2)?;
                        match v {
                            0xD800..=0xDBFF => {
                                let pair = self.at(j + 6) == Some(b'\\')
                                    && self.at(j + 7) == Some(b'u')
                                    && matches!(self.hex4(j + 8), Ok(0xDC00..=0xDFFF));
                                if !pair {
                                    return Err((GuardErrorKind::LoneSurrogate, j));
                                }
                                j += 12;
                            }
                            0xDC00..=0xDFFF => return Err((GuardErrorKind::LoneSurrogate, j)),
                            _ => j += 6,
                        }
                    }
                    None => return Err((GuardErrorKind::UnexpectedEnd, j + 1)),
                    Some(_) => return Err((GuardErrorKind::InvalidEscape, j)),
                },
                Some(_) => return Err((GuardErrorKind::ControlCharacter, j)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &[u8]) -> Option<GuardErrorKind> {
        validate(s, 16).err().map(|e| e.kind)
    }

    #[test]
    fn accepts_rfc_examples() {
        for ok in [
            &br#"{}"#[..],
            br#" {"a":[1,-0,0.5,1e3,-2.5E-7,true,false,null,"x\u00e9\n\"",{}]} "#,
            br#""\ud83c\udfa7""#,
            br#"[[[]]]"#,
            b"0",
            "\"caf\u{e9}\"".as_bytes(),
        ] {
            assert_eq!(kind(ok), None, "{:?}", core::str::from_utf8(ok));
        }
    }

    #[test]
    fn rejects_with_kind_and_offset() {
        use GuardErrorKind::*;
        let cases: &[(&[u8], GuardErrorKind, usize)] = &[
            (b"", Empty, 0),
            (b"  ", Empty, 2),
            (b"{", UnexpectedEnd, 1),
            (b"{\"a\" 1}", UnexpectedCharacter, 5),
            (b"{\"a\":1,}", UnexpectedCharacter, 7),
            (b"[1,]", UnexpectedCharacter, 3),
            (b"{\"a\":1} x", TrailingData, 8),
            (b"\"a\x01\"", ControlCharacter, 2),
            (b"\"\\x\"", InvalidEscape, 1),
            (b"\"\\u12g4\"", InvalidEscape, 5),
            (b"\"\\ud800\"", LoneSurrogate, 1),
            (b"\"\\udc00\"", LoneSurrogate, 1),
            (b"\"\\ud800\\u0041\"", LoneSurrogate, 1),
            (b"01", InvalidNumber, 1),
            (b"1.", InvalidNumber, 2),
            (b"-", InvalidNumber, 1),
            (b"1e+", InvalidNumber, 3),
            (b"tru", UnexpectedEnd, 3),
            (b"nul1", UnexpectedCharacter, 3),
            (b"\xef\xbb\xbf{}", UnexpectedCharacter, 0),
            (b"{\"\xff\":1}", InvalidUtf8, 2),
            (b"[1 2]", UnexpectedCharacter, 3),
            (b"{\"a\":1]", UnexpectedCharacter, 6),
        ];
        for (input, k, off) in cases {
            let e = validate(input, 16).unwrap_err();
            assert_eq!((e.kind, e.offset), (*k, *off), "{input:?}");
            assert_eq!(e.code(), ErrorCode::BadMessage);
        }
    }

    #[test]
    fn depth_limit_is_exact_and_iterative() {
        let mut buf = [0u8; 200_000];
        for (i, b) in buf.iter_mut().enumerate() {
            *b = if i < 100_000 { b'[' } else { b']' };
        }
        let e = validate(&buf, 16).unwrap_err();
        assert_eq!((e.kind, e.offset), (GuardErrorKind::TooDeep, 16));
        assert_eq!(e.code(), ErrorCode::TooLarge);
        assert!(validate(&buf[100_000 - 16..100_000 + 16], 16).is_ok());
        assert!(validate(&buf[100_000 - 17..100_000 + 17], 16).is_err());
    }
}
