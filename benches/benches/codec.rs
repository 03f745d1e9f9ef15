//! Control-protocol codec: decode and encode of typical requests, responses
//! and events, ours (no_std, no allocation) against `serde_json` (std) on the
//! same messages.
//!
//! The `serde_json` references are what a std client would write: typed,
//! borrowing structs with derived `Deserialize`/`Serialize` (lenient: they do
//! not check per-op arguments), and the dynamic `serde_json::Value`. Target
//! (the issue): decoding a typical request at least as fast as the typed
//! `serde_json` decode, without allocating.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use dsp_core::proto::*;
use serde::{Deserialize, Serialize};

const PING: &[u8] = br#"{"id":1,"op":"ping"}"#;
const SETTING_SET: &[u8] =
    br#"{"id":42,"op":"setting.set","args":{"key":"limiter.ceiling_dbtp","value":-1.5}}"#;
const SUBSCRIBE: &[u8] = br#"{"id":"sub-1","op":"subscribe","args":{"topics":[{"topic":"meters","max_hz":10},"routing","daemon"]}}"#;
const LEVELS_EVENT: &[u8] = br#"{"event":"levels","topic":"meters","data":{"momentary_lufs":-17.2,"shortterm_lufs":-16.9,"integrated_lufs":-16.4,"true_peak_dbtp":-1.3,"gain_db":2.5,"gain_reduction_db":0.8}}"#;
const SETTING_RESPONSE: &[u8] = br#"{"id":42,"ok":true,"result":{"key":"limiter.ceiling_dbtp","value":-1.5,"source":"override"}}"#;

// ---- serde_json reference types -------------------------------------------

#[derive(Deserialize, Serialize)]
#[serde(untagged)]
enum SjId<'a> {
    Num(u64),
    Str(&'a str),
}

#[derive(Deserialize, Serialize)]
#[serde(untagged)]
enum SjScalar<'a> {
    Bool(bool),
    Number(f64),
    Str(&'a str),
}

#[derive(Deserialize, Serialize)]
#[serde(untagged)]
enum SjTopic<'a> {
    Name(&'a str),
    Limited { topic: &'a str, max_hz: Option<u16> },
}

#[derive(Deserialize, Serialize, Default)]
struct SjArgs<'a> {
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    value: Option<SjScalar<'a>>,
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    app: Option<&'a str>,
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    mode: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bypass: Option<bool>,
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    topics: Option<Vec<SjTopic<'a>>>,
}

#[derive(Deserialize, Serialize)]
struct SjRequest<'a> {
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    id: Option<SjId<'a>>,
    #[serde(alias = "cmd")]
    op: &'a str,
    #[serde(borrow, skip_serializing_if = "Option::is_none")]
    args: Option<SjArgs<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    caps: Option<&'a str>,
}

#[derive(Deserialize, Serialize)]
struct SjLevels {
    momentary_lufs: Option<f64>,
    shortterm_lufs: Option<f64>,
    integrated_lufs: Option<f64>,
    true_peak_dbtp: Option<f64>,
    gain_db: f64,
    gain_reduction_db: f64,
}

#[derive(Deserialize, Serialize)]
struct SjEvent<'a, D> {
    event: &'a str,
    topic: &'a str,
    data: D,
}

#[derive(Deserialize, Serialize)]
struct SjSetting<'a> {
    key: &'a str,
    #[serde(borrow)]
    value: SjScalar<'a>,
    source: &'a str,
}

#[derive(Deserialize, Serialize)]
struct SjResponse<'a, R> {
    #[serde(borrow)]
    id: Option<SjId<'a>>,
    ok: bool,
    result: R,
}

