//! A small bitmap font for the demo's plot, drawn for this project.
//!
//! Glyphs are 5 pixels wide and 7 tall above the baseline, with 2 rows
//! below it for descenders (g, j, p, q, y, the comma): a 5×9 cell, advanced
//! by 6 pixels (one column of space). It covers ASCII letters, digits and
//! ` -+.,:()/=%`; any other character is drawn as a hollow box, so a label
//! that needs a missing glyph shows it rather than losing it silently.
//!
//! Contract: [`draw`] calls back once per lit pixel, `scale` × `scale`
//! pixels per font pixel, inside the box [`width_px`] × `GLYPH_H * scale`
//! from the origin it is given; it never allocates.
//!
//! The glyphs live in [`SHEETS`] as pictures: each sheet lists its
//! characters, then nine rows in which glyph *i* is columns `6i..6i+5`
//! (`#` lit, `.` dark), so a glyph can be read and fixed where it is drawn.

/// Glyph width in font pixels.
pub const GLYPH_W: usize = 5;
/// Glyph height in font pixels: 7 above the baseline, 2 below.
pub const GLYPH_H: usize = 9;
/// Horizontal distance from one glyph to the next, in font pixels.
pub const ADVANCE: usize = GLYPH_W + 1;

/// Characters and their pictures; see the module docs.
struct Sheet {
    chars: &'static str,
    rows: [&'static str; GLYPH_H],
}

const SHEETS: [Sheet; 6] = [
    Sheet {
        chars: "0123456789",
        rows: [
            ".###. ..#.. .###. ##### ...#. ##### ..##. ##### .###. .###.",
            "#...# .##.. #...# ...#. ..##. #.... .#... ....# #...# #...#",
            "#..## ..#.. ....# ..#.. .#.#. ####. #.... ...#. #...# #...#",
            "#.#.# ..#.. ...#. ...#. #..#. ....# ####. ..#.. .###. .####",
            "##..# ..#.. ..#.. ....# ##### ....# #...# .#... #...# ....#",
            "#...# ..#.. .#... #...# ...#. #...# #...# .#... #...# ...#.",
            ".###. .###. ##### .###. ...#. .###. .###. .#... .###. .##..",
            "..... ..... ..... ..... ..... ..... ..... ..... ..... .....",
            "..... ..... ..... ..... ..... ..... ..... ..... ..... .....",
        ],
    },
    Sheet {
        chars: " -+.,:()/=%",
        rows: [
            "..... ..... ..... ..... ..... ..... ...#. .#... ....# ..... ##...",
            "..... ..... ..#.. ..... ..... .##.. ..#.. ..#.. ....# ..... ##..#",
            "..... ..... ..#.. ..... ..... .##.. .#... ...#. ...#. ##### ...#.",
            "..... .###. ##### ..... ..... ..... .#... ...#. ..#.. ..... ..#..",
            "..... ..... ..#.. ..... ..... .##.. .#... ...#. .#... ##### .#...",
            "..... ..... ..#.. .##.. .##.. .##.. .#... ...#. #.... ..... #..##",
            "..... ..... ..... .##.. .##.. ..... ..#.. ..#.. #.... ..... ...##",
            "..... ..... ..... ..... ..#.. ..... ...#. .#... ..... ..... .....",
            "..... ..... ..... ..... .#... ..... ..... ..... ..... ..... .....",
        ],
    },
    Sheet {
        chars: "ABCDEFGHIJKLM",
        rows: [
            ".###. ####. .###. ####. ##### ##### .###. #...# .###. ..### #...# #.... #...#",
            "#...# #...# #...# #...# #.... #.... #...# #...# ..#.. ...#. #..#. #.... ##.##",
            "#...# #...# #.... #...# #.... #.... #.... #...# ..#.. ...#. #.#.. #.... #.#.#",
            "##### ####. #.... #...# ####. ####. #.### ##### ..#.. ...#. ##... #.... #.#.#",
            "#...# #...# #.... #...# #.... #.... #...# #...# ..#.. ...#. #.#.. #.... #...#",
            "#...# #...# #...# #...# #.... #.... #...# #...# ..#.. #..#. #..#. #.... #...#",
            "#...# ####. .###. ####. ##### #.... .#### #...# .###. .##.. #...# ##### #...#",
            "..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....",
            "..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....",
        ],
    },
    Sheet {
        chars: "NOPQRSTUVWXYZ",
        rows: [
            "#...# .###. ####. .###. ####. .#### ##### #...# #...# #...# #...# #...# #####",
            "#...# #...# #...# #...# #...# #.... ..#.. #...# #...# #...# #...# #...# ....#",
            "##..# #...# #...# #...# #...# #.... ..#.. #...# #...# #...# .#.#. .#.#. ...#.",
            "#.#.# #...# ####. #...# ####. .###. ..#.. #...# #...# #.#.# ..#.. ..#.. ..#..",
            "#..## #...# #.... #.#.# #.#.. ....# ..#.. #...# #...# #.#.# .#.#. ..#.. .#...",
            "#...# #...# #.... #..#. #..#. ....# ..#.. #...# .#.#. #.#.# #...# ..#.. #....",
            "#...# .###. #.... .##.# #...# ####. ..#.. .###. ..#.. .#.#. #...# ..#.. #####",
            "..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....",
            "..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....",
        ],
    },
    Sheet {
        chars: "abcdefghijklm",
        rows: [
            "..... #.... ..... ....# ..... ..##. ..... #.... ..#.. ...#. #.... .##.. .....",
            "..... #.... ..... ....# ..... .#... ..... #.... ..... ..... #.... ..#.. .....",
            ".###. ####. .#### .#### .###. .#... .#### ####. .##.. ..##. #..#. ..#.. ##.#.",
            "....# #...# #.... #...# #...# ###.. #...# #...# ..#.. ...#. #.#.. ..#.. #.#.#",
            ".#### #...# #.... #...# ##### .#... #...# #...# ..#.. ...#. ##... ..#.. #.#.#",
            "#...# #...# #.... #...# #.... .#... #...# #...# ..#.. ...#. #.#.. ..#.. #.#.#",
            ".#### ####. .#### .#### .###. .#... .#### #...# .###. ...#. #..#. .###. #.#.#",
            "..... ..... ..... ..... ..... ..... ....# ..... ..... #..#. ..... ..... .....",
            "..... ..... ..... ..... ..... ..... .###. ..... ..... .##.. ..... ..... .....",
        ],
    },
    Sheet {
        chars: "nopqrstuvwxyz",
        rows: [
            "..... ..... ..... ..... ..... ..... .#... ..... ..... ..... ..... ..... .....",
            "..... ..... ..... ..... ..... ..... .#... ..... ..... ..... ..... ..... .....",
            "####. .###. ####. .#### #.##. .#### ####. #...# #...# #...# #...# #...# #####",
            "#...# #...# #...# #...# ##..# #.... .#... #...# #...# #...# .#.#. #...# ...#.",
            "#...# #...# #...# #...# #.... .###. .#... #...# #...# #.#.# ..#.. #...# ..#..",
            "#...# #...# #...# #...# #.... ....# .#..# #..## .#.#. #.#.# .#.#. #...# .#...",
            "#...# .###. ####. .#### #.... ####. ..##. .##.# ..#.. .#.#. #...# .#### #####",
            "..... ..... #.... ....# ..... ..... ..... ..... ..... ..... ..... ....# .....",
            "..... ..... #.... ....# ..... ..... ..... ..... ..... ..... ..... .###. .....",
        ],
    },
];

/// The outline drawn for a character the sheets lack.
const MISSING: [u8; GLYPH_H] = [
    0b11111, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11111, 0, 0,
];

/// The glyph of `c`: one byte per row, top first, bit 4 the leftmost column.
pub fn glyph(c: char) -> [u8; GLYPH_H] {
    for sheet in &SHEETS {
        let Some(i) = sheet.chars.chars().position(|x| x == c) else {
            continue;
        };
        let mut rows = [0u8; GLYPH_H];
        for (row, picture) in rows.iter_mut().zip(sheet.rows) {
            let cells = picture.as_bytes().get(i * ADVANCE..i * ADVANCE + GLYPH_W);
            for (col, cell) in cells.unwrap_or_default().iter().enumerate() {
                if *cell == b'#' {
                    *row |= 1 << (GLYPH_W - 1 - col);
                }
            }
        }
        return rows;
    }
    MISSING
}

/// Width in pixels of `text` drawn at `scale` (no trailing space column).
pub fn width_px(text: &str, scale: usize) -> usize {
    let n = text.chars().count();
    (n * ADVANCE).saturating_sub(1) * scale
}

/// Height in pixels of a line drawn at `scale`, descenders included.
pub fn height_px(scale: usize) -> usize {
    GLYPH_H * scale
}

/// Calls `lit(dx, dy)` for every lit pixel of `text` at `scale`, relative
/// to the top-left corner of its first cell.
pub fn draw(text: &str, scale: usize, mut lit: impl FnMut(usize, usize)) {
    for (n, c) in text.chars().enumerate() {
        let x0 = n * ADVANCE * scale;
        for (y, row) in glyph(c).iter().enumerate() {
            for x in 0..GLYPH_W {
                if row & (1 << (GLYPH_W - 1 - x)) == 0 {
                    continue;
                }
                for sy in 0..scale {
                    for sx in 0..scale {
                        lit(x0 + x * scale + sx, y * scale + sy);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sheet_is_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for sheet in &SHEETS {
            let n = sheet.chars.chars().count();
            for row in sheet.rows {
                assert_eq!(
                    row.len(),
                    n * ADVANCE - 1,
                    "row {row:?} of {:?}",
                    sheet.chars
                );
                for (i, b) in row.bytes().enumerate() {
                    let gap = i % ADVANCE == GLYPH_W;
                    assert!(
                        if gap {
                            b == b' '
                        } else {
                            b == b'#' || b == b'.'
                        },
                        "byte {i} of row {row:?} of {:?}",
                        sheet.chars
                    );
                }
            }
            for c in sheet.chars.chars() {
                assert!(seen.insert(c), "{c:?} is drawn twice");
            }
        }
        // Letters, digits and the punctuation the plot's labels use.
        for c in ('a'..='z')
            .chain('A'..='Z')
            .chain('0'..='9')
            .chain(" -+.,:()/".chars())
        {
            assert!(seen.contains(&c), "{c:?} has no glyph");
        }
    }

    #[test]
    fn glyphs_are_distinct_and_only_space_is_blank() {
        let all: Vec<(char, [u8; GLYPH_H])> = SHEETS
            .iter()
            .flat_map(|s| s.chars.chars())
            .map(|c| (c, glyph(c)))
            .collect();
        for (i, (c, g)) in all.iter().enumerate() {
            assert_eq!(*c == ' ', g.iter().all(|r| *r == 0), "{c:?}");
            assert_ne!(*g, MISSING, "{c:?} looks like the missing-glyph box");
            for (d, h) in &all[i + 1..] {
                assert_ne!(g, h, "{c:?} and {d:?} look the same");
            }
        }
        // Descenders only where a letter has one.
        for (c, g) in &all {
            let below = g[7] | g[8] != 0;
            assert_eq!(below, "gjpqy,()".contains(*c), "{c:?}");
        }
    }

    #[test]
    fn draws_scaled_pixels_inside_its_box() {
        assert_eq!(glyph('1')[0], 0b00100);
        assert_eq!(glyph('\u{e9}'), MISSING);
        let mut lit = Vec::new();
        draw("-1", 2, |x, y| lit.push((x, y)));
        // '-' is row 3, columns 1..=3: 3 × 2 × 2 pixels, in the first cell.
        let dash: Vec<_> = lit.iter().filter(|(x, _)| *x < ADVANCE * 2).collect();
        assert_eq!(dash.len(), 12);
        assert!(dash
            .iter()
            .all(|(x, y)| (2..8).contains(x) && (6..8).contains(y)));
        let (w, h) = (width_px("-1", 2), height_px(2));
        assert_eq!((w, h), (22, 18));
        assert!(lit.iter().all(|(x, y)| *x < w && *y < h));
        assert_eq!(width_px("", 3), 0);
    }
}
