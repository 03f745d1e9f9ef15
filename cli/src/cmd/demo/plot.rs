//! The demo's PNG: two panels over time, before (grey) and after (blue).
//!
//! Top: short-term loudness (LUFS, 3 s window, every 100 ms), with the AGC
//! target dashed. Bottom: true peak per 100 ms (dBTP), with the limiter
//! ceiling dashed. Ticks every second along time (longer and numbered every
//! 5 s) and every 10 LU / 6 dB up the sides (numbered), with a solid line at
//! 0 dBTP. Text, in the project's own [`font`](super::font) at twice its
//! size: a title, a legend (before/after), each panel's name and unit with
//! its dashed line's value, the tick values and the time axis. Drawn into an
//! RGB buffer by hand and written with the `png` crate.
//!
//! Layout (pixels, origin top left): title at [`TITLE_Y`], legend at
//! [`LEGEND_Y`], each panel's name [`PANEL_TITLE_GAP_PX`] above its box, tick
//! values right-aligned [`Y_LABEL_GAP_PX`] left of the axis, time values under
//! the lower panel.

use super::font;
use anyhow::{Context, Result};
use std::io::BufWriter;
use std::path::Path;

/// Image width in pixels.
pub const WIDTH: u32 = 1000;
/// Image height in pixels.
pub const HEIGHT: u32 = 700;
/// Text is drawn at this many pixels per font pixel.
pub const TEXT_SCALE: usize = 2;
/// Left edge of every text line that starts at the margin.
pub const TEXT_X: i64 = 16;
/// Top of the title line.
pub const TITLE_Y: i64 = 12;
/// Top of the legend line.
pub const LEGEND_Y: i64 = 42;
/// The title.
pub const TITLE: &str = "headroom demo: the same programme, bypassed and through Headroom";
/// Legend entries for the two series.
pub const LEGEND_BEFORE: &str = "before (bypassed)";
pub const LEGEND_AFTER: &str = "after (Headroom)";
/// Panel names.
pub const LOUDNESS_TITLE: &str = "short-term loudness, LUFS (3 s window)";
pub const PEAK_TITLE: &str = "true peak per 100 ms, dBTP";
/// The time axis' name, centred under its values.
pub const TIME_TITLE: &str = "time (s)";
/// Distance from the top of a panel's name to the top of its box.
pub const PANEL_TITLE_GAP_PX: i64 = 26;
/// Gap between a tick value's right edge and the axis.
pub const Y_LABEL_GAP_PX: i64 = 10;
/// Left and right edges of both panels.
pub const PLOT_X0: i64 = 64;
pub const PLOT_X1: i64 = WIDTH as i64 - 24;
/// Top and bottom of the loudness panel, and its scale (LUFS).
pub const LOUDNESS_Y: (i64, i64) = (100, 350);
pub const LOUDNESS_RANGE: (f64, f64) = (-50.0, 0.0);
/// Top and bottom of the true-peak panel, and its scale (dBTP).
pub const PEAK_Y: (i64, i64) = (400, 640);
pub const PEAK_RANGE: (f64, f64) = (-36.0, 6.0);
/// Tick spacing up the sides: LU and dB.
pub const LOUDNESS_TICK_LU: f64 = 10.0;
pub const PEAK_TICK_DB: f64 = 6.0;
/// Swatch length in the legend, and the gaps around it.
const SWATCH_PX: i64 = 28;
const SWATCH_GAP_PX: i64 = 8;
const LEGEND_GAP_PX: i64 = 28;

