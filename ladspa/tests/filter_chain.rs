//! The plugin in PipeWire's own LADSPA host, `module-filter-chain`: the way
//! to run Headroom's chain as a plain PipeWire filter, without the daemon.
//! A private PipeWire + WirePlumber session (the `headroom-session` crate)
//! runs a second `pipewire` process with a filter-chain sink whose graph is
//! the plugin; `pw-play` plays torture into it and `pw-record` records the
//! `speakers` null sink it feeds. Measured: the recording's true peak
//! against an independent 16× reference, and the recording sample by
//! sample against the dsp-core chain run in-process.

mod support;

use dsp_core::dsp::chain::{Chain, ChainConfig};
use dsp_core::params::Params;
use headroom_session::{stop_child, wav, PwSession, SPEAKERS};
use std::process::Stdio;
use std::time::Duration;
use support::common::torture_stereo;
use support::{assert_held, plugin};

const RATE: u32 = 48_000;
const SINK: &str = "headroom_ladspa_in";
const OUT: &str = "headroom_ladspa_out";

/// Interleaved stereo: 1 s of silence, the shared torture, 1 s of silence.
fn torture() -> Vec<f32> {
    let mut x = vec![0.0f32; RATE as usize];
    x.extend(torture_stereo(RATE, 11));
    x.extend(vec![0.0; RATE as usize]);
    x
}

/// The README's configuration, with this build's plugin and the limiter
/// alone (the playback side goes to the default sink: the speakers).
fn filter_chain_conf(plugin: &std::path::Path) -> String {
    format!(
        r#"context.spa-libs = {{
    audio.convert.* = audioconvert/libspa-audioconvert
    support.*       = support/libspa-support
}}
context.modules = [
    {{ name = libpipewire-module-rt flags = [ ifexists nofail ] }}
    {{ name = libpipewire-module-protocol-native }}
    {{ name = libpipewire-module-client-node }}
    {{ name = libpipewire-module-adapter }}
    {{ name = libpipewire-module-filter-chain
        args = {{
            node.description = "Headroom (LADSPA)"
            media.name = "Headroom (LADSPA)"
            filter.graph = {{
                nodes = [
                    {{
                        type = ladspa
                        name = headroom
                        plugin = "{}"
                        label = headroom_stereo
                        control = {{
                            "agc.enabled" = 0
                            "compressor.enabled" = 0
                            "limiter.ceiling_dbtp" = -3
                        }}
                    }}
                ]
            }}
            audio.channels = 2
            audio.position = [ FL FR ]
            capture.props = {{ node.name = "{SINK}" media.class = Audio/Sink }}
            playback.props = {{ node.name = "{OUT}" node.passive = true }}
        }}
    }}
]
"#,
        plugin.display()
    )
}

#[test]
fn pipewire_filter_chain_runs_the_plugin_and_holds_the_ceiling() {
    let s = PwSession::start().unwrap_or_else(|e| panic!("harness start: {e}"));
    let conf = s.dir().join("headroom-filter-chain.conf");
    std::fs::write(&conf, filter_chain_conf(&plugin())).unwrap();
    let log = s.dir().join("filter-chain.log");
    let out = std::fs::File::create(&log).unwrap();
    let mut fc = s
        .command("pipewire")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .unwrap();
    let started = s.wait_node(SINK).and_then(|_| s.wait_linked(OUT, SPEAKERS));
    if let Err(e) = started {
        stop_child(&mut fc, Duration::from_secs(2));
        panic!(
            "filter-chain did not come up: {e}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    let x = torture();
    let src = s.dir().join("torture.wav");
    wav::write(
        &src,
        &wav::Wav {
            rate: RATE,
            channels: 2,
            samples: x.clone(),
        },
    )
    .unwrap();
    let rec_path = s.dir().join("rec.wav");
    let rec = s.record(SPEAKERS, 20.0, &rec_path).unwrap();
    let play = s.play(&src, Some(SINK), &[]).unwrap();
    play.wait(Duration::from_secs(20)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let rec_path = rec.stop().unwrap();
    stop_child(&mut fc, Duration::from_secs(2));

    let got = wav::read(&rec_path).unwrap();
    assert_eq!((got.rate, got.channels), (RATE, 2));
    let first = got
        .first_nonzero_frame()
        .expect("the recording is silent: nothing came through the filter");
    let first_ref = x.iter().position(|&v| v != 0.0).unwrap() / 2;
    let body_frames = 3 * RATE as usize;
    assert!(
        got.frames() >= first + body_frames,
        "recording too short: {} frames",
        got.frames()
    );
    let body = &got.samples[first * 2..(first + body_frames) * 2];

    let tp = assert_held(body, -3.0);

    // The same chain in-process: the limiter alone, lined up with the
    // recording by the latency it reports. Internal blocks (256 frames)
    // follow the host's calls, and the limiter's hold works on groups of
    // frames, so the result depends on where the signal starts within a
    // block (by up to −50 dB here): the reference is run at every one of
    // the 256 phases and the best must match.
    let mut p = Params::default();
    p.agc.enabled = false;
    p.compressor.enabled = false;
    p.limiter.ceiling_dbtp = -3.0;
    let config = ChainConfig {
        sample_rate_hz: RATE,
        channels: 2,
    };
    let signal = &x[first_ref * 2..(first_ref + body_frames + 2 * 1024) * 2];
    let mut best = (f32::INFINITY, 0);
    for phase in 0..256 {
        let mut chain = Chain::<2>::with_params(config, &p).unwrap();
        let mut want = vec![0.0f32; phase * 2];
        want.extend_from_slice(signal);
        for block in want.chunks_mut(2 * 1024) {
            chain.process_interleaved(block);
        }
        let start = phase + chain.latency_frames();
        assert_eq!(
            want.iter().position(|&v| v != 0.0).unwrap() / 2,
            start,
            "the chain's output starts after its latency"
        );
        let d = body
            .iter()
            .zip(&want[start * 2..(start + body_frames) * 2])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        if d < best.0 {
            best = (d, phase);
        }
    }
    let (d, phase) = best;
    eprintln!(
        "filter-chain: max difference from the core chain {d:e} (block phase {phase}), \
         true peak {tp:.3} dBTP"
    );
    assert!(d <= 1e-6, "differs from the core chain by {d}");
}
