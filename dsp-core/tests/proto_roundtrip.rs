//! `decode(encode(x)) == x` for every message type, in both framings, plus
//! the writer's golden outputs and no-panic properties of the decoders.

use dsp_core::proto::*;
use proptest::prelude::*;

/// Strips the framing from one encoded frame.
fn json_of(framing: Framing, frame: &[u8]) -> &[u8] {
    match framing {
        Framing::Lines => {
            assert_eq!(frame.last(), Some(&b'\n'));
            assert!(
                !frame[..frame.len() - 1].contains(&b'\n'),
                "NDJSON frame has an inner newline"
            );
            &frame[..frame.len() - 1]
        }
        Framing::LengthPrefixed => {
            let len = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
            assert_eq!(len, frame.len() - 4);
            &frame[4..]
        }
    }
}

fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![Just(Framing::Lines), Just(Framing::LengthPrefixed)]
}

/// Owned material a request borrows from.
#[derive(Debug, Clone)]
struct Owned {
    op: u8,
    id: Option<Result<u64, String>>,
    caps: Option<String>,
    name: String,
    app: String,
    key: String,
    text: String,
    num: f64,
    flag: bool,
    stream: u32,
    subs: Vec<(u8, Option<u16>)>,
    opt: bool,
}

fn any_string(max_chars: usize) -> impl Strategy<Value = String> {
    // Arbitrary Unicode, control characters and astral planes included.
    prop::collection::vec(any::<char>(), 0..max_chars).prop_map(|v| v.into_iter().collect())
}

fn owned() -> impl Strategy<Value = Owned> {
    (
        (
            0u8..19,
            prop::option::of(prop_oneof![
                any::<u64>().prop_map(Ok),
                any_string(30)
                    .prop_filter("id ≤ 128 bytes", |s| s.len() <= 128)
                    .prop_map(Err)
            ]),
            prop::option::of(any_string(60).prop_filter("caps ≤ 256 bytes", |s| s.len() <= 256)),
        ),
        (
            "[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}",
            any_string(60).prop_filter("app", |s| !s.is_empty() && s.len() <= 256),
            "[a-z0-9_]{1,8}(\\.[a-z0-9_]{1,8}){0,3}",
            any_string(40),
        ),
        (
            prop_oneof![
                any::<f64>().prop_filter("finite", |x| x.is_finite()),
                -100.0..100.0f64
            ],
            any::<bool>(),
            any::<u32>(),
            prop::collection::vec((0u8..4, prop::option::of(1u16..=100)), 1..6),
            any::<bool>(),
        ),
    )
        .prop_map(
            |((op, id, caps), (name, app, key, text), (num, flag, stream, subs, opt))| Owned {
                op,
                id,
                caps,
                name,
                app,
                key,
                text,
                num,
                flag,
                stream,
                subs,
                opt,
            },
        )
}

fn build(o: &Owned) -> Request<'_> {
    let subs: Subscriptions = o
        .subs
        .iter()
        .map(|&(t, max_hz)| Subscription {
            topic: Topic::ALL[t as usize],
            max_hz,
        })
        .collect();
    let mode = if o.flag {
        RouteMode::Processed
    } else {
        RouteMode::Bypass
    };
    let value = match o.stream % 3 {
        0 => Scalar::Bool(o.flag),
        1 => Scalar::Number(o.num),
        _ => Scalar::String(Str::new(&o.text)),
    };
    let op = match o.op {
        0 => Op::Ping,
        1 => Op::Hello,
        2 => Op::Status,
        3 => Op::ProfileList,
        4 => Op::ProfileShow {
            name: o.opt.then(|| Str::new(&o.name)),
        },
        5 => Op::ProfileUse {
            name: Str::new(&o.name),
        },
        6 => Op::ProfileReload,
        7 => Op::RouteList,
        8 => Op::RouteSet {
            app: Str::new(&o.app),
            mode,
        },
        9 => Op::RouteUnset {
            app: Str::new(&o.app),
        },
        10 => Op::RouteStream {
            stream: o.stream,
            mode,
        },
        11 => Op::SettingGet {
            key: Str::new(&o.key),
        },
        12 => Op::SettingSet {
            key: Str::new(&o.key),
            value,
        },
        13 => Op::SettingList {
            prefix: o.opt.then(|| Str::new(&o.key)),
        },
        14 => Op::SettingClear {
            key: Str::new(&o.key),
        },
        15 => Op::SettingReset,
        16 => Op::BypassSet { bypass: o.flag },
        17 => Op::Subscribe { topics: subs },
        _ => Op::Unsubscribe {
            topics: o.opt.then(|| subs.topics()),
        },
    };
    Request {
        id: o.id.as_ref().map(|id| match id {
            Ok(n) => Id::Num(*n),
            Err(s) => Id::Str(Str::new(s)),
        }),
        op,
        caps: o.caps.as_deref().map(Str::new),
    }
}

