//! The demo's PNG: two panels over time, before (grey) and after (blue).
//!
//! Top: short-term loudness (LUFS, 3 s window, every 100 ms), with the AGC
//! target dashed. Bottom: true peak per 100 ms (dBTP), with the limiter
//! ceiling dashed. Ticks every second along time (longer every 5 s) and every
//! 10 LU / 6 dB up the sides, with a solid line at 0 dBTP. No text: the
//! command's output says what is what. Drawn into an RGB buffer by hand and
//! written with the `png` crate.

use anyhow::{Context, Result};
use std::io::BufWriter;
use std::path::Path;

/// Image width in pixels.
pub const WIDTH: u32 = 1000;
/// Image height in pixels.
pub const HEIGHT: u32 = 640;

const BG: [u8; 3] = [255, 255, 255];
const AXIS: [u8; 3] = [40, 40, 40];
const GRID: [u8; 3] = [232, 232, 232];
const BEFORE: [u8; 3] = [150, 150, 150];
const AFTER: [u8; 3] = [25, 100, 210];
const TARGET: [u8; 3] = [30, 150, 60];
const CEILING: [u8; 3] = [200, 40, 40];

/// One measured series: a value every 100 ms (`-inf` = nothing to show).
pub struct Series<'a> {
    /// Short-term loudness, LUFS.
    pub shortterm_lufs: &'a [f64],
    /// True peak over each 100 ms, dBTP.
    pub true_peak_dbtp: &'a [f64],
}

struct Canvas {
    px: Vec<u8>,
}

/// A panel: pixel box and value range.
struct Panel {
    x0: i64,
    y0: i64,
    x1: i64,
    y1: i64,
    lo: f64,
    hi: f64,
    t_max_s: f64,
}

impl Panel {
    fn x(&self, t_s: f64) -> i64 {
        self.x0 + ((t_s / self.t_max_s) * (self.x1 - self.x0) as f64).round() as i64
    }
    fn y(&self, v: f64) -> i64 {
        let v = v.clamp(self.lo, self.hi);
        self.y1
            - (((v - self.lo) / (self.hi - self.lo)) * (self.y1 - self.y0) as f64).round() as i64
    }
}

impl Canvas {
    fn new() -> Canvas {
        Canvas {
            px: BG
                .iter()
                .copied()
                .cycle()
                .take((WIDTH * HEIGHT * 3) as usize)
                .collect(),
        }
    }

    fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if (0..WIDTH as i64).contains(&x) && (0..HEIGHT as i64).contains(&y) {
            let i = (y as usize * WIDTH as usize + x as usize) * 3;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }

    fn hline(&mut self, x0: i64, x1: i64, y: i64, c: [u8; 3], dash: Option<(i64, i64)>) {
        for x in x0..=x1 {
            if dash.is_none_or(|(on, off)| (x - x0) % (on + off) < on) {
                self.set(x, y, c);
            }
        }
    }

    fn vline(&mut self, x: i64, y0: i64, y1: i64, c: [u8; 3]) {
        for y in y0.min(y1)..=y0.max(y1) {
            self.set(x, y, c);
        }
    }

