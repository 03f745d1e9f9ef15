//! Borrowed, allocation-free views of JSON text that [`guard`] has validated.
//!
//! A [`Value`] is a cursor into the frame's bytes, never a copy: objects and
//! arrays are iterated lazily, strings keep their escapes until asked for
//! characters, and numbers keep their text until asked for a Rust number.
//! This is how both ends decode without `alloc`: the daemon reads typed
//! requests out of it, the CLI walks arbitrary `result` and `data` values.
//!
//! ## Contract
//! Views are only created from text that passed [`guard::validate`] (RFC 8259
//! grammar, UTF-8, escapes, depth), so the scanners here can be simple. They
//! still use checked indexing throughout: like smoltcp's wire accessors, no
//! method on a view panics, whatever bytes are underneath.
//!
//! [`guard`]: super::guard
//! [`guard::validate`]: super::guard::validate

use core::fmt::{self, Write as _};

/// A JSON string: either plain Rust text (no escapes to interpret) or the raw,
/// still-escaped contents of a validated JSON string literal.
///
/// Equality compares the decoded characters, so `"a"` written as `"\u0061"`
/// equals `Str::new("a")`.
#[derive(Clone, Copy)]
pub struct Str<'a> {
    /// Literal text when `escaped` is false; the JSON source between the
    /// quotes (validated) when it is true.
    text: &'a str,
    escaped: bool,
}

impl<'a> Str<'a> {
    /// Wraps plain text; the encoder escapes it as needed.
    pub const fn new(text: &'a str) -> Self {
        Str {
            text,
            escaped: false,
        }
    }

    /// Wraps validated JSON string contents (between the quotes).
    pub(crate) fn from_json(raw: &'a str, escaped: bool) -> Self {
        Str { text: raw, escaped }
    }

    /// The text, when it needs no unescaping (the common case; free).
    pub fn as_str(&self) -> Option<&'a str> {
        if self.escaped {
            None
        } else {
            Some(self.text)
        }
    }

    /// The raw form: `(text, true)` is validated JSON string source,
    /// `(text, false)` is literal text.
    pub(crate) fn raw(&self) -> (&'a str, bool) {
        (self.text, self.escaped)
    }

    /// Whether the value contains JSON escapes that [`Self::chars`] decodes.
    pub fn has_escapes(&self) -> bool {
        self.escaped
    }

    /// The decoded characters (escapes and surrogate pairs resolved).
    pub fn chars(&self) -> Chars<'a> {
        Chars {
            inner: self.text.chars(),
            escaped: self.escaped,
        }
    }

    /// Length in bytes of the decoded UTF-8 text.
    pub fn len(&self) -> usize {
        if self.escaped {
            self.chars().map(char::len_utf8).sum()
        } else {
            self.text.len()
        }
    }

    /// Whether the decoded text is empty.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Decodes into `buf` and returns the text.
    ///
    /// # Errors
    /// [`BufferTooSmall`] when the decoded text does not fit; `buf` then holds
    /// a prefix of it.
    pub fn unescape_into<'b>(&self, buf: &'b mut [u8]) -> Result<&'b str, BufferTooSmall> {
        let mut n = 0;
        for c in self.chars() {
            let w = c.len_utf8();
            let dst = buf.get_mut(n..n + w).ok_or(BufferTooSmall)?;
            c.encode_utf8(dst);
            n += w;
        }
        // Only whole UTF-8 sequences were written, so this cannot fail; the
        // fallback keeps the no-panic contract without `unsafe`.
        core::str::from_utf8(buf.get(..n).unwrap_or_default()).map_err(|_| BufferTooSmall)
    }
}

impl PartialEq for Str<'_> {
    fn eq(&self, other: &Self) -> bool {
        if !self.escaped && !other.escaped {
            self.text == other.text
        } else {
            self.chars().eq(other.chars())
        }
    }
}
impl Eq for Str<'_> {}

impl PartialEq<str> for Str<'_> {
    fn eq(&self, other: &str) -> bool {
        if self.escaped {
            self.chars().eq(other.chars())
        } else {
            self.text == other
        }
    }
}

impl PartialEq<&str> for Str<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl fmt::Display for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.escaped {
            self.chars().try_for_each(|c| f.write_char(c))
        } else {
            f.write_str(self.text)
        }
    }
}

impl fmt::Debug for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.chars() {
            for e in c.escape_debug() {
                f.write_char(e)?;
            }
        }
        f.write_char('"')
    }
}

