//! (a) A connection's raw bytes through framing, guard and parser.
//!
//! The first input byte picks the read size (bytes arrive split anywhere),
//! the rest is the stream. Properties: nothing panics; memory is the fixed
//! frame buffer (libFuzzer's RSS limit enforces the rest); every frame is
//! within the limit; every rejection maps to a documented error code whose
//! error frame encodes, fits and decodes back; every accepted request
//! re-encodes to an equal request; after a framing error nothing more is
//! produced.
#![no_main]

use dsp_core::proto::*;
use libfuzzer_sys::fuzz_target;

fn strip(framing: Framing, frame: &[u8]) -> &[u8] {
    match framing {
        Framing::Lines => &frame[..frame.len() - 1],
        Framing::LengthPrefixed => &frame[4..],
    }
}

fn answer_error(
    out: &mut [u8],
    framing: Framing,
    id: Option<Id<'_>>,
    code: ErrorCode,
    msg: &dyn core::fmt::Display,
) {
    assert!(ErrorCode::ALL.contains(&code));
    let n = encode_error(out, framing, id, code, msg).expect("an error frame always fits");
    let ServerMessage::Response(r) =
        decode_server_message(strip(framing, &out[..n])).expect("error frame decodes")
    else {
        panic!("error frame is not a response")
    };
    assert_eq!(r.id, id);
    assert_eq!(r.outcome.expect_err("error frame").code, code);
}

fuzz_target!(|data: &[u8]| {
    let Some((&read_size, stream)) = data.split_first() else {
        return;
    };
    let read_size = usize::from(read_size).max(1);
    let mut dec = FrameDecoder::new(vec![0u8; MAX_FRAME_BYTES]);
    let mut out = vec![0u8; MAX_FRAME_BYTES + 8];
    let mut failed = false;
    // What the decoder will detect; known up front so that answering does
    // not need to borrow the decoder while a frame borrows it.
    let framing = stream
        .first()
        .and_then(|&b| Framing::detect(b))
        .unwrap_or(Framing::Lines);
    for chunk in stream.chunks(read_size) {
        let mut input = chunk;
        while !input.is_empty() {
            let (used, feed) = dec.feed(input);
            assert!(used >= 1 && used <= input.len(), "progress on every call");
            input = &input[used..];
            match feed {
                Feed::NeedMore => assert!(input.is_empty()),
                Feed::Frame(frame) => {
                    assert!(!failed, "no frames after a framing error");
                    assert!(!frame.is_empty() && frame.len() <= MAX_FRAME_BYTES);
                    // The client-side decoder must cope with the same bytes.
                    if let Ok(ServerMessage::Event(ev)) = decode_server_message(frame) {
                        let _ = ev.typed();
                    }
                    match decode_request(frame) {
                        Ok(req) => {
                            if let Ok(n) = encode_request(&mut out, framing, &req) {
                                let again = decode_request(strip(framing, &out[..n]))
                                    .expect("re-encoded request decodes");
                                assert_eq!(again, req);
                            }
                        }
                        Err(e) => answer_error(&mut out, framing, e.id, e.code(), &e),
                    }
                }
                Feed::Error(e) => {
                    assert!(!failed);
                    assert!(matches!(
                        e.code(),
                        ErrorCode::BadFrame | ErrorCode::TooLarge
                    ));
                    answer_error(&mut out, framing, None, e.code(), &e);
                    failed = true;
                }
            }
        }
    }
    assert_eq!(failed, dec.is_failed());
    if !failed && !stream.is_empty() {
        assert_eq!(dec.framing(), Some(framing));
    }
});