/// An owned JSON tree for generating arbitrary values.
#[derive(Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

fn json_tree() -> impl Strategy<Value = J> {
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        any::<i64>().prop_map(J::Int),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(J::Float),
        any_string(12).prop_map(J::Str),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(J::Arr),
            prop::collection::vec((any_string(6), inner), 0..6).prop_map(J::Obj),
        ]
    })
}

fn write_tree(w: &mut JsonWriter<'_>, j: &J) -> Result<(), EncodeError> {
    match j {
        J::Null => w.null(),
        J::Bool(b) => w.bool(*b),
        J::Int(n) => w.i64(*n),
        J::Float(x) => w.f64(*x),
        J::Str(s) => w.str(s),
        J::Arr(v) => {
            w.begin_array()?;
            for e in v {
                write_tree(w, e)?;
            }
            w.end_array()
        }
        J::Obj(m) => {
            w.begin_object()?;
            for (k, e) in m {
                w.key(k)?;
                write_tree(w, e)?;
            }
            w.end_object()
        }
    }
}

fn same(j: &J, v: &Value<'_>) -> bool {
    match (j, v) {
        (J::Null, Value::Null) => true,
        (J::Bool(a), Value::Bool(b)) => a == b,
        (J::Int(a), Value::Number(n)) => n.as_i64() == Some(*a),
        (J::Float(a), Value::Number(n)) => {
            n.as_f64().map(f64::to_bits) == Some(a.to_bits())
                || (*a == 0.0 && n.as_f64() == Some(0.0))
        }
        (J::Str(a), Value::String(s)) => *s == a.as_str(),
        (J::Arr(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| same(x, &y))
        }
        (J::Obj(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b.iter())
                    .all(|((k, x), (bk, y))| bk == k.as_str() && same(x, &y))
        }
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn requests_round_trip(o in owned(), framing in framing()) {
        let req = build(&o);
        let mut buf = vec![0u8; MAX_FRAME_BYTES + 8];
        let n = encode_request(&mut buf, framing, &req).unwrap();
        let json = json_of(framing, &buf[..n]);
        let back = decode_request(json).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(json)));
        prop_assert_eq!(back, req);
        // Re-encoding the decoded (escaped, borrowed) form is byte-identical.
        let mut again = vec![0u8; MAX_FRAME_BYTES + 8];
        let m = encode_request(&mut again, framing, &back).unwrap();
        prop_assert_eq!(&again[..m], &buf[..n]);
    }

    #[test]
    fn responses_round_trip(
        id in prop::option::of(any::<u64>()),
        name in any_string(20),
        version in any_string(10),
        protocol in any::<u32>(),
        key in any_string(20),
        num in any::<f64>().prop_filter("finite", |x| x.is_finite()),
        src in 0usize..3,
        code in 0usize..10,
        message in any_string(80),
        framing in framing(),
    ) {
        let id = id.map(Id::Num);
        let mut buf = vec![0u8; 4096];

        let ping = PingResult { name: Str::new(&name), version: Str::new(&version), protocol };
        let n = encode_ok(&mut buf, framing, id, &ping).unwrap();
        let ServerMessage::Response(r) = decode_server_message(json_of(framing, &buf[..n])).unwrap() else { panic!() };
        prop_assert_eq!(r.id, id);
        prop_assert_eq!(PingResult::from_value(r.outcome.unwrap()).unwrap(), ping);

        let setting = SettingResult { key: Str::new(&key), value: Scalar::Number(num), source: SettingSource::ALL[src] };
        let n = encode_ok(&mut buf, framing, id, &setting).unwrap();
        let ServerMessage::Response(r) = decode_server_message(json_of(framing, &buf[..n])).unwrap() else { panic!() };
        prop_assert_eq!(SettingResult::from_value(r.outcome.unwrap()).unwrap(), setting);

        let code = ErrorCode::ALL[code];
        let n = encode_error(&mut buf, framing, id, code, &message).unwrap();
        let ServerMessage::Response(r) = decode_server_message(json_of(framing, &buf[..n])).unwrap() else { panic!() };
        let body = r.outcome.unwrap_err();
        prop_assert_eq!((r.id, body.code), (id, code));
        prop_assert_eq!(body.message, Str::new(&message));
    }

    #[test]
    fn events_round_trip(
        name in any_string(20),
        counts in (0u8..4, any::<u64>(), any::<u64>()),
        levels in (prop::option::of(-200.0..10.0f64), prop::option::of(any::<f64>().prop_filter("finite", |x| x.is_finite())), prop::option::of(-70.0..0.0f64), prop::option::of(-60.0..6.0f64), -40.0..40.0f64, 0.0..40.0f64),
        ops in any::<u32>(),
        topics in 0u8..16,
        framing in framing(),
    ) {
        let mut buf = vec![0u8; 4096];
        let mut hello = Hello::current(&name, "1.2.3");
        hello.ops = OpName::ALL.iter().enumerate().filter(|(i, _)| ops & (1 << i) != 0).fold(OpSet::EMPTY, |s, (_, &o)| s.with(o));
        hello.topics = Topic::ALL.iter().enumerate().filter(|(i, _)| topics & (1 << i) != 0).fold(TopicSet::EMPTY, |s, (_, &t)| s.with(t));
        let n = encode_hello(&mut buf, framing, &hello).unwrap();
        let ServerMessage::Event(ev) = decode_server_message(json_of(framing, &buf[..n])).unwrap() else { panic!() };
        prop_assert_eq!(ev.typed().unwrap(), KnownEvent::Hello(hello));

        let dropped = Dropped { lost_topic: Topic::ALL[counts.0 as usize], count: counts.1, total: counts.2 };
        let n = encode_dropped(&mut buf, framing, &dropped).unwrap();
        let ServerMessage::Event(ev) = decode_server_message(json_of(framing, &buf[..n])).unwrap() else { panic!() };
        prop_assert_eq!(ev.typed().unwrap(), KnownEvent::Dropped(dropped));

        let lv = Levels { momentary_lufs: levels.0, shortterm_lufs: levels.1, integrated_lufs: levels.2, true_peak_dbtp: levels.3, gain_db: levels.4, gain_reduction_db: levels.5 };
        let n = encode_levels(&mut buf, framing, &lv).unwrap();
        let ServerMessage::Event(ev) = decode_server_message(json_of(framing, &buf[..n])).unwrap() else { panic!() };
        prop_assert_eq!(ev.typed().unwrap(), KnownEvent::Levels(lv));
    }

    #[test]
    fn arbitrary_json_trees_round_trip_through_the_writer_and_views(tree in json_tree()) {
        let mut buf = vec![0u8; 1 << 16];
        let mut w = JsonWriter::new(&mut buf);
        write_tree(&mut w, &tree).unwrap();
        let n = w.finish().unwrap();
        let v = parse(&buf[..n]).unwrap();
        prop_assert!(same(&tree, &v), "{:?} vs {}", tree, String::from_utf8_lossy(&buf[..n]));
        // The generic re-encoder reproduces the same bytes.
        let mut again = vec![0u8; 1 << 16];
        let mut w = JsonWriter::new(&mut again);
        w.value(&v).unwrap();
        let m = w.finish().unwrap();
        prop_assert_eq!(&again[..m], &buf[..n]);
    }

    #[test]
    fn floats_keep_their_bits(x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
        let mut buf = [0u8; 64];
        let mut w = JsonWriter::new(&mut buf);
        w.f64(x).unwrap();
        let n = w.finish().unwrap();
        let v = parse(&buf[..n]).unwrap();
        prop_assert_eq!(v.as_f64().unwrap().to_bits(), x.to_bits());
    }

    #[test]
    fn strings_unescape_exactly(s in any_string(50)) {
        let mut buf = [0u8; 1024];
        let mut w = JsonWriter::new(&mut buf);
        w.str(&s).unwrap();
        let n = w.finish().unwrap();
        let v = parse(&buf[..n]).unwrap();
        let got = v.as_string().unwrap();
        let mut out = [0u8; 512];
        prop_assert_eq!(got.unescape_into(&mut out).unwrap(), s.as_str());
        prop_assert_eq!(got.to_string(), s.clone());
        prop_assert_eq!(got.len(), s.len());
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode_request(&data);
        if let Ok(ServerMessage::Event(e)) = decode_server_message(&data) {
            let _ = e.typed();
        }
    }

    #[test]
    fn decoders_never_panic_on_json_like_bytes(data in prop::collection::vec(prop::sample::select(b"{}[]\":,\\ u0123456789abcdefntrl-+.eE\xc3\xa9".to_vec()), 0..200)) {
        let _ = decode_request(&data);
        let _ = decode_server_message(&data);
        if let Ok(v) = parse(&data) {
            let mut buf = vec![0u8; 4096];
            let mut w = JsonWriter::new(&mut buf);
            if w.value(&v).is_ok() {
                let n = w.finish().unwrap();
                prop_assert!(parse(&buf[..n]).is_ok());
            }
        }
    }
}