// ---- benchmarks ------------------------------------------------------------

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    for (name, msg) in [
        ("ping", PING),
        ("setting_set", SETTING_SET),
        ("subscribe", SUBSCRIBE),
    ] {
        g.bench_function(format!("request_{name}/headroom"), |b| {
            b.iter(|| decode_request(black_box(msg)).unwrap().op.name())
        });
        g.bench_function(format!("request_{name}/serde_json_typed"), |b| {
            b.iter(|| {
                serde_json::from_slice::<SjRequest<'_>>(black_box(msg))
                    .unwrap()
                    .op
                    .len()
            })
        });
        g.bench_function(format!("request_{name}/serde_json_value"), |b| {
            b.iter(|| {
                serde_json::from_slice::<serde_json::Value>(black_box(msg))
                    .unwrap()
                    .is_object()
            })
        });
    }
    g.bench_function("event_levels/headroom", |b| {
        b.iter(|| {
            let ServerMessage::Event(e) = decode_server_message(black_box(LEVELS_EVENT)).unwrap()
            else {
                unreachable!()
            };
            let KnownEvent::Levels(l) = e.typed().unwrap() else {
                unreachable!()
            };
            l.gain_db
        })
    });
    g.bench_function("event_levels/serde_json_typed", |b| {
        b.iter(|| {
            serde_json::from_slice::<SjEvent<'_, SjLevels>>(black_box(LEVELS_EVENT))
                .unwrap()
                .data
                .gain_db
        })
    });
    g.bench_function("response_setting/headroom", |b| {
        b.iter(|| {
            let ServerMessage::Response(r) =
                decode_server_message(black_box(SETTING_RESPONSE)).unwrap()
            else {
                unreachable!()
            };
            SettingResult::from_value(r.outcome.unwrap())
                .unwrap()
                .source
        })
    });
    g.bench_function("response_setting/serde_json_typed", |b| {
        b.iter(|| {
            serde_json::from_slice::<SjResponse<'_, SjSetting<'_>>>(black_box(SETTING_RESPONSE))
                .unwrap()
                .result
                .source
                .len()
        })
    });
    g.finish();
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    let mut buf = [0u8; 512];
    let mut vec = Vec::with_capacity(512);

    let req = Request {
        id: Some(Id::Num(42)),
        op: Op::SettingSet {
            key: Str::new("limiter.ceiling_dbtp"),
            value: Scalar::Number(-1.5),
        },
        caps: None,
    };
    let sj_req = SjRequest {
        id: Some(SjId::Num(42)),
        op: "setting.set",
        args: Some(SjArgs {
            key: Some("limiter.ceiling_dbtp"),
            value: Some(SjScalar::Number(-1.5)),
            ..SjArgs::default()
        }),
        caps: None,
    };
    g.bench_function("request_setting_set/headroom", |b| {
        b.iter(|| encode_request(&mut buf, Framing::Lines, black_box(&req)).unwrap())
    });
    g.bench_function("request_setting_set/serde_json", |b| {
        b.iter(|| {
            vec.clear();
            serde_json::to_writer(&mut vec, black_box(&sj_req)).unwrap();
            vec.push(b'\n');
            vec.len()
        })
    });

    let levels = Levels {
        momentary_lufs: Some(-17.2),
        shortterm_lufs: Some(-16.9),
        integrated_lufs: Some(-16.4),
        true_peak_dbtp: Some(-1.3),
        gain_db: 2.5,
        gain_reduction_db: 0.8,
    };
    let sj_levels = SjEvent {
        event: "levels",
        topic: "meters",
        data: SjLevels {
            momentary_lufs: Some(-17.2),
            shortterm_lufs: Some(-16.9),
            integrated_lufs: Some(-16.4),
            true_peak_dbtp: Some(-1.3),
            gain_db: 2.5,
            gain_reduction_db: 0.8,
        },
    };
    g.bench_function("event_levels/headroom", |b| {
        b.iter(|| encode_levels(&mut buf, Framing::Lines, black_box(&levels)).unwrap())
    });
    g.bench_function("event_levels/serde_json", |b| {
        b.iter(|| {
            vec.clear();
            serde_json::to_writer(&mut vec, black_box(&sj_levels)).unwrap();
            vec.push(b'\n');
            vec.len()
        })
    });

    let setting = SettingResult {
        key: Str::new("limiter.ceiling_dbtp"),
        value: Scalar::Number(-1.5),
        source: SettingSource::Override,
    };
    let sj_setting = SjResponse {
        id: Some(SjId::Num(42)),
        ok: true,
        result: SjSetting {
            key: "limiter.ceiling_dbtp",
            value: SjScalar::Number(-1.5),
            source: "override",
        },
    };
    g.bench_function("response_setting/headroom", |b| {
        b.iter(|| {
            encode_ok(
                &mut buf,
                Framing::Lines,
                Some(Id::Num(42)),
                black_box(&setting),
            )
            .unwrap()
        })
    });
    g.bench_function("response_setting/serde_json", |b| {
        b.iter(|| {
            vec.clear();
            serde_json::to_writer(&mut vec, black_box(&sj_setting)).unwrap();
            vec.push(b'\n');
            vec.len()
        })
    });
    g.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
