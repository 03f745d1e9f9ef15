//! Every error code of IPC.md's "Errors" table: the ones the codec decides
//! are reached from the inputs that cause them; the daemon-level ones are
//! checked to encode and decode faithfully.

use dsp_core::proto::*;

fn reject(input: &str) -> (ErrorCode, String, Option<Id<'_>>) {
    let e = decode_request(input.as_bytes()).expect_err(input);
    (e.code(), e.to_string(), e.id)
}

fn check(code: ErrorCode, cases: &[(&str, &str)]) {
    for (input, message) in cases {
        let (got, msg, _) = reject(input);
        assert_eq!((got, msg.as_str()), (code, *message), "input: {input}");
    }
}

#[test]
fn bad_frame() {
    let mut dec = FrameDecoder::new(vec![0u8; 1024]);
    let (_, feed) = dec.feed(b"\x16\x03\x01"); // a TLS hello
    let Feed::Error(e) = feed else { panic!() };
    assert_eq!(e.code(), ErrorCode::BadFrame);
    assert_eq!(
        e.to_string(),
        "first byte 0x16 selects no framing (expected '{', whitespace or 0x00)"
    );
}

#[test]
fn bad_message_for_invalid_json() {
    let e = decode_request(b"{\"op\":\"ping\",\"x\":\"\xff\"}").unwrap_err();
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        (
            ErrorCode::BadMessage,
            "invalid JSON at byte 18: invalid UTF-8"
        )
    );
    check(
        ErrorCode::BadMessage,
        &[
            ("", "invalid JSON at byte 0: empty message"),
            (
                "{\"op\":\"ping\"",
                "invalid JSON at byte 12: unexpected end of input",
            ),
            (
                "{\"op\":\"ping\",}",
                "invalid JSON at byte 13: unexpected character",
            ),
            (
                "{'op':'ping'}",
                "invalid JSON at byte 1: unexpected character",
            ),
            // What a lenient parser would skip: garbage in an ignored member.
            (
                "{\"op\":\"ping\",\"x\":nope}",
                "invalid JSON at byte 18: unexpected character",
            ),
            (
                "{\"op\":\"ping\",\"x\":[1,,2]}",
                "invalid JSON at byte 20: unexpected character",
            ),
            (
                "{\"op\":\"ping\",\"x\":\"a\u{1}b\"}",
                "invalid JSON at byte 19: raw control character in string",
            ),
            (
                "{\"op\":\"ping\",\"x\":\"tab\there\"}",
                "invalid JSON at byte 21: raw control character in string",
            ),
            (
                "{\"op\":\"ping\",\"x\":\"\\q\"}",
                "invalid JSON at byte 18: invalid escape in string",
            ),
            (
                "{\"op\":\"ping\",\"x\":\"\\u12\"}",
                "invalid JSON at byte 22: invalid escape in string",
            ),
            (
                "{\"op\":\"ping\",\"x\":\"\\udfa7\"}",
                "invalid JSON at byte 18: lone surrogate in \\u escape",
            ),
            (
                "{\"op\":\"ping\",\"x\":\"\\ud83c x\"}",
                "invalid JSON at byte 18: lone surrogate in \\u escape",
            ),
            (
                "{\"op\":\"ping\",\"x\":01}",
                "invalid JSON at byte 18: invalid number",
            ),
            (
                "{\"op\":\"ping\",\"x\":NaN}",
                "invalid JSON at byte 17: unexpected character",
            ),
            (
                "{\"op\":\"ping\",\"x\":-}",
                "invalid JSON at byte 18: invalid number",
            ),
            (
                "{\"op\":\"ping\"} {}",
                "invalid JSON at byte 14: trailing data after the value",
            ),
            (
                "\u{feff}{\"op\":\"ping\"}",
                "invalid JSON at byte 0: unexpected character",
            ),
        ],
    );
}