#[test]
fn surrogate_pairs_decode_and_escapes_are_kept_when_echoed() {
    let r = decode_request(
        br#"{"id":"\ud83c\udfa7","op":"route.unset","args":{"app":"caf\u00e9 \"x\"\n"}}"#,
    )
    .unwrap();
    let Some(Id::Str(id)) = r.id else { panic!() };
    assert_eq!(id, "🎧");
    assert_eq!(id.as_str(), None, "escaped strings need decoding");
    let mut tmp = [0u8; 8];
    assert_eq!(id.unescape_into(&mut tmp).unwrap(), "🎧");
    assert!(id.unescape_into(&mut [0u8; 3]).is_err());
    let Op::RouteUnset { app } = r.op else {
        panic!()
    };
    assert_eq!(app.to_string(), "café \"x\"\n");
    let mut buf = [0u8; 128];
    let n = encode_ok(&mut buf, Framing::Lines, r.id, &app).unwrap();
    assert_eq!(
        std::str::from_utf8(&buf[..n]).unwrap(),
        "{\"id\":\"\\ud83c\\udfa7\",\"ok\":true,\"result\":\"caf\\u00e9 \\\"x\\\"\\n\"}\n"
    );
}

#[test]
fn writer_golden_output() {
    let mut buf = [0u8; 256];
    let mut w = JsonWriter::new(&mut buf);
    w.begin_object().unwrap();
    w.field("s", "q\"b\\n\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é🎧")
        .unwrap();
    w.field("f", &[1.0, -0.0, 0.1, 1e-7, 1e16, 123.456, f64::MAX][..])
        .unwrap();
    w.field("i", &[0i64, -1, i64::MIN, i64::MAX][..]).unwrap();
    w.field("u", &u64::MAX).unwrap();
    w.field("f32", &0.1f32).unwrap();
    w.field("o", &Option::<u64>::None).unwrap();
    w.key("e").unwrap();
    w.begin_array().unwrap();
    w.begin_object().unwrap();
    w.end_object().unwrap();
    w.begin_array().unwrap();
    w.end_array().unwrap();
    w.end_array().unwrap();
    w.end_object().unwrap();
    let n = w.finish().unwrap();
    assert_eq!(
        std::str::from_utf8(&buf[..n]).unwrap(),
        concat!(
            r#"{"s":"q\"b\\n\n\r\t\b\f\u0001\u001f"#,
            "\u{7f}",
            r#"é🎧","f":[1.0,-0.0,0.1,1e-7,1e16,123.456,1.7976931348623157e308],"i":[0,-1,-9223372036854775808,9223372036854775807],"u":18446744073709551615,"f32":0.1,"o":null,"e":[{},[]]}"#
        )
    );
}

