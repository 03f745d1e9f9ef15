//! (b) encode → decode round trip of arbitrary messages: requests of every
//! op, responses, events and arbitrary JSON values. Properties: encoding
//! valid messages succeeds, decoding gives back an equal message, and
//! re-encoding the decoded (borrowed, possibly escaped) form is
//! byte-identical.
#![no_main]

use dsp_core::proto::*;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

fn strip(framing: Framing, frame: &[u8]) -> &[u8] {
    match framing {
        Framing::Lines => &frame[..frame.len() - 1],
        Framing::LengthPrefixed => &frame[4..],
    }
}

/// A string drawn from `alphabet`, `min..=max` characters.
fn from_alphabet(
    u: &mut Unstructured<'_>,
    alphabet: &[u8],
    min: usize,
    max: usize,
) -> Result<String> {
    let len = u.int_in_range(min..=max)?;
    (0..len)
        .map(|_| Ok(char::from(*u.choose(alphabet)?)))
        .collect()
}

fn setting_key(u: &mut Unstructured<'_>) -> Result<String> {
    let words = u.int_in_range(1..=4)?;
    let mut key = String::new();
    for i in 0..words {
        if i > 0 {
            key.push('.');
        }
        key.push_str(&from_alphabet(
            u,
            b"abcdefghijklmnopqrstuvwxyz0123456789_",
            1,
            12,
        )?);
    }
    Ok(key)
}

fn bounded<'a>(u: &mut Unstructured<'a>, max: usize, non_empty: bool) -> Result<&'a str> {
    let s: &str = u.arbitrary()?;
    Ok(if s.len() > max || (non_empty && s.is_empty()) {
        "x"
    } else {
        s
    })
}

fn request(u: &mut Unstructured<'_>, framing: Framing, out: &mut [u8]) -> Result<()> {
    let key = setting_key(u)?;
    let mut name = from_alphabet(u, b"ABCxyz019_-.", 1, 64)?;
    if name.starts_with('.') {
        name.replace_range(..1, "_");
    }
    let app = bounded(u, 256, true)?;
    let text = bounded(u, 1000, false)?;
    let id = if u.arbitrary()? {
        Some(Id::Num(u.arbitrary()?))
    } else if u.arbitrary()? {
        Some(Id::Str(Str::new(bounded(u, 128, false)?)))
    } else {
        None
    };
    let caps = if u.arbitrary()? {
        Some(Str::new(bounded(u, 256, false)?))
    } else {
        None
    };
    let mode = *u.choose(RouteMode::ALL)?;
    let mut subs = Subscriptions::EMPTY;
    for _ in 0..u.int_in_range(1..=6)? {
        subs.insert(Subscription {
            topic: *u.choose(Topic::ALL)?,
            max_hz: if u.arbitrary()? {
                Some(u.int_in_range(1..=MAX_HZ_LIMIT)?)
            } else {
                None
            },
        });
    }
    let x: f64 = u.arbitrary()?;
    let value = match u.int_in_range(0..=2)? {
        0 => Scalar::Bool(u.arbitrary()?),
        1 => Scalar::Number(if x.is_finite() { x } else { 0.0 }),
        _ => Scalar::String(Str::new(text)),
    };
    let op = match *u.choose(OpName::ALL)? {
        OpName::Ping => Op::Ping,
        OpName::Hello => Op::Hello,
        OpName::Status => Op::Status,
        OpName::ProfileList => Op::ProfileList,
        OpName::ProfileShow => Op::ProfileShow {
            name: if u.arbitrary()? {
                Some(Str::new(&name))
            } else {
                None
            },
        },
        OpName::ProfileUse => Op::ProfileUse {
            name: Str::new(&name),
        },
        OpName::ProfileReload => Op::ProfileReload,
        OpName::RouteList => Op::RouteList,
        OpName::RouteSet => Op::RouteSet {
            app: Str::new(app),
            mode,
        },
        OpName::RouteUnset => Op::RouteUnset { app: Str::new(app) },
        OpName::RouteStream => Op::RouteStream {
            stream: u.arbitrary()?,
            mode,
        },
        OpName::SettingGet => Op::SettingGet {
            key: Str::new(&key),
        },
        OpName::SettingSet => Op::SettingSet {
            key: Str::new(&key),
            value,
        },
        OpName::SettingList => Op::SettingList {
            prefix: if u.arbitrary()? {
                Some(Str::new(&key))
            } else {
                None
            },
        },
        OpName::SettingClear => Op::SettingClear {
            key: Str::new(&key),
        },
        OpName::SettingReset => Op::SettingReset,
        OpName::BypassSet => Op::BypassSet {
            bypass: u.arbitrary()?,
        },
        OpName::Subscribe => Op::Subscribe { topics: subs },
        OpName::Unsubscribe => Op::Unsubscribe {
            topics: if u.arbitrary()? {
                Some(subs.topics())
            } else {
                None
            },
        },
    };
    let req = Request { id, op, caps };
    let n = encode_request(out, framing, &req).expect("a valid request encodes");
    let back = decode_request(strip(framing, &out[..n])).expect("an encoded request decodes");
    assert_eq!(back, req);
    let mut again = vec![0u8; n];
    assert_eq!(encode_request(&mut again, framing, &back), Ok(n));
    assert_eq!(&again[..], &out[..n]);
    Ok(())
}