#[test]
fn bad_message_for_the_envelope() {
    check(
        ErrorCode::BadMessage,
        &[
            ("[]", "message must be a JSON object"),
            ("\"ping\"", "message must be a JSON object"),
            ("{}", "op: missing"),
            ("{\"op\":1}", "op: expected a string"),
            (
                "{\"op\":\"ping\",\"cmd\":\"ping\"}",
                "op: expected one op (or its alias cmd), given once",
            ),
            (
                "{\"op\":\"ping\",\"op\":\"ping\"}",
                "op: expected one op (or its alias cmd), given once",
            ),
            (
                "{\"op\":\"ping\",\"caps\":1}",
                "caps: expected a string of at most 256 bytes",
            ),
            (
                "{\"op\":\"ping\",\"caps\":\"a\",\"caps\":\"a\"}",
                "caps: given more than once",
            ),
            (
                "{\"id\":1,\"id\":2,\"op\":\"ping\"}",
                "id: given more than once",
            ),
        ],
    );
    let id_msg =
        "id: expected an integer from 0 to 18446744073709551615 or a string of at most 128 bytes";
    let long_id = format!("{{\"id\":\"{}\",\"op\":\"ping\"}}", "x".repeat(129));
    let long_caps = format!("{{\"op\":\"ping\",\"caps\":\"{}\"}}", "x".repeat(257));
    for input in [
        "{\"id\":-1,\"op\":\"ping\"}",
        "{\"id\":1.5,\"op\":\"ping\"}",
        "{\"id\":1e3,\"op\":\"ping\"}",
        "{\"id\":18446744073709551616,\"op\":\"ping\"}",
        "{\"id\":true,\"op\":\"ping\"}",
        "{\"id\":[1],\"op\":\"ping\"}",
        &long_id,
    ] {
        let (code, msg, id) = reject(input);
        assert_eq!(
            (code, msg.as_str(), id),
            (ErrorCode::BadMessage, id_msg, None),
            "{input}"
        );
    }
    assert_eq!(reject(&long_caps).0, ErrorCode::BadMessage);
    // Limits are inclusive; the id survives later errors.
    let ok_id = format!("{{\"id\":\"{}\",\"op\":\"ping\"}}", "é".repeat(64));
    assert!(decode_request(ok_id.as_bytes()).is_ok());
    let max = decode_request(b"{\"id\":18446744073709551615,\"op\":\"ping\"}").unwrap();
    assert_eq!(max.id, Some(Id::Num(u64::MAX)));
    let (_, _, id) = reject("{\"id\":\"a\\u0062\",\"op\":\"nope\"}");
    assert_eq!(id, Some(Id::Str(Str::new("ab"))));
}

#[test]
fn unknown_op_keeps_the_id() {
    check(
        ErrorCode::UnknownOp,
        &[
            ("{\"op\":\"nope\"}", "unknown op \"nope\""),
            ("{\"op\":\"PING\"}", "unknown op \"PING\""),
            ("{\"op\":\"\"}", "unknown op \"\""),
            ("{\"cmd\":\"create_layer\"}", "unknown op \"create_layer\""),
        ],
    );
    let (_, _, id) = reject("{\"id\":5,\"op\":\"nope\"}");
    assert_eq!(id, Some(Id::Num(5)));
    // Huge names are cut in the message so the error frame stays small.
    let huge = format!("{{\"op\":\"{}\"}}", "x".repeat(60_000));
    let (_, msg, _) = reject(&huge);
    assert_eq!(msg, format!("unknown op \"{}...\"", "x".repeat(64)));
    // Escapes in the op name are decoded.
    assert_eq!(
        decode_request(b"{\"op\":\"p\\u0069ng\"}").unwrap().op,
        Op::Ping
    );
}