#[test]
fn writer_refuses_misuse_non_finite_depth_and_overflow() {
    let mut buf = [0u8; 64];
    let mut w = JsonWriter::new(&mut buf);
    assert_eq!(w.key("k"), Err(EncodeError::Misuse));
    w.begin_object().unwrap();
    assert_eq!(
        w.u64(1),
        Err(EncodeError::Misuse),
        "value where a key is due"
    );
    w.key("k").unwrap();
    assert_eq!(
        w.key("k2"),
        Err(EncodeError::Misuse),
        "key where a value is due"
    );
    assert_eq!(w.end_object(), Err(EncodeError::Misuse), "dangling key");
    assert_eq!(w.f64(f64::NAN), Err(EncodeError::NotFinite));
    assert_eq!(w.f64(f64::INFINITY), Err(EncodeError::NotFinite));
    w.u64(1).unwrap();
    assert_eq!(w.end_array(), Err(EncodeError::Misuse), "mismatched end");
    w.end_object().unwrap();
    assert_eq!(w.null(), Err(EncodeError::Misuse), "second top-level value");
    assert!(w.finish().is_ok());
    assert_eq!(
        JsonWriter::new(&mut [0u8; 8]).finish(),
        Err(EncodeError::Misuse)
    );

    let mut buf = [0u8; 64];
    let mut w = JsonWriter::new(&mut buf);
    for _ in 0..MAX_DEPTH {
        w.begin_array().unwrap();
    }
    assert_eq!(w.begin_array(), Err(EncodeError::TooDeep));

    // Exact fit succeeds, one byte less is TooLarge, and nothing panics.
    let mut big = [0u8; 32];
    let n = encode_request(&mut big, Framing::Lines, &Request::new(Op::Ping)).unwrap();
    assert_eq!(&big[..n], b"{\"op\":\"ping\"}\n");
    for len in 0..n {
        let mut small = vec![0u8; len];
        assert_eq!(
            encode_request(&mut small, Framing::Lines, &Request::new(Op::Ping)),
            Err(EncodeError::TooLarge),
            "{len}"
        );
    }
    let mut exact = vec![0u8; n];
    assert_eq!(
        encode_request(&mut exact, Framing::Lines, &Request::new(Op::Ping)),
        Ok(n)
    );
    let mut exact = vec![0u8; n + 3];
    assert_eq!(
        encode_request(&mut exact, Framing::LengthPrefixed, &Request::new(Op::Ping)),
        Ok(n + 3)
    );
    assert_eq!(&exact[..4], &[0, 0, 0, 13]);
}