/// The decoded text did not fit the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferTooSmall;

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("buffer too small for the decoded string")
    }
}

/// Iterator over the decoded characters of a [`Str`].
#[derive(Clone)]
pub struct Chars<'a> {
    inner: core::str::Chars<'a>,
    escaped: bool,
}

impl Chars<'_> {
    fn hex4(&mut self) -> Option<u32> {
        let mut v = 0;
        for _ in 0..4 {
            v = v * 16 + self.inner.next()?.to_digit(16)?;
        }
        Some(v)
    }
}

impl Iterator for Chars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let c = self.inner.next()?;
        if !self.escaped || c != '\\' {
            return Some(c);
        }
        // Validated input only holds the RFC 8259 escapes and paired
        // surrogates; U+FFFD is a no-panic fallback that never triggers there.
        Some(match self.inner.next() {
            Some('"') => '"',
            Some('\\') => '\\',
            Some('/') => '/',
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('u') => match self.hex4() {
                Some(hi @ 0xD800..=0xDBFF) => {
                    let lo = match (self.inner.next(), self.inner.next()) {
                        (Some('\\'), Some('u')) => self.hex4().unwrap_or(0),
                        _ => 0,
                    };
                    if (0xDC00..=0xDFFF).contains(&lo) {
                        char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                            .unwrap_or('\u{FFFD}')
                    } else {
                        '\u{FFFD}'
                    }
                }
                Some(v) => char::from_u32(v).unwrap_or('\u{FFFD}'),
                None => '\u{FFFD}',
            },
            _ => '\u{FFFD}',
        })
    }
}

/// A JSON number, kept as its validated text until converted.
#[derive(Clone, Copy)]
pub struct Number<'a>(&'a str);

impl<'a> Number<'a> {
    /// The number as written (RFC 8259 grammar).
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// Whether it is written as an integer (no fraction, no exponent).
    pub fn is_integer(&self) -> bool {
        !self.0.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'))
    }

    /// The value as `u64`, if written as an integer in `0..=u64::MAX`.
    pub fn as_u64(&self) -> Option<u64> {
        let b = self.0.as_bytes();
        if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        b.iter().try_fold(0u64, |acc, &d| {
            acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
    }

    /// The value as `i64`, if written as an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self.0.strip_prefix('-') {
            Some(digits) => {
                let m = Number(digits).as_u64()?;
                if m <= i64::MAX as u64 + 1 {
                    Some((m as i64).wrapping_neg())
                } else {
                    None
                }
            }
            None => i64::try_from(self.as_u64()?).ok(),
        }
    }

    /// The nearest `f64` (correctly rounded); `None` if it overflows to
    /// infinity, because JSON has no infinities to round-trip.
    pub fn as_f64(&self) -> Option<f64> {
        self.0.parse::<f64>().ok().filter(|x| x.is_finite())
    }
}

impl PartialEq for Number<'_> {
    /// Numeric equality: integers compare exactly, others as `f64`.
    fn eq(&self, other: &Self) -> bool {
        if self.is_integer() && other.is_integer() {
            if let (Some(a), Some(b)) = (self.as_i64(), other.as_i64()) {
                return a == b;
            }
            if let (Some(a), Some(b)) = (self.as_u64(), other.as_u64()) {
                return a == b;
            }
        }
        self.0.parse::<f64>().ok() == other.0.parse::<f64>().ok()
    }
}