/// Colours (RGB). Text is darker than the axes, so a test can tell them
/// apart; the series and reference lines each have a colour of their own.
pub const BG: [u8; 3] = [255, 255, 255];
pub const TEXT: [u8; 3] = [20, 20, 20];
const AXIS: [u8; 3] = [40, 40, 40];
const GRID: [u8; 3] = [232, 232, 232];
pub const BEFORE: [u8; 3] = [150, 150, 150];
pub const AFTER: [u8; 3] = [25, 100, 210];
pub const TARGET: [u8; 3] = [30, 150, 60];
pub const CEILING: [u8; 3] = [200, 40, 40];

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

    /// `text` with its top-left corner at (`x`, `y`).
    fn text(&mut self, x: i64, y: i64, text: &str, c: [u8; 3]) {
        font::draw(text, TEXT_SCALE, |dx, dy| {
            self.set(x + dx as i64, y + dy as i64, c);
        });
    }

    /// A legend entry: a swatch (solid, or dashed like its line) and `label`;
    /// returns where the next entry starts.
    fn legend(&mut self, x: i64, y: i64, label: &str, c: [u8; 3], dashed: bool) -> i64 {
        // Level with the middle of a capital letter.
        let mid = y + (7 * TEXT_SCALE as i64) / 2;
        let dash = dashed.then_some((8, 6));
        for dy in 0..2 {
            self.hline(x, x + SWATCH_PX - 1, mid + dy - 1, c, dash);
        }
        let tx = x + SWATCH_PX + SWATCH_GAP_PX;
        self.text(tx, y, label, TEXT);
        tx + font::width_px(label, TEXT_SCALE) as i64 + LEGEND_GAP_PX
    }

    fn frame(&mut self, p: &Panel, tick_db: f64, signed: bool) {
        // Grid, ticks and their values up the side.
        let mut v = (p.lo / tick_db).ceil() * tick_db;
        while v <= p.hi {
            let y = p.y(v);
            self.hline(p.x0, p.x1, y, GRID, None);
            self.hline(p.x0 - 6, p.x0, y, AXIS, None);
            let label = tick_label(v, signed);
            let w = font::width_px(&label, TEXT_SCALE) as i64;
            let cap_px = 7 * TEXT_SCALE as i64;
            self.text(p.x0 - Y_LABEL_GAP_PX - w, y - cap_px / 2, &label, TEXT);
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

/// A tick value as drawn: whole numbers, `+` on positive values when
/// `signed` (true peak, where above 0 dBTP is the point).
pub fn tick_label(v: f64, signed: bool) -> String {
    let v = v.round() as i64;
    if signed && v > 0 {
        format!("+{v}")
    } else {
        format!("{v}")
    }
}

/// A setting's value as written in a label: `-18`, `-23.5`.
pub fn value_label(v: f64) -> String {
    let s = format!("{v:.1}");
    match s.strip_suffix(".0").unwrap_or(&s) {
        "-0" => "0".to_string(),
        t => t.to_string(),
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
    let c = draw(before, after, target_lufs, ceiling_dbtp, t_max_s);
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

fn draw(
    before: &Series<'_>,
    after: &Series<'_>,
    target_lufs: f64,
    ceiling_dbtp: f64,
    t_max_s: f64,
) -> Canvas {
    let mut c = Canvas::new();
    let loudness = Panel {
        x0: PLOT_X0,
        y0: LOUDNESS_Y.0,
        x1: PLOT_X1,
        y1: LOUDNESS_Y.1,
        lo: LOUDNESS_RANGE.0,
        hi: LOUDNESS_RANGE.1,
        t_max_s,
    };
    let peaks = Panel {
        x0: PLOT_X0,
        y0: PEAK_Y.0,
        x1: PLOT_X1,
        y1: PEAK_Y.1,
        lo: PEAK_RANGE.0,
        hi: PEAK_RANGE.1,
        t_max_s,
    };
    c.text(TEXT_X, TITLE_Y, TITLE, TEXT);
    let x = c.legend(TEXT_X, LEGEND_Y, LEGEND_BEFORE, BEFORE, false);
    c.legend(x, LEGEND_Y, LEGEND_AFTER, AFTER, false);
    c.frame(&loudness, LOUDNESS_TICK_LU, false);
    c.frame(&peaks, PEAK_TICK_DB, true);
    // Each panel's name on the left, its dashed line's meaning on the right.
    for (p, title, label, colour) in [
        (&loudness, LOUDNESS_TITLE, target_label(target_lufs), TARGET),
        (&peaks, PEAK_TITLE, ceiling_label(ceiling_dbtp), CEILING),
    ] {
        let y = p.y0 - PANEL_TITLE_GAP_PX;
        c.text(p.x0, y, title, TEXT);
        let w = SWATCH_PX + SWATCH_GAP_PX + font::width_px(&label, TEXT_SCALE) as i64;
        c.legend(p.x1 - w, y, &label, colour, true);
    }
    // Time values every 5 s under the lower panel, the axis' name below.
    let value_y = peaks.y1 + 12;
    let mut s = 0;
    while s as f64 <= t_max_s {
        let label = s.to_string();
        let w = font::width_px(&label, TEXT_SCALE) as i64;
        c.text(peaks.x(s as f64) - w / 2, value_y, &label, TEXT);
        s += 5;
    }
    let w = font::width_px(TIME_TITLE, TEXT_SCALE) as i64;
    let line_gap_px = 4;
    c.text(
        (peaks.x0 + peaks.x1 - w) / 2,
        value_y + font::height_px(TEXT_SCALE) as i64 + line_gap_px,
        TIME_TITLE,
        TEXT,
    );
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
    c
}

/// The loudness panel's dashed-line label.
pub fn target_label(target_lufs: f64) -> String {
    format!("target {} LUFS", value_label(target_lufs))
}

/// The true-peak panel's dashed-line label.
pub fn ceiling_label(ceiling_dbtp: f64) -> String {
    format!("ceiling {} dBTP", value_label(ceiling_dbtp))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plot of made-up series (20 s), decoded back from its PNG file.
    fn decoded(target_lufs: f64, ceiling_dbtp: f64) -> Vec<u8> {
        let n = 200;
        let wave = |i: usize| (i as f64 * 0.2).sin();
        let st_before: Vec<f64> = (0..n).map(|i| -30.0 + 15.0 * wave(i)).collect();
        let st_after: Vec<f64> = (0..n).map(|i| -18.0 + 2.0 * wave(i)).collect();
        let tp_before: Vec<f64> = (0..n).map(|i| -10.0 + 13.0 * wave(i)).collect();
        let tp_after: Vec<f64> = (0..n).map(|i| -6.0 + 5.0 * wave(i)).collect();
        let path = std::env::temp_dir().join(format!(
            "headroom-plot-test-{}-{target_lufs}.png",
            std::process::id()
        ));
        write(
            &path,
            &Series {
                shortterm_lufs: &st_before,
                true_peak_dbtp: &tp_before,
            },
            &Series {
                shortterm_lufs: &st_after,
                true_peak_dbtp: &tp_after,
            },
            target_lufs,
            ceiling_dbtp,
        )
        .unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let mut reader = png::Decoder::new(std::io::BufReader::new(file))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        assert_eq!(info.color_type, png::ColorType::Rgb);
        buf.truncate(info.buffer_size());
        buf
    }

    fn pixel(px: &[u8], x: i64, y: i64) -> [u8; 3] {
        let i = (y as usize * WIDTH as usize + x as usize) * 3;
        [px[i], px[i + 1], px[i + 2]]
    }

    /// Pixels in the box `text` occupies at (`x`, `y`) that disagree with
    /// the font: text-coloured where the glyph is dark or the other way.
    fn misread(px: &[u8], x: i64, y: i64, text: &str) -> usize {
        let (w, h) = (
            font::width_px(text, TEXT_SCALE),
            font::height_px(TEXT_SCALE),
        );
        let mut want = vec![false; w * h];
        font::draw(text, TEXT_SCALE, |dx, dy| want[dy * w + dx] = true);
        let mut bad = 0;
        for dy in 0..h {
            for dx in 0..w {
                let got = pixel(px, x + dx as i64, y + dy as i64) == TEXT;
                bad += usize::from(got != want[dy * w + dx]);
            }
        }
        bad
    }

    fn assert_reads(px: &[u8], x: i64, y: i64, text: &str) {
        let bad = misread(px, x, y, text);
        assert_eq!(bad, 0, "{text:?} at ({x}, {y}): {bad} pixels differ");
    }

    /// Where a panel puts the value `v`, as `Panel::y` computes it.
    fn y_of(range: (f64, f64), ys: (i64, i64), v: f64) -> i64 {
        ys.1 - (((v - range.0) / (range.1 - range.0)) * (ys.1 - ys.0) as f64).round() as i64
    }

    #[test]
    fn labels_read_where_they_belong() {
        let px = decoded(-18.0, -1.0);
        assert_reads(&px, TEXT_X, TITLE_Y, TITLE);
        // The check can fail: a title one letter off does not read.
        assert!(misread(&px, TEXT_X, TITLE_Y, &TITLE.replace("demo", "dema")) > 0);
        assert!(misread(&px, TEXT_X + 2, TITLE_Y, TITLE) > 0);

        // Legend: a swatch in each series' colour, then its name.
        let label_x = TEXT_X + SWATCH_PX + SWATCH_GAP_PX;
        let mid = LEGEND_Y + 7;
        assert_eq!(pixel(&px, TEXT_X + SWATCH_PX / 2, mid), BEFORE);
        assert_reads(&px, label_x, LEGEND_Y, LEGEND_BEFORE);
        let after_x = label_x + font::width_px(LEGEND_BEFORE, TEXT_SCALE) as i64 + LEGEND_GAP_PX;
        assert_eq!(pixel(&px, after_x + SWATCH_PX / 2, mid), AFTER);
        assert_reads(
            &px,
            after_x + SWATCH_PX + SWATCH_GAP_PX,
            LEGEND_Y,
            LEGEND_AFTER,
        );

        // Panel names on the left; the dashed line's value on the right.
        for (ys, title, label, colour) in [
            (LOUDNESS_Y, LOUDNESS_TITLE, "target -18 LUFS", TARGET),
            (PEAK_Y, PEAK_TITLE, "ceiling -1 dBTP", CEILING),
        ] {
            let y = ys.0 - PANEL_TITLE_GAP_PX;
            assert_reads(&px, PLOT_X0, y, title);
            let w = font::width_px(label, TEXT_SCALE) as i64;
            assert_reads(&px, PLOT_X1 - w, y, label);
            assert_eq!(
                pixel(&px, PLOT_X1 - w - SWATCH_GAP_PX - SWATCH_PX, y + 7),
                colour
            );
        }

        // Tick values, right-aligned left of the axis, centred on the grid.
        let loudness = [
            (0.0, "0"),
            (-10.0, "-10"),
            (-20.0, "-20"),
            (-30.0, "-30"),
            (-40.0, "-40"),
            (-50.0, "-50"),
        ];
        for (v, text) in loudness {
            let w = font::width_px(text, TEXT_SCALE) as i64;
            let y = y_of(LOUDNESS_RANGE, LOUDNESS_Y, v) - 7;
            assert_reads(&px, PLOT_X0 - Y_LABEL_GAP_PX - w, y, text);
        }
        let peaks = [
            (6.0, "+6"),
            (0.0, "0"),
            (-6.0, "-6"),
            (-18.0, "-18"),
            (-36.0, "-36"),
        ];
        for (v, text) in peaks {
            let w = font::width_px(text, TEXT_SCALE) as i64;
            let y = y_of(PEAK_RANGE, PEAK_Y, v) - 7;
            assert_reads(&px, PLOT_X0 - Y_LABEL_GAP_PX - w, y, text);
        }
        // Seconds every 5 s under the lower panel (20 s over the width).
        for s in [0, 5, 10, 15, 20] {
            let text = s.to_string();
            let w = font::width_px(&text, TEXT_SCALE) as i64;
            let x = PLOT_X0 + ((s as f64 / 20.0) * (PLOT_X1 - PLOT_X0) as f64).round() as i64;
            assert_reads(&px, x - w / 2, PEAK_Y.1 + 12, &text);
        }
        let w = font::width_px(TIME_TITLE, TEXT_SCALE) as i64;
        assert_reads(&px, (PLOT_X0 + PLOT_X1 - w) / 2, PEAK_Y.1 + 34, TIME_TITLE);
    }

    #[test]
    fn margins_and_gaps_stay_empty() {
        let px = decoded(-23.5, -2.0);
        let blank = |x0: i64, x1: i64, y0: i64, y1: i64| {
            for y in y0..y1 {
                for x in x0..x1 {
                    assert_eq!(
                        pixel(&px, x, y),
                        BG,
                        "({x}, {y}) in [{x0}, {x1}) x [{y0}, {y1})"
                    );
                }
            }
        };
        let line_h = font::height_px(TEXT_SCALE) as i64;
        // Left and right margins, top to bottom.
        blank(0, TEXT_X, 0, HEIGHT as i64);
        blank(PLOT_X1 + 14, WIDTH as i64, 0, HEIGHT as i64);
        // Above the title, between title and legend, legend and first panel.
        blank(0, WIDTH as i64, 0, TITLE_Y);
        blank(0, WIDTH as i64, TITLE_Y + line_h, LEGEND_Y);
        blank(
            0,
            WIDTH as i64,
            LEGEND_Y + line_h,
            LOUDNESS_Y.0 - PANEL_TITLE_GAP_PX,
        );
        // Between a panel's name and its box, and between the panels.
        blank(
            PLOT_X0 - 6,
            WIDTH as i64,
            LOUDNESS_Y.0 - PANEL_TITLE_GAP_PX + line_h,
            LOUDNESS_Y.0,
        );
        blank(
            PLOT_X0,
            WIDTH as i64,
            LOUDNESS_Y.1 + 9,
            PEAK_Y.0 - PANEL_TITLE_GAP_PX,
        );
        // Below the time axis' name.
        blank(0, WIDTH as i64, PEAK_Y.1 + 34 + line_h, HEIGHT as i64);
        // Other settings, other labels.
        let w = font::width_px("target -23.5 LUFS", TEXT_SCALE) as i64;
        assert_reads(
            &px,
            PLOT_X1 - w,
            LOUDNESS_Y.0 - PANEL_TITLE_GAP_PX,
            "target -23.5 LUFS",
        );
    }

    #[test]
    fn values_are_written_without_needless_digits() {
        assert_eq!(value_label(-18.0), "-18");
        assert_eq!(value_label(-23.5), "-23.5");
        assert_eq!(value_label(-0.0), "0");
        assert_eq!(tick_label(6.0, true), "+6");
        assert_eq!(tick_label(6.0, false), "6");
        assert_eq!(tick_label(-36.0, true), "-36");
    }
}