fn server(u: &mut Unstructured<'_>, framing: Framing, out: &mut [u8]) -> Result<()> {
    let id = if u.arbitrary()? {
        Some(Id::Num(u.arbitrary()?))
    } else {
        None
    };
    let text = bounded(u, 2000, false)?;
    let n = match u.int_in_range(0..=4)? {
        0 => {
            let code = *u.choose(ErrorCode::ALL)?;
            let n = encode_error(out, framing, id, code, text).expect("encodes");
            let ServerMessage::Response(r) =
                decode_server_message(strip(framing, &out[..n])).unwrap()
            else {
                panic!()
            };
            let body = r.outcome.unwrap_err();
            assert_eq!((r.id, body.code, body.message), (id, code, Str::new(text)));
            n
        }
        1 => {
            let ping = PingResult {
                name: Str::new(text),
                version: Str::new("0.1.0"),
                protocol: u.arbitrary()?,
            };
            let n = encode_ok(out, framing, id, &ping).expect("encodes");
            let ServerMessage::Response(r) =
                decode_server_message(strip(framing, &out[..n])).unwrap()
            else {
                panic!()
            };
            assert_eq!(PingResult::from_value(r.outcome.unwrap()), Ok(ping));
            n
        }
        2 => {
            let d = Dropped {
                lost_topic: *u.choose(Topic::ALL)?,
                count: u.arbitrary()?,
                total: u.arbitrary()?,
            };
            let n = encode_dropped(out, framing, &d).expect("encodes");
            let ServerMessage::Event(e) = decode_server_message(strip(framing, &out[..n])).unwrap()
            else {
                panic!()
            };
            assert_eq!(e.typed(), Ok(KnownEvent::Dropped(d)));
            n
        }
        3 => {
            let mut f = || -> Result<Option<f64>> {
                let x: f64 = u.arbitrary()?;
                Ok(x.is_finite().then_some(x))
            };
            let l = Levels {
                momentary_lufs: f()?,
                shortterm_lufs: f()?,
                integrated_lufs: f()?,
                true_peak_dbtp: f()?,
                gain_db: f()?.unwrap_or(0.0),
                gain_reduction_db: f()?.unwrap_or(0.0),
            };
            let n = encode_levels(out, framing, &l).expect("encodes");
            let ServerMessage::Event(e) = decode_server_message(strip(framing, &out[..n])).unwrap()
            else {
                panic!()
            };
            assert_eq!(e.typed(), Ok(KnownEvent::Levels(l)));
            n
        }
        _ => {
            let h = Hello::current(text, "0.1.0");
            let n = encode_hello(out, framing, &h).expect("encodes");
            let ServerMessage::Event(e) = decode_server_message(strip(framing, &out[..n])).unwrap()
            else {
                panic!()
            };
            assert_eq!(e.typed(), Ok(KnownEvent::Hello(h)));
            n
        }
    };
    assert!(n <= MAX_FRAME_BYTES + 4);
    Ok(())
}

/// Any JSON the guard accepts re-encodes (compactly) to JSON that decodes
/// to an equal value, and re-encoding that is a fixed point.
fn value(data: &[u8], out: &mut [u8]) {
    let Ok(v) = parse(data) else { return };
    let mut w = JsonWriter::new(out);
    w.value(&v).expect("a validated value re-encodes");
    let n = w.finish().unwrap();
    assert!(n <= data.len(), "compact re-encoding never grows");
    let copy = out[..n].to_vec();
    let v2 = parse(&copy).expect("re-encoded value validates");
    assert_eq!(v2, v);
    let mut again = vec![0u8; n];
    let mut w = JsonWriter::new(&mut again);
    w.value(&v2).unwrap();
    assert_eq!(w.finish(), Ok(n));
    assert_eq!(again, copy);
}

fuzz_target!(|data: &[u8]| {
    let mut out = vec![0u8; MAX_FRAME_BYTES + 8];
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let framing = if selector & 1 == 0 {
        Framing::Lines
    } else {
        Framing::LengthPrefixed
    };
    let mut u = Unstructured::new(rest);
    match selector % 6 / 2 {
        0 => {
            let _ = request(&mut u, framing, &mut out);
        }
        1 => {
            let _ = server(&mut u, framing, &mut out);
        }
        _ => value(rest, &mut out),
    }
});