impl fmt::Debug for Number<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A borrowed view of one JSON value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number.
    Number(Number<'a>),
    /// A string.
    String(Str<'a>),
    /// An array.
    Array(Array<'a>),
    /// An object.
    Object(Object<'a>),
}

impl<'a> Value<'a> {
    /// A view of validated text holding exactly one value (surrounding
    /// whitespace allowed).
    pub(crate) fn from_validated(text: &'a str) -> Self {
        let b = text.as_bytes();
        let start = skip_ws(b, 0);
        // The value spans to the last non-whitespace byte, so a top-level
        // container needs no scan for its end (the common case: messages
        // are objects).
        let mut end = b.len();
        while end > start && matches!(b.get(end - 1), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            end -= 1;
        }
        match b.get(start) {
            Some(b'{') => Value::Object(Object {
                inner: sub(text, start + 1, end.saturating_sub(1).max(start + 1)),
            }),
            Some(b'[') => Value::Array(Array {
                inner: sub(text, start + 1, end.saturating_sub(1).max(start + 1)),
            }),
            _ => value_at(text, start).0,
        }
    }

    /// What kind of value this is, as English for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_string(&self) -> Option<Str<'a>> {
        match self {
            Value::String(s) => Some(*s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<Number<'a>> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The integer, if this is a number written as an integer in `u64` range.
    pub fn as_u64(&self) -> Option<u64> {
        self.as_number()?.as_u64()
    }

    /// The number as a finite `f64`, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number()?.as_f64()
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<Object<'a>> {
        match self {
            Value::Object(o) => Some(*o),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<Array<'a>> {
        match self {
            Value::Array(a) => Some(*a),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Member `key` of an object (the first, if repeated); `None` for
    /// non-objects and missing keys.
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        self.as_object()?.get(key)
    }
}

/// A JSON object: its members are scanned lazily, in document order.
#[derive(Clone, Copy)]
pub struct Object<'a> {
    /// The validated text between the braces.
    inner: &'a str,
}

impl<'a> Object<'a> {
    /// Iterates `(key, value)` members in document order (duplicates kept).
    pub fn iter(&self) -> Members<'a> {
        Members {
            text: self.inner,
            pos: skip_ws(self.inner.as_bytes(), 0),
        }
    }

    /// The value of the first member named `key`.
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Number of members (a scan).
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the object has no members.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl PartialEq for Object<'_> {
    /// Members equal pairwise, in order.
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl fmt::Debug for Object<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Iterator over an [`Object`]'s members.
#[derive(Clone)]
pub struct Members<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = (Str<'a>, Value<'a>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let b = self.text.as_bytes();
        if b.get(self.pos) != Some(&b'"') {
            return None;
        }
        let (key, after_key) = string_at(self.text, self.pos);
        // Skip whitespace, the ':' and whitespace again.
        let colon = skip_ws(b, after_key);
        let vstart = skip_ws(b, colon + 1);
        let (value, after_value) = value_at(self.text, vstart);
        let next = skip_ws(b, after_value);
        self.pos = if b.get(next) == Some(&b',') {
            skip_ws(b, next + 1)
        } else {
            b.len()
        };
        Some((key, value))
    }
}

/// A JSON array: its elements are scanned lazily, in order.
#[derive(Clone, Copy)]
pub struct Array<'a> {
    /// The validated text between the brackets.
    inner: &'a str,
}

impl<'a> Array<'a> {
    /// Iterates the elements in order.
    pub fn iter(&self) -> Elements<'a> {
        Elements {
            text: self.inner,
            pos: skip_ws(self.inner.as_bytes(), 0),
        }
    }

    /// Number of elements (a scan).
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the array is empty.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl PartialEq for Array<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl fmt::Debug for Array<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over an [`Array`]'s elements.
#[derive(Clone)]
pub struct Elements<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Value<'a>> {
        let b = self.text.as_bytes();
        if self.pos >= b.len() {
            return None;
        }
        let (value, end) = value_at(self.text, self.pos);
        let next = skip_ws(b, end);
        self.pos = if b.get(next) == Some(&b',') {
            skip_ws(b, next + 1)
        } else {
            b.len()
        };
        Some(value)
    }
}

// ---------------------------------------------------------------------------
// Trusted scanners. They find ends of values in validated text; on anything
// unexpected they stop at the end of the input instead of panicking.

#[inline]
pub(crate) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// `text[a..b]`, or `""` if that is not a valid range (never happens on
/// validated text: every index here sits on an ASCII delimiter).
fn sub(text: &str, a: usize, b: usize) -> &str {
    text.get(a..b).unwrap_or_default()
}

/// Byte classes for the trusted scanners: 1 = `"`, 2 = `\\`, 3 = an opening
/// bracket, 4 = a closing bracket, 0 = anything else.
const fn scan_classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    t[b'"' as usize] = 1;
    t[b'\\' as usize] = 2;
    t[b'{' as usize] = 3;
    t[b'[' as usize] = 3;
    t[b'}' as usize] = 4;
    t[b']' as usize] = 4;
    t
}
static CLASS: [u8; 256] = scan_classes();

/// Word-at-a-time ("SWAR") byte tests: eight bytes per step instead of one.
/// Each `has_*` is non-zero exactly when some byte of the word matches.
pub(crate) mod swar {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;