#[test]
fn frame_limit_is_enforced_even_with_a_larger_buffer() {
    let mut buf = vec![0u8; 3 * MAX_FRAME_BYTES];
    // {"id":null,"ok":true,"result":"..."}: 33 bytes around the string.
    let fits = "x".repeat(MAX_FRAME_BYTES - 33);
    let n = encode_ok(&mut buf, Framing::LengthPrefixed, None, fits.as_str()).unwrap();
    assert_eq!(n, 4 + MAX_FRAME_BYTES);
    let over = "x".repeat(MAX_FRAME_BYTES - 32);
    assert_eq!(
        encode_ok(&mut buf, Framing::LengthPrefixed, None, over.as_str()),
        Err(EncodeError::TooLarge)
    );
}

#[test]
fn cmd_alias_and_null_members() {
    let r = decode_request(br#"{"cmd":"ping","id":null,"args":null,"caps":null}"#).unwrap();
    assert_eq!(r, Request::new(Op::Ping));
    let r = decode_request(
        br#" {"args":{"key":"agc.target_lufs","value":-20},"op":"setting.set","caps":"t"} "#,
    )
    .unwrap();
    assert_eq!(r.caps, Some(Str::new("t")));
    assert_eq!(
        r.op,
        Op::SettingSet {
            key: Str::new("agc.target_lufs"),
            value: Scalar::Number(-20.0)
        }
    );
}