#[test]
fn bad_argument_for_every_kind_of_argument() {
    let topics = "args.topics: expected an array of topics: \"meters\", \"profile\", \"routing\", \"daemon\", or {\"topic\":<name>,\"max_hz\":1-100}";
    let key =
        "args.key: expected a setting key: dot-separated words of a-z, 0-9 and _, at most 64 bytes";
    let name = "args.name: expected a profile name: 1 to 64 of A-Z, a-z, 0-9, _, - and ., not starting with .";
    let app = "args.app: expected a non-empty string of at most 256 bytes";
    let mode = "args.mode: expected \"processed\" or \"bypass\"";
    let stream = "args.stream: expected an integer node id from 0 to 4294967295";
    let long_app = format!(
        "{{\"op\":\"route.unset\",\"args\":{{\"app\":\"{}\"}}}}",
        "a".repeat(257)
    );
    let long_key = format!(
        "{{\"op\":\"setting.get\",\"args\":{{\"key\":\"{}\"}}}}",
        "a".repeat(65)
    );
    check(
        ErrorCode::BadArgument,
        &[
            ("{\"op\":\"ping\",\"args\":[]}", "args: expected an object"),
            ("{\"op\":\"ping\",\"args\":1}", "args: expected an object"),
            ("{\"op\":\"profile.use\"}", "args.name: missing"),
            ("{\"op\":\"profile.use\",\"args\":{\"name\":null}}", "args.name: missing"),
            ("{\"op\":\"profile.use\",\"args\":{\"name\":\"../../etc\"}}", name),
            ("{\"op\":\"profile.use\",\"args\":{\"name\":\".hidden\"}}", name),
            ("{\"op\":\"profile.show\",\"args\":{\"name\":\"\"}}", name),
            ("{\"op\":\"profile.show\",\"args\":{\"name\":\"a\",\"name\":\"b\"}}", "args.name: given more than once"),
            ("{\"op\":\"route.set\",\"args\":{\"app\":\"\",\"mode\":\"processed\"}}", app),
            ("{\"op\":\"route.set\",\"args\":{\"app\":1,\"mode\":\"processed\"}}", app),
            ("{\"op\":\"route.set\",\"args\":{\"app\":\"mpv\"}}", "args.mode: missing"),
            ("{\"op\":\"route.set\",\"args\":{\"app\":\"mpv\",\"mode\":\"loud\"}}", mode),
            (&long_app, app),
            ("{\"op\":\"route.unset\"}", "args.app: missing"),
            ("{\"op\":\"route.stream\",\"args\":{\"stream\":-1,\"mode\":\"processed\"}}", stream),
            ("{\"op\":\"route.stream\",\"args\":{\"stream\":4294967296,\"mode\":\"processed\"}}", stream),
            ("{\"op\":\"route.stream\",\"args\":{\"stream\":1.0,\"mode\":\"processed\"}}", stream),
            ("{\"op\":\"route.stream\",\"args\":{\"stream\":\"7\",\"mode\":\"processed\"}}", stream),
            ("{\"op\":\"setting.get\",\"args\":{\"key\":\"Agc.x\"}}", key),
            ("{\"op\":\"setting.get\",\"args\":{\"key\":\"agc..x\"}}", key),
            ("{\"op\":\"setting.get\",\"args\":{\"key\":\".agc\"}}", key),
            ("{\"op\":\"setting.get\",\"args\":{\"key\":\"agc.\"}}", key),
            ("{\"op\":\"setting.get\",\"args\":{\"key\":\"\"}}", key),
            (&long_key, key),
            ("{\"op\":\"setting.clear\",\"args\":{}}", "args.key: missing"),
            ("{\"op\":\"setting.set\",\"args\":{\"key\":\"a.b\"}}", "args.value: missing"),
            ("{\"op\":\"setting.set\",\"args\":{\"key\":\"a.b\",\"value\":[1]}}", "args.value: expected a boolean, a finite number or a string"),
            ("{\"op\":\"setting.set\",\"args\":{\"key\":\"a.b\",\"value\":1e999}}", "args.value: expected a boolean, a finite number or a string"),
            ("{\"op\":\"setting.list\",\"args\":{\"prefix\":\"A\"}}", "args.prefix: expected a key prefix: a-z, 0-9, _ and ., at most 64 bytes"),
            ("{\"op\":\"bypass.set\",\"args\":{\"bypass\":1}}", "args.bypass: expected a boolean"),
            ("{\"op\":\"subscribe\"}", "args.topics: missing"),
            ("{\"op\":\"subscribe\",\"args\":{\"topics\":[]}}", topics),
            ("{\"op\":\"subscribe\",\"args\":{\"topics\":\"meters\"}}", topics),
            ("{\"op\":\"subscribe\",\"args\":{\"topics\":[\"Meters\"]}}", topics),
            ("{\"op\":\"subscribe\",\"args\":{\"topics\":[{\"topic\":\"meters\",\"max_hz\":0}]}}", topics),
            ("{\"op\":\"subscribe\",\"args\":{\"topics\":[{\"topic\":\"meters\",\"max_hz\":101}]}}", topics),
            ("{\"op\":\"subscribe\",\"args\":{\"topics\":[{\"topic\":\"meters\",\"max_hz\":2.5}]}}", topics),
            ("{\"op\":\"subscribe\",\"args\":{\"topics\":[{\"max_hz\":2}]}}", topics),
            ("{\"op\":\"unsubscribe\",\"args\":{\"topics\":[1]}}", topics),
        ],
    );
}

