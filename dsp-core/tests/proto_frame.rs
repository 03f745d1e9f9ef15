//! Framing (IPC.md, "Framing"): both framings, frames split at every byte
//! boundary, keep-alives, and the size limit enforced before parsing.

use dsp_core::proto::*;
use proptest::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    Frame(Vec<u8>),
    Error(FrameError),
}

/// Feeds `chunks` in order and collects everything the decoder yields.
fn run<'a>(
    limit: usize,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<Out>, Option<Framing>) {
    let mut dec = FrameDecoder::new(vec![0u8; limit]);
    let mut out = Vec::new();
    for chunk in chunks {
        let mut input = chunk;
        loop {
            let before = input.len();
            let (used, feed) = dec.feed(input);
            assert!(used <= before);
            input = &input[used..];
            match feed {
                Feed::NeedMore => {
                    assert!(input.is_empty(), "NeedMore must consume everything");
                    break;
                }
                Feed::Frame(f) => {
                    assert!(used > 0);
                    out.push(Out::Frame(f.to_vec()));
                }
                Feed::Error(e) => {
                    assert!(used > 0);
                    out.push(Out::Error(e));
                }
            }
        }
    }
    (out, dec.framing())
}

fn lines_stream() -> Vec<u8> {
    b"{\"id\":1,\"op\":\"ping\"}\n\n  \r\n{\"op\":\"status\"}\r\n \t{\"a\":\"x\\ny\"}\n{}".to_vec()
}

fn prefixed_stream() -> Vec<u8> {
    let mut v = Vec::new();
    for frame in [
        &b"{\"id\":1,\"op\":\"ping\"}"[..],
        b"",
        b"{\"op\":\"status\"}",
        b"{}",
    ] {
        v.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        v.extend_from_slice(frame);
    }
    v.extend_from_slice(&[0, 0, 0, 9, b'{']); // partial frame at the end
    v
}

fn frames(outs: &[Out]) -> Vec<&[u8]> {
    outs.iter()
        .map(|o| match o {
            Out::Frame(f) => f.as_slice(),
            Out::Error(e) => panic!("unexpected {e:?}"),
        })
        .collect()
}

#[test]
fn lines_framing_yields_frames_and_skips_keepalives() {
    let (outs, framing) = run(MAX_FRAME_BYTES, [&lines_stream()[..]]);
    assert_eq!(framing, Some(Framing::Lines));
    assert_eq!(
        frames(&outs),
        [
            &b"{\"id\":1,\"op\":\"ping\"}"[..],
            b"{\"op\":\"status\"}\r",
            b" \t{\"a\":\"x\\ny\"}",
        ]
    );
}

#[test]
fn length_prefixed_framing_yields_frames_and_skips_keepalives() {
    let (outs, framing) = run(MAX_FRAME_BYTES, [&prefixed_stream()[..]]);
    assert_eq!(framing, Some(Framing::LengthPrefixed));
    assert_eq!(
        frames(&outs),
        [
            &b"{\"id\":1,\"op\":\"ping\"}"[..],
            b"{\"op\":\"status\"}",
            b"{}"
        ]
    );
}

#[test]
fn every_split_into_two_and_three_parts_gives_the_same_frames() {
    for stream in [lines_stream(), prefixed_stream()] {
        let (reference, _) = run(MAX_FRAME_BYTES, [&stream[..]]);
        let n = stream.len();
        for i in 0..=n {
            let (got, _) = run(MAX_FRAME_BYTES, [&stream[..i], &stream[i..]]);
            assert_eq!(got, reference, "split at {i}");
            for j in i..=n {
                let (got, _) = run(MAX_FRAME_BYTES, [&stream[..i], &stream[i..j], &stream[j..]]);
                assert_eq!(got, reference, "split at {i} and {j}");
            }
        }
        let (bytewise, _) = run(MAX_FRAME_BYTES, stream.chunks(1));
        assert_eq!(bytewise, reference);
    }
}

#[test]
fn a_line_of_exactly_the_limit_is_accepted_one_more_byte_is_refused() {
    let limit = 64;
    let mut exact = vec![b' '; limit - 2];
    exact.insert(0, b'{');
    exact.push(b'}');
    exact.push(b'\n');
    let (outs, _) = run(limit, [&exact[..]]);
    assert_eq!(outs, [Out::Frame(exact[..limit].to_vec())]);

    let mut over = vec![b'{'; limit + 1];
    over.push(b'\n');
    // Refused as soon as byte limit+1 arrives, even without a newline.
    for chunks in [vec![&over[..limit + 1]], over.chunks(1).collect::<Vec<_>>()] {
        let (outs, _) = run(limit, chunks);
        assert_eq!(outs, [Out::Error(FrameError::LineTooLong { limit })]);
    }
}

#[test]
fn the_default_limit_is_64_kib() {
    let mut big = vec![b' '; MAX_FRAME_BYTES + 1];
    big[0] = b'{';
    let (outs, _) = run(1 << 20, [&big[..]]);
    assert_eq!(
        outs,
        [Out::Error(FrameError::LineTooLong {
            limit: MAX_FRAME_BYTES
        })]
    );
    assert_eq!(
        outs[0].clone(),
        Out::Error(FrameError::LineTooLong { limit: 65536 })
    );
}