    /// The 8 bytes at `j` as a little-endian word, if there are 8.
    #[inline]
    pub fn word(b: &[u8], j: usize) -> Option<u64> {
        let chunk: [u8; 8] = b.get(j..j + 8)?.try_into().ok()?;
        Some(u64::from_le_bytes(chunk))
    }

    /// Some byte is zero (the classic test; exact as "any").
    #[inline]
    fn has_zero(v: u64) -> u64 {
        v.wrapping_sub(LO) & !v & HI
    }

    /// Some byte equals `c`.
    #[inline]
    pub fn has(v: u64, c: u8) -> u64 {
        has_zero(v ^ (LO * u64::from(c)))
    }

    /// Some byte is below `n` (exact as "any" for `n` ≤ 128).
    #[inline]
    pub fn has_less(v: u64, n: u8) -> u64 {
        v.wrapping_sub(LO * u64::from(n)) & !v & HI
    }
}

/// Index of the closing quote of the string whose contents start at `j`,
/// and whether it holds escapes.
#[inline]
fn string_end(b: &[u8], mut j: usize) -> (usize, bool) {
    let mut escaped = false;
    loop {
        // Skip plain text (anything but `"` and `\`): eight bytes at a
        // time, then one.
        while let Some(w) = swar::word(b, j) {
            if swar::has(w, b'"') | swar::has(w, b'\\') != 0 {
                break;
            }
            j += 8;
        }
        while let Some(&c) = b.get(j) {
            if matches!(CLASS[c as usize], 1 | 2) {
                break;
            }
            j += 1;
        }
        match b.get(j) {
            Some(b'\\') => {
                escaped = true;
                j += 2;
            }
            Some(_) => return (j, escaped),
            None => return (b.len(), escaped),
        }
    }
}

/// The string starting at the quote `i`; returns it and the index after the
/// closing quote.
#[inline(always)]
fn string_at(text: &str, i: usize) -> (Str<'_>, usize) {
    let (end, escaped) = string_end(text.as_bytes(), i + 1);
    (Str::from_json(sub(text, i + 1, end), escaped), end + 1)
}

/// The index after the container that opens at `i`.
fn container_end(b: &[u8], i: usize) -> usize {
    let mut depth = 0usize;
    let mut j = i;
    loop {
        // `[` and `]` differ from `{` and `}` only in bit 5.
        while let Some(w) = swar::word(b, j) {
            let folded = w | 0x2020_2020_2020_2020;
            let hit = swar::has(w, b'"')
                | swar::has(w, b'\\')
                | swar::has(folded, b'{')
                | swar::has(folded, b'}');
            if hit != 0 {
                break;
            }
            j += 8;
        }
        while let Some(&c) = b.get(j) {
            if CLASS[c as usize] != 0 {
                break;
            }
            j += 1;
        }
        match b.get(j).map(|&c| CLASS[c as usize]) {
            None => return b.len(),
            Some(1) => j = string_end(b, j + 1).0 + 1,
            Some(3) => {
                depth += 1;
                j += 1;
            }
            Some(4) => {
                depth = depth.saturating_sub(1);
                j += 1;
                if depth == 0 {
                    return j;
                }
            }
            // A backslash outside a string cannot occur in validated text.
            Some(_) => j += 1,
        }
    }
}

/// The value starting at `i` (not whitespace) and the index after it.
// Always inlined: returning the (Value, end) pair through memory costs a
// store-forwarding stall per member on x86.
#[inline(always)]
fn value_at(text: &str, i: usize) -> (Value<'_>, usize) {
    let b = text.as_bytes();
    match b.get(i) {
        Some(b'{') => {
            let end = container_end(b, i);
            let inner = sub(text, i + 1, end.saturating_sub(1).max(i + 1));
            (Value::Object(Object { inner }), end)
        }
        Some(b'[') => {
            let end = container_end(b, i);
            let inner = sub(text, i + 1, end.saturating_sub(1).max(i + 1));
            (Value::Array(Array { inner }), end)
        }
        Some(b'"') => {
            let (s, end) = string_at(text, i);
            (Value::String(s), end)
        }
        Some(b't') => (Value::Bool(true), i + 4),
        Some(b'f') => (Value::Bool(false), i + 5),
        Some(b'n') => (Value::Null, i + 4),
        Some(_) => {
            let mut j = i;
            while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = b.get(j) {
                j += 1;
            }
            (Value::Number(Number(sub(text, i, j))), j)
        }
        None => (Value::Null, b.len()),
    }
}