#[test]
fn arguments_at_their_limits_are_accepted() {
    let app = format!(
        "{{\"op\":\"route.unset\",\"args\":{{\"app\":\"{}\"}}}}",
        "é".repeat(128)
    );
    assert!(decode_request(app.as_bytes()).is_ok());
    let key = format!(
        "{{\"op\":\"setting.get\",\"args\":{{\"key\":\"{}\"}}}}",
        "a".repeat(64)
    );
    assert!(decode_request(key.as_bytes()).is_ok());
    let r = decode_request(
        b"{\"op\":\"subscribe\",\"args\":{\"topics\":[{\"topic\":\"meters\",\"max_hz\":100},{\"topic\":\"daemon\",\"max_hz\":1},\"meters\"]}}",
    )
    .unwrap();
    let Op::Subscribe { topics } = r.op else {
        panic!()
    };
    // A later entry for the same topic replaces the earlier one.
    assert_eq!(topics.get(Topic::Meters).unwrap().max_hz, None);
    assert_eq!(topics.get(Topic::Daemon).unwrap().max_hz, Some(1));
    let r = decode_request(
        b"{\"op\":\"route.stream\",\"args\":{\"stream\":4294967295,\"mode\":\"bypass\"}}",
    )
    .unwrap();
    assert_eq!(
        r.op,
        Op::RouteStream {
            stream: u32::MAX,
            mode: RouteMode::Bypass
        }
    );
    // Unknown members are ignored at every level.
    let r = decode_request(
        b"{\"op\":\"bypass.set\",\"v\":2,\"args\":{\"bypass\":false,\"why\":{\"x\":[1]}}}",
    )
    .unwrap();
    assert_eq!(r.op, Op::BypassSet { bypass: false });
}

#[test]
fn too_large_for_depth_frames_and_results() {
    let deep = format!(
        "{{\"op\":\"ping\",\"args\":{{\"x\":{}{}}}}}",
        "[".repeat(14),
        "]".repeat(14)
    );
    assert!(
        decode_request(deep.as_bytes()).is_ok(),
        "16 levels are allowed"
    );
    let deeper = format!(
        "{{\"op\":\"ping\",\"args\":{{\"x\":{}{}}}}}",
        "[".repeat(15),
        "]".repeat(15)
    );
    let (code, msg, _) = reject(&deeper);
    assert_eq!(
        (code, msg.as_str()),
        (
            ErrorCode::TooLarge,
            "nesting deeper than 16 levels at byte 39"
        )
    );
    // A megabyte of brackets: rejected iteratively, no stack overflow.
    let bomb = "[".repeat(1 << 20);
    assert_eq!(reject(&bomb).0, ErrorCode::TooLarge);

    let mut dec = FrameDecoder::new(vec![0u8; MAX_FRAME_BYTES]);
    let (_, feed) = dec.feed(&[0, 1, 0, 1]);
    let Feed::Error(e) = feed else {
        panic!("{feed:?}")
    };
    assert_eq!(
        e,
        FrameError::FrameTooLarge {
            declared: 65537,
            limit: 65536
        }
    );
    assert_eq!(e.code(), ErrorCode::TooLarge);

    // A result that does not fit the frame limit is refused by the encoder,
    // and the error maps to too_large.
    let mut out = vec![0u8; 2 * MAX_FRAME_BYTES];
    let big = "x".repeat(MAX_FRAME_BYTES);
    let e = encode_ok(&mut out, Framing::Lines, Some(Id::Num(1)), big.as_str()).unwrap_err();
    assert_eq!((e, e.code()), (EncodeError::TooLarge, ErrorCode::TooLarge));
    let n = encode_error(
        &mut out,
        Framing::Lines,
        Some(Id::Num(1)),
        e.code(),
        &"result exceeds 65536 bytes",
    )
    .unwrap();
    assert!(n < 200);
}

