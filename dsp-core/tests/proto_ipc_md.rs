//! IPC.md's examples are tests: every `ndjson` and `framed` block is replayed
//! as one connection through the real codec, so the document cannot drift
//! from the implementation.
//!
//! For each block:
//! * client lines (`>`) go through a [`FrameDecoder`] and [`decode_request`];
//!   a request that decodes is re-encoded and must match the line byte for
//!   byte (except ports-style `cmd` lines and lines with unknown members,
//!   which are checked for semantic equality); a request the codec rejects
//!   must be answered, on the next server line, by exactly the error frame
//!   the codec produces (code, message and id);
//! * server lines (`<`) must decode, re-encode canonically to the same bytes,
//!   and — where the crate types the result or event — decode into the type
//!   and encode back to the same bytes;
//! * the first server line is `hello`, or a refusal that ends the block;
//!   every request is answered, in order, with its id.
//!
//! Across the document, every op and every error code must appear.

use std::collections::{BTreeSet, VecDeque};

use dsp_core::proto::*;

const DOC: &str = include_str!("../../IPC.md");

struct Block {
    lang: &'static str,
    first_line: usize,
    lines: Vec<(usize, &'static str)>,
}

fn blocks() -> Vec<Block> {
    let mut out = Vec::new();
    // Inside a fence: Some(block) for the blocks we check, None for others.
    let mut fence: Option<Option<Block>> = None;
    for (i, line) in DOC.lines().enumerate() {
        let n = i + 1;
        let is_fence = line.trim_start().starts_with("```");
        match (&mut fence, is_fence) {
            (None, true) => {
                let lang = line.trim_start().trim_start_matches('`');
                fence = Some(match lang {
                    "ndjson" | "framed" => Some(Block {
                        lang: if lang == "ndjson" { "ndjson" } else { "framed" },
                        first_line: n,
                        lines: Vec::new(),
                    }),
                    _ => None,
                });
            }
            (Some(_), true) => {
                if let Some(Some(b)) = fence.take() {
                    out.push(b);
                }
            }
            (Some(Some(b)), false) => b.lines.push((n, line)),
            _ => {}
        }
    }
    assert!(fence.is_none(), "IPC.md has an unclosed code fence");
    out
}

/// Splits a `framed` line into (prefix bytes, json text).
fn framed_parts(line: &str) -> ([u8; 4], &str) {
    let mut prefix = [0u8; 4];
    let mut rest = line;
    for p in prefix.iter_mut() {
        rest = rest.trim_start();
        *p = u8::from_str_radix(&rest[..2], 16).expect("hex prefix byte");
        rest = &rest[2..];
    }
    (prefix, rest.strip_prefix(' ').unwrap_or(rest))
}

fn wire_bytes(lang: &str, text: &str) -> Vec<u8> {
    match lang {
        "ndjson" => {
            let mut v = text.as_bytes().to_vec();
            v.push(b'\n');
            v
        }
        _ => {
            let (prefix, json) = framed_parts(text);
            let mut v = prefix.to_vec();
            v.extend_from_slice(json.as_bytes());
            v
        }
    }
}

enum Expect {
    /// Exactly these bytes (a codec-generated error frame).
    Exact(Vec<u8>, bool),
    /// A response with this id to this op.
    Response(Option<String>, OpName),
}

fn id_key(id: Option<Id<'_>>) -> Option<String> {
    id.map(|id| match id {
        Id::Num(n) => format!("n{n}"),
        Id::Str(s) => format!("s{s}"),
    })
}

fn encode_with(
    framing: Framing,
    f: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>,
) -> Vec<u8> {
    let mut buf = vec![0u8; MAX_FRAME_BYTES + 8];
    let n = f(&mut buf).unwrap_or_else(|e| panic!("encode failed: {e} ({framing:?})"));
    buf.truncate(n);
    buf
}

#[derive(Default)]
struct Coverage {
    ops: BTreeSet<&'static str>,
    codes: BTreeSet<&'static str>,
    exact_requests: usize,
    typed_server_frames: usize,
}

fn check_block(block: &Block, cov: &mut Coverage) {
    let framing = if block.lang == "ndjson" {
        Framing::Lines
    } else {
        Framing::LengthPrefixed
    };
    let mut dec = FrameDecoder::new(vec![0u8; MAX_FRAME_BYTES]);
    let mut expected: VecDeque<Expect> = VecDeque::new();
    let mut closed = false;
    let mut server_lines = 0usize;
    let mut requests = 0usize;

    for &(n, line) in &block.lines {
        let at = format!("IPC.md:{n}");
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (dir, text) = line.split_at(1);
        let text = text.strip_prefix(' ').unwrap_or(text);
        match dir {
            ">" => {
                assert!(!closed, "{at}: client line after the connection closed");
                let bytes = wire_bytes(block.lang, text);
                let mut input = &bytes[..];
                loop {
                    let (used, feed) = dec.feed(input);
                    input = &input[used..];
                    match feed {
                        Feed::NeedMore => break,
                        Feed::Frame(frame) => {
                            requests += 1;
                            match decode_request(frame) {
                                Ok(req) => {
                                    cov.ops.insert(req.op.name().as_str());
                                    let enc =
                                        encode_with(framing, |b| encode_request(b, framing, &req));
                                    let enc_json = &enc[framing_json_start(framing)
                                        ..enc.len() - usize::from(framing == Framing::Lines)];
                                    let again = decode_request(enc_json)
                                        .expect("re-encoded request decodes");
                                    assert_eq!(again, req, "{at}: request round trip");
                                    let canonical = !text.contains("\"cmd\"")
                                        && !text.contains("future_member");
                                    if canonical {
                                        assert_eq!(
                                            enc,
                                            wire_bytes(block.lang, text),
                                            "{at}: request is not in canonical form"
                                        );
                                        cov.exact_requests += 1;
                                    }
                                    expected
                                        .push_back(Expect::Response(id_key(req.id), req.op.name()));
                                }
                                Err(e) => {
                                    let enc = encode_with(framing, |b| {
                                        encode_error(b, framing, e.id, e.code(), &e)
                                    });
                                    expected.push_back(Expect::Exact(enc, false));
                                }
                            }
                        }
                        Feed::Error(fe) => {
                            let f = dec.framing().unwrap_or(Framing::Lines);
                            let enc = encode_with(f, |b| encode_error(b, f, None, fe.code(), &fe));
                            expected.push_back(Expect::Exact(enc, true));
                        }
                    }
                }
            }
            "<" => {
                let bytes = wire_bytes(block.lang, text);
                let json = match block.lang {
                    "ndjson" => text,
                    _ => {
                        let (prefix, json) = framed_parts(text);
                        assert_eq!(
                            u32::from_be_bytes(prefix) as usize,
                            json.len(),
                            "{at}: length prefix"
                        );
                        json
                    }
                };
                let msg = decode_server_message(json.as_bytes())
                    .unwrap_or_else(|e| panic!("{at}: server frame does not decode: {e}"));
                // Canonical: the generic value re-encodes to the same bytes.
                let value = parse(json.as_bytes()).unwrap();
                let generic =
                    encode_with(framing, |b| encode_frame(b, framing, |w| w.value(&value)));
                assert_eq!(generic, bytes, "{at}: server frame is not canonical JSON");
                server_lines += 1;

                match msg {
                    ServerMessage::Event(ev) => {
                        if server_lines == 1 {
                            assert_eq!(ev.event, "hello", "{at}: first server frame must be hello");
                        }
                        check_event(&at, framing, &ev, &bytes, cov);
                    }
                    ServerMessage::Response(resp) => {
                        if let Err(body) = resp.outcome {
                            cov.codes.insert(body.code.as_str());
                            assert_eq!(
                                body.wire_code,
                                body.code.as_str(),
                                "{at}: unknown error code"
                            );
                        }
                        if server_lines == 1 {
                            // A refusal instead of hello: an error with a null
                            // id, and nothing after it.
                            let body = resp.outcome.expect_err("first frame is hello or a refusal");
                            assert!(resp.id.is_none(), "{at}: refusal has a null id");
                            if matches!(body.code, ErrorCode::Denied | ErrorCode::Busy) {
                                expected.clear();
                                closed = true;
                                check_error_exact(&at, framing, &resp, &bytes);
                                continue;
                            }
                        }
                        match expected.pop_front() {
                            Some(Expect::Exact(want, closes)) => {
                                assert_eq!(
                                    String::from_utf8_lossy(&bytes),
                                    String::from_utf8_lossy(&want),
                                    "{at}: codec error frame differs"
                                );
                                closed |= closes;
                            }
                            Some(Expect::Response(id, op)) => {
                                assert_eq!(id_key(resp.id), id, "{at}: response id");
                                check_response(&at, framing, op, &resp, &bytes, cov);
                            }
                            None => panic!("{at}: response without a request"),
                        }
                    }
                }
            }
            _ => panic!("{at}: line must start with >, < or #"),
        }
    }
    assert!(
        requests > 0 || closed,
        "block at IPC.md:{} sends nothing",
        block.first_line
    );
    assert!(
        expected.is_empty(),
        "block at IPC.md:{}: {} request(s) left unanswered",
        block.first_line,
        expected.len()
    );
}

fn framing_json_start(f: Framing) -> usize {
    match f {
        Framing::Lines => 0,
        Framing::LengthPrefixed => 4,
    }
}

fn check_error_exact(at: &str, framing: Framing, resp: &Response<'_>, bytes: &[u8]) {
    let body = resp.outcome.unwrap_err();
    let enc = encode_with(framing, |b| {
        encode_error(b, framing, resp.id, body.code, &body.message)
    });
    assert_eq!(enc, bytes, "{at}: error response re-encoding");
}

fn check_response(
    at: &str,
    framing: Framing,
    op: OpName,
    resp: &Response<'_>,
    bytes: &[u8],
    cov: &mut Coverage,
) {
    let result = match resp.outcome {
        Err(_) => return check_error_exact(at, framing, resp, bytes),
        Ok(v) => v,
    };
    let typed = match op {
        OpName::Ping => {
            let r = PingResult::from_value(result).unwrap();
            assert_eq!(r.protocol, PROTOCOL_VERSION);
            Some(encode_with(framing, |b| encode_ok(b, framing, resp.id, &r)))
        }
        OpName::Hello => {
            let h = Hello::from_value(result).unwrap();
            assert_eq!(h, Hello::current("headroomd", "0.1.0"), "{at}");
            Some(encode_with(framing, |b| encode_ok(b, framing, resp.id, &h)))
        }
        OpName::SettingGet | OpName::SettingSet | OpName::SettingClear => {
            let r = SettingResult::from_value(result).unwrap();
            Some(encode_with(framing, |b| encode_ok(b, framing, resp.id, &r)))
        }
        OpName::Subscribe | OpName::Unsubscribe => {
            let r = Subscribed::from_value(result).unwrap();
            Some(encode_with(framing, |b| encode_ok(b, framing, resp.id, &r)))
        }
        _ => None,
    };
    if let Some(enc) = typed {
        assert_eq!(
            String::from_utf8_lossy(&enc),
            String::from_utf8_lossy(bytes),
            "{at}: typed result re-encoding"
        );
        cov.typed_server_frames += 1;
    }
}

fn check_event(at: &str, framing: Framing, ev: &Event<'_>, bytes: &[u8], cov: &mut Coverage) {
    let enc = match ev.typed().unwrap_or_else(|e| panic!("{at}: {e}")) {
        KnownEvent::Hello(h) => {
            assert_eq!(h, Hello::current("headroomd", "0.1.0"), "{at}");
            encode_with(framing, |b| encode_hello(b, framing, &h))
        }
        KnownEvent::Dropped(d) => encode_with(framing, |b| encode_dropped(b, framing, &d)),
        KnownEvent::Levels(l) => encode_with(framing, |b| encode_levels(b, framing, &l)),
        KnownEvent::Other(e) => {
            assert!(e.known_topic().is_some(), "{at}: unknown topic");
            return;
        }
    };
    assert_eq!(
        String::from_utf8_lossy(&enc),
        String::from_utf8_lossy(bytes),
        "{at}: typed event re-encoding"
    );
    cov.typed_server_frames += 1;
}

#[test]
fn ipc_md_examples_match_the_codec() {
    let blocks = blocks();
    assert!(
        blocks.len() >= 8,
        "found only {} example blocks",
        blocks.len()
    );
    assert!(blocks.iter().any(|b| b.lang == "framed"));
    let mut cov = Coverage::default();
    for b in &blocks {
        check_block(b, &mut cov);
    }
    let all_ops: BTreeSet<_> = OpName::ALL.iter().map(|o| o.as_str()).collect();
    assert_eq!(cov.ops, all_ops, "every op needs an example in IPC.md");
    let all_codes: BTreeSet<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        cov.codes, all_codes,
        "every error code needs an example in IPC.md"
    );
    assert!(
        cov.exact_requests >= 30,
        "only {} byte-exact requests",
        cov.exact_requests
    );
    assert!(
        cov.typed_server_frames >= 20,
        "only {} typed server frames",
        cov.typed_server_frames
    );
}