    /// A 2-pixel-thick line (simple DDA).
    fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), c: [u8; 3]) {
        let n = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
        for i in 0..=n {
            let x = x0 + (x1 - x0) * i / n;
            let y = y0 + (y1 - y0) * i / n;
            self.set(x, y, c);
            self.set(x, y + 1, c);
        }
    }

    fn frame(&mut self, p: &Panel, tick_db: f64) {
        // Grid and ticks up the side.
        let mut v = (p.lo / tick_db).ceil() * tick_db;
        while v <= p.hi {
            let y = p.y(v);
            self.hline(p.x0, p.x1, y, GRID, None);
            self.hline(p.x0 - 6, p.x0, y, AXIS, None);
            v += tick_db;
        }
        // Ticks along time.
        let mut s = 0;
        while s as f64 <= p.t_max_s {
            let x = p.x(s as f64);
            let len = if s % 5 == 0 { 8 } else { 4 };
            self.vline(x, p.y1, p.y1 + len, AXIS);
            if s % 5 == 0 && s > 0 {
                self.vline(x, p.y0, p.y1, GRID);
            }
            s += 1;
        }
        self.hline(p.x0, p.x1, p.y0, AXIS, None);
        self.hline(p.x0, p.x1, p.y1, AXIS, None);
        self.vline(p.x0, p.y0, p.y1, AXIS);
        self.vline(p.x1, p.y0, p.y1, AXIS);
    }

    /// Plots `values` (one per 100 ms); gaps where a value is not finite.
    fn series(&mut self, p: &Panel, values: &[f64], c: [u8; 3]) {
        let mut prev: Option<(i64, i64)> = None;
        for (i, v) in values.iter().enumerate() {
            let t = i as f64 * 0.1;
            if t > p.t_max_s {
                break;
            }
            if !v.is_finite() || *v < p.lo {
                prev = None;
                continue;
            }
            let pt = (p.x(t), p.y(*v));
            if let Some(q) = prev {
                self.line(q, pt, c);
            }
            // A dot too, so an isolated 100 ms value (a lone peak) shows.
            for (dx, dy) in [
                (-1, -1),
                (0, -1),
                (1, -1),
                (-1, 0),
                (0, 0),
                (1, 0),
                (-1, 1),
                (0, 1),
                (1, 1),
            ] {
                self.set(pt.0 + dx, pt.1 + dy, c);
            }
            prev = Some(pt);
        }
    }
}

/// Draws both panels and writes the PNG to `path` (replaced if it exists).
///
/// # Errors
/// The file cannot be written.
pub fn write(
    path: &Path,
    before: &Series<'_>,
    after: &Series<'_>,
    target_lufs: f64,
    ceiling_dbtp: f64,
) -> Result<()> {
    let points = [
        before.shortterm_lufs.len(),
        before.true_peak_dbtp.len(),
        after.shortterm_lufs.len(),
        after.true_peak_dbtp.len(),
    ];
    let t_max_s = (points.iter().copied().max().unwrap_or(0) as f64 * 0.1).max(1.0);
    let mut c = Canvas::new();
    let (left, right) = (50, WIDTH as i64 - 20);
    let loudness = Panel {
        x0: left,
        y0: 20,
        x1: right,
        y1: 300,
        lo: -50.0,
        hi: 0.0,
        t_max_s,
    };
    let peaks = Panel {
        x0: left,
        y0: 340,
        x1: right,
        y1: HEIGHT as i64 - 30,
        lo: -36.0,
        hi: 6.0,
        t_max_s,
    };
    c.frame(&loudness, 10.0);
    c.frame(&peaks, 6.0);
    c.hline(peaks.x0, peaks.x1, peaks.y(0.0), AXIS, None);
    // Reference lines first, so the measured values are drawn over them.
    let dash = Some((8, 6));
    c.hline(
        loudness.x0,
        loudness.x1,
        loudness.y(target_lufs),
        TARGET,
        dash,
    );
    c.hline(peaks.x0, peaks.x1, peaks.y(ceiling_dbtp), CEILING, dash);
    c.series(&loudness, before.shortterm_lufs, BEFORE);
    c.series(&loudness, after.shortterm_lufs, AFTER);
    c.series(&peaks, before.true_peak_dbtp, BEFORE);
    c.series(&peaks, after.true_peak_dbtp, AFTER);

    let file = std::fs::File::create(path)
        .with_context(|| format!("cannot create the plot {}", path.display()))?;
    let mut enc = png::Encoder::new(BufWriter::new(file), WIDTH, HEIGHT);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc
        .write_header()
        .with_context(|| format!("writing {}", path.display()))?;
    w.write_image_data(&c.px)
        .with_context(|| format!("writing {}", path.display()))?;
    w.finish()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