#[test]
fn daemon_level_codes_round_trip() {
    for &code in ErrorCode::ALL {
        for framing in [Framing::Lines, Framing::LengthPrefixed] {
            let mut out = [0u8; 256];
            let n = encode_error(
                &mut out,
                framing,
                Some(Id::Str(Str::new("r-1"))),
                code,
                &"why \"it\" failed",
            )
            .unwrap();
            let json = match framing {
                Framing::Lines => &out[..n - 1],
                Framing::LengthPrefixed => &out[4..n],
            };
            let ServerMessage::Response(r) = decode_server_message(json).unwrap() else {
                panic!()
            };
            assert_eq!(r.id, Some(Id::Str(Str::new("r-1"))));
            let body = r.outcome.unwrap_err();
            assert_eq!(
                (body.code, body.message),
                (code, Str::new("why \"it\" failed"))
            );
            assert_eq!(body.wire_code, code.as_str());
            assert_eq!(ErrorCode::from_wire(code.as_str()), Some(code));
        }
    }
    // A code from a newer server reads as internal, keeping its name.
    let ServerMessage::Response(r) = decode_server_message(
        br#"{"id":1,"ok":false,"error":{"code":"rate_limited","message":"slow down"}}"#,
    )
    .unwrap() else {
        panic!()
    };
    let body = r.outcome.unwrap_err();
    assert_eq!(
        (body.code, body.wire_code),
        (ErrorCode::Internal, Str::new("rate_limited"))
    );
    // Encoder bugs are internal errors.
    assert_eq!(EncodeError::NotFinite.code(), ErrorCode::Internal);
    assert_eq!(EncodeError::Misuse.code(), ErrorCode::Internal);
}

#[test]
fn client_side_decoding_rejects_malformed_server_frames() {
    for (input, msg) in [
        (&br#"{"id":1}"#[..], "ok: missing"),
        (br#"{"ok":"yes"}"#, "ok: expected a boolean"),
        (br#"{"ok":true}"#, "result: missing"),
        (br#"{"ok":false}"#, "error: missing"),
        (
            br#"{"ok":false,"error":{"code":1}}"#,
            "error.code: expected a string",
        ),
        (br#"{"event":"x","data":{}}"#, "topic: missing"),
        (
            br#"{"event":"x","topic":"meters","data":[]}"#,
            "data: expected an object",
        ),
        (br#"[1]"#, "message must be a JSON object"),
    ] {
        let e = decode_server_message(input).unwrap_err();
        assert_eq!(e.to_string(), msg);
        assert_eq!(e.code(), ErrorCode::BadMessage);
    }
    // Unknown events and topics are not errors.
    let ServerMessage::Event(ev) =
        decode_server_message(br#"{"event":"new_thing","topic":"future","data":{"a":1}}"#).unwrap()
    else {
        panic!()
    };
    assert_eq!(ev.known_topic(), None);
    assert!(matches!(ev.typed(), Ok(KnownEvent::Other(_))));
    // Unknown ops in hello are skipped.
    let ServerMessage::Event(ev) = decode_server_message(
        br#"{"event":"hello","topic":"daemon","data":{"name":"headroomd","version":"9","protocol":1,"max_frame":65536,"ops":["ping","teleport"],"topics":["meters","weather"]}}"#,
    )
    .unwrap() else { panic!() };
    let KnownEvent::Hello(h) = ev.typed().unwrap() else {
        panic!()
    };
    assert!(h.ops.contains(OpName::Ping) && !h.ops.contains(OpName::Status));
    assert_eq!(h.topics, TopicSet::EMPTY.with(Topic::Meters));
}