#[test]
fn ipc_md_states_the_constants() {
    for needle in [
        "Protocol version: **1**",
        "65536 bytes",
        "$XDG_RUNTIME_DIR/headroom/control.sock",
        "HEADROOM_SOCKET",
        "| nesting depth (arrays + objects; the top-level object is 1) | 16 |",
        "| queued events per (connection, topic) | 64 |",
    ] {
        assert!(DOC.contains(needle), "IPC.md lacks {needle:?}");
    }
    assert_eq!(PROTOCOL_VERSION, 1);
    assert_eq!(MAX_FRAME_BYTES, 65536);
    assert_eq!(MAX_DEPTH, 16);
    assert_eq!(DEFAULT_EVENT_QUEUE_LEN, 64);
    assert_eq!(dsp_core::queue::DEFAULT_EVENT_QUEUE_LEN, 64);
    assert_eq!(SOCKET_ENV, "HEADROOM_SOCKET");
    assert!(DOC.contains(SOCKET_RELATIVE_PATH));
    for code in ErrorCode::ALL {
        assert!(
            DOC.contains(&format!("| `{}` |", code.as_str())),
            "IPC.md's error table lacks {code}"
        );
    }
    for op in OpName::ALL {
        assert!(
            DOC.contains(&format!("| `{}` ", op.as_str())),
            "IPC.md's op table lacks {op}"
        );
    }
}