#[test]
fn an_oversize_prefix_is_refused_before_its_body_arrives() {
    let declared = MAX_FRAME_BYTES as u32 + 1;
    let (outs, _) = run(MAX_FRAME_BYTES, [&declared.to_be_bytes()[..]]);
    assert_eq!(
        outs,
        [Out::Error(FrameError::FrameTooLarge {
            declared,
            limit: MAX_FRAME_BYTES
        })]
    );
    let e = FrameError::FrameTooLarge {
        declared,
        limit: MAX_FRAME_BYTES,
    };
    assert_eq!(e.code(), ErrorCode::TooLarge);
    // A frame of exactly the limit is fine.
    let mut exact = (MAX_FRAME_BYTES as u32).to_be_bytes().to_vec();
    exact.extend(std::iter::repeat_n(b' ', MAX_FRAME_BYTES));
    let (outs, _) = run(MAX_FRAME_BYTES, [&exact[..]]);
    assert!(matches!(&outs[..], [Out::Frame(f)] if f.len() == MAX_FRAME_BYTES));
}

#[test]
fn a_bad_first_byte_fails_the_stream_and_everything_after_is_swallowed() {
    let (outs, framing) = run(
        MAX_FRAME_BYTES,
        [&b"GET / HTTP/1.1\r\n{\"op\":\"ping\"}\n"[..], b"more"],
    );
    assert_eq!(outs, [Out::Error(FrameError::BadFirstByte(b'G'))]);
    assert_eq!(framing, None);
    assert_eq!(FrameError::BadFirstByte(b'G').code(), ErrorCode::BadFrame);
    for first in 0u8..=255 {
        let expect = matches!(first, b'{' | b' ' | b'\t' | b'\n' | b'\r' | 0);
        assert_eq!(Framing::detect(first).is_some(), expect, "{first:#x}");
    }
}

#[test]
fn partial_frames_are_reported_for_eof_handling() {
    let mut dec = FrameDecoder::new(vec![0u8; 128]);
    assert!(!dec.has_partial_frame());
    let _ = dec.feed(b"{\"op\":");
    assert!(dec.has_partial_frame());
    let (_, f) = dec.feed(b"\"ping\"}\n");
    assert_eq!(f, Feed::Frame(b"{\"op\":\"ping\"}"));
    assert!(!dec.has_partial_frame());
    let mut dec = FrameDecoder::new(vec![0u8; 128]);
    let _ = dec.feed(&[0, 0]);
    assert!(dec.has_partial_frame());
}

#[test]
fn a_message_error_does_not_desynchronise_the_stream() {
    // A bad message is answered and the next frame still decodes.
    let (outs, _) = run(
        MAX_FRAME_BYTES,
        [&b"{\"op\":\"ping\"\n{\"op\":\"ping\"}\n"[..]],
    );
    let fs = frames(&outs);
    assert_eq!(
        decode_request(fs[0]).unwrap_err().code(),
        ErrorCode::BadMessage
    );
    assert_eq!(decode_request(fs[1]).unwrap().op, Op::Ping);
}

#[test]
fn encoded_frames_decode_in_both_framings() {
    for framing in [Framing::Lines, Framing::LengthPrefixed] {
        let mut stream = Vec::new();
        let mut buf = [0u8; 256];
        let n = encode_request(&mut buf, framing, &Request::new(Op::Ping)).unwrap();
        stream.extend_from_slice(&buf[..n]);
        let n = encode_request(
            &mut buf,
            framing,
            &Request {
                id: Some(Id::Num(7)),
                op: Op::SettingGet {
                    key: Str::new("agc.target_lufs"),
                },
                caps: None,
            },
        )
        .unwrap();
        stream.extend_from_slice(&buf[..n]);
        let (outs, got) = run(MAX_FRAME_BYTES, stream.chunks(3));
        assert_eq!(got, Some(framing));
        let fs = frames(&outs);
        assert_eq!(decode_request(fs[0]).unwrap().op, Op::Ping);
        assert_eq!(decode_request(fs[1]).unwrap().id, Some(Id::Num(7)));
    }
}

proptest! {
    #[test]
    fn random_frames_survive_random_chunking(
        bodies in prop::collection::vec(prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 1..80), 1..8),
        cuts in prop::collection::vec(0usize..400, 0..10),
        prefixed in any::<bool>(),
    ) {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for (i, body) in bodies.iter().enumerate() {
            if prefixed {
                stream.extend_from_slice(&(body.len() as u32).to_be_bytes());
                stream.extend_from_slice(body);
                expected.push(Out::Frame(body.clone()));
            } else {
                // The first byte must select lines framing.
                let mut line = if i == 0 { vec![b'{'] } else { Vec::new() };
                line.extend_from_slice(body);
                stream.extend_from_slice(&line);
                stream.push(b'\n');
                if !line.iter().all(|c| matches!(c, b' ' | b'\t' | b'\r')) {
                    expected.push(Out::Frame(line));
                }
            }
        }
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(stream.len())).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for c in cuts {
            chunks.push(&stream[start..c]);
            start = c;
        }
        chunks.push(&stream[start..]);
        let (outs, _) = run(MAX_FRAME_BYTES, chunks);
        prop_assert_eq!(outs, expected);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_never_exceed_the_limit(
        data in prop::collection::vec(any::<u8>(), 0..600),
        chunk in 1usize..50,
        limit in 1usize..100,
    ) {
        let (outs, _) = run(limit, data.chunks(chunk));
        for o in outs {
            if let Out::Frame(f) = o {
                prop_assert!(f.len() <= limit);
            }
        }
    }
}
