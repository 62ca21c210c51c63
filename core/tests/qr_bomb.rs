//! Decompression bombs against `decode_qr_image`: small PNG and JPEG files that declare
//! huge pictures, and files that expand to the largest picture allowed. Each case runs in
//! a child process (this test binary again, on that case alone) so that its peak
//! resident memory (VmHWM) is its own; every case must end in a typed error with a peak
//! under 256 MiB. A test binary of its own: nothing else may raise the peak.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(target_os = "linux")]

use authenticator_core::{decode_qr_image, AuthenticatorError};
use std::process::Command;

const PEAK_LIMIT_KIB: u64 = 256 * 1024;
const CASE_ENV: &str = "AUTHCORE_QR_BOMB_CASE";
const RESULT: &str = "qr-bomb-result:";

/// Writes bits least significant first, as deflate does.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u64, n: u32) {
        self.acc |= value << self.n;
        self.n += n;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    /// A Huffman code: most significant bit first.
    fn code(&mut self, code: u64, n: u32) {
        let reversed = (0..n).fold(0, |r, i| r | (((code >> i) & 1) << (n - 1 - i)));
        self.put(reversed, n);
    }
}

/// A zlib stream of `n` zero bytes without holding them: one fixed-Huffman deflate block,
/// a literal 0, then copies of 258 bytes at distance 1 (13 bits each).
fn zlib_zeros(n: u64) -> Vec<u8> {
    let mut b = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        n: 0,
    };
    b.put(1, 1); // last block
    b.put(1, 2); // fixed Huffman codes
    let mut left = n;
    let mut first = true;
    while left > 0 {
        if !first && left >= 258 {
            b.code(0b1100_0101, 8); // length 258 (code 285)
            b.code(0, 5); // distance 1
            left -= 258;
        } else {
            b.code(0b0011_0000, 8); // literal 0
            left -= 1;
            first = false;
        }
    }
    b.code(0, 7); // end of block
    if b.n > 0 {
        b.out.push(b.acc as u8);
    }
    // Adler-32 of zeros: a stays 1, b adds 1 per byte.
    let adler = (((n % 65521) as u32) << 16) | 1;
    b.out.extend_from_slice(&adler.to_be_bytes());
    b.out
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A PNG whose image data is `raw_len` zero bytes (filter "none", black or, with alpha,
/// transparent pixels).
fn png_of_zeros(w: u32, h: u32, color_type: u8, interlaced: bool, raw_len: u64) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, color_type, 0, 0, u8::from(interlaced)]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"IDAT", &zlib_zeros(raw_len));
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// Bytes of an Adam7-interlaced picture's filtered data (`bpp` bytes a pixel).
fn adam7_len(w: u64, h: u64, bpp: u64) -> u64 {
    const PASSES: [(u64, u64, u64, u64); 7] = [
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ];
    PASSES
        .iter()
        .map(|&(x0, y0, dx, dy)| {
            let cols = w.saturating_sub(x0).div_ceil(dx);
            let rows = h.saturating_sub(y0).div_ceil(dy);
            if cols == 0 {
                0
            } else {
                rows * (1 + cols * bpp)
            }
        })
        .sum()
}

/// A JPEG of `comps` components (no subsampling) whose every block is flat: Huffman
/// tables of one 1-bit code each (DC difference 0, end of block), so the scan is all
/// zero bits. Progressive files carry only the first (DC) scan. At most `max_scan` bytes
/// of the scan are written (a bomb refused from its header needs none of it).
fn jpeg_of_flat_blocks(w: u16, h: u16, comps: u8, progressive: bool, max_scan: u64) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    out.extend_from_slice(&[0xFF, 0xDB, 0, 67, 0]);
    out.extend_from_slice(&[1; 64]);
    out.extend_from_slice(&[0xFF, if progressive { 0xC2 } else { 0xC0 }]);
    out.extend_from_slice(&(8 + 3 * u16::from(comps)).to_be_bytes());
    out.push(8);
    out.extend_from_slice(&h.to_be_bytes());
    out.extend_from_slice(&w.to_be_bytes());
    out.push(comps);
    for c in 0..comps {
        out.extend_from_slice(&[c + 1, 0x11, 0]);
    }
    for class in [0x00, 0x10] {
        out.extend_from_slice(&[0xFF, 0xC4, 0, 20, class, 1]);
        out.extend_from_slice(&[0; 15]);
        out.push(0);
    }
    out.extend_from_slice(&[0xFF, 0xDA]);
    out.extend_from_slice(&(6 + 2 * u16::from(comps)).to_be_bytes());
    out.push(comps);
    for c in 0..comps {
        out.extend_from_slice(&[c + 1, 0x00]);
    }
    out.extend_from_slice(if progressive { &[0, 0, 0] } else { &[0, 63, 0] });
    let blocks = u64::from(w).div_ceil(8) * u64::from(h).div_ceil(8) * u64::from(comps);
    let bits = blocks * if progressive { 1 } else { 2 };
    out.resize(out.len() + bits.div_ceil(8).min(max_scan) as usize, 0);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

const ALL: u64 = u64::MAX;

fn case_bytes(case: &str) -> Vec<u8> {
    match case {
        // Declares 2.5 gigapixels; holds the first rows.
        "png_50000x50000" => png_of_zeros(50_000, 50_000, 0, false, 100 * 50_001),
        // The largest allowed: 40 MP of grey from a 250 KB file.
        "png_grey_8000x5000" => png_of_zeros(8000, 5000, 0, false, 5000 * 8001),
        // 40 MP of RGBA, interlaced: 160 MB of pixels, never held in colour.
        "png_rgba_interlaced_8000x5000" => {
            png_of_zeros(8000, 5000, 6, true, adam7_len(8000, 5000, 4))
        }
        // Declares 4.2 gigapixels; holds the first blocks.
        "jpeg_65000x65000" => jpeg_of_flat_blocks(65_000, 65_000, 1, false, 100_000),
        // The largest allowed, grey and colour: 40 MP from a 150 KB / 470 KB file.
        "jpeg_grey_8000x5000" => jpeg_of_flat_blocks(8000, 5000, 1, false, ALL),
        "jpeg_colour_8000x5000" => jpeg_of_flat_blocks(8000, 5000, 3, false, ALL),
        // Progressive colour keeps 2 bytes per sample of 3 components: 280 MB at 40 MP.
        "jpeg_progressive_8000x5000" => jpeg_of_flat_blocks(8000, 5000, 3, true, ALL),
        // The largest progressive colour picture under the decode estimate (27 MP).
        "jpeg_progressive_6000x4500" => jpeg_of_flat_blocks(6000, 4500, 3, true, ALL),
        other => panic!("unknown case {other}"),
    }
}

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The child's side: decode one case and print the error and the peak.
#[test]
fn child_process() {
    let Ok(case) = std::env::var(CASE_ENV) else {
        return;
    };
    let bytes = case_bytes(&case);
    // Reset the peak to what is resident now (Linux 4.0+), so only the decode counts.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let result = decode_qr_image(bytes);
    let peak = vm_hwm_kib();
    let outcome = match result {
        Err(AuthenticatorError::InvalidEnrollment { reason }) => format!("error {reason}"),
        other => format!("unexpected {other:?}"),
    };
    println!("{RESULT} {peak} {outcome}");
}

/// Runs `case` in a child and returns (peak KiB, outcome).
fn run(case: &str) -> (u64, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CASE_ENV, case)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // libtest may print "test child_process ... " on the same line.
    let line = stdout
        .lines()
        .find_map(|l| l.split_once(RESULT).map(|(_, rest)| rest))
        .unwrap_or_else(|| {
            panic!(
                "{case}: no result; stdout {stdout}, stderr {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let (peak, outcome) = line.trim().split_once(' ').unwrap();
    let peak: u64 = peak.parse().unwrap();
    println!("{case}: peak {} MiB, {outcome}", peak / 1024);
    (peak, outcome.to_string())
}

fn check(case: &str, expected: &str) {
    let (peak, outcome) = run(case);
    assert!(
        outcome.starts_with("error ") && outcome.contains(expected),
        "{case}: {outcome}"
    );
    assert!(
        peak < PEAK_LIMIT_KIB,
        "{case}: peak {peak} KiB is over 256 MiB"
    );
}

#[test]
fn png_declaring_50000x50000_is_refused_from_its_header() {
    check("png_50000x50000", "too large (50000x50000");
}

#[test]
fn png_of_40_megapixels_decodes_within_the_memory_limit() {
    check("png_grey_8000x5000", "no QR code found");
}

#[test]
fn interlaced_rgba_png_of_40_megapixels_decodes_within_the_memory_limit() {
    check("png_rgba_interlaced_8000x5000", "no QR code found");
}

#[test]
fn jpeg_declaring_65000x65000_is_refused_from_its_header() {
    check("jpeg_65000x65000", "too large (65000x65000");
}

#[test]
fn jpegs_of_40_megapixels_decode_within_the_memory_limit() {
    check("jpeg_grey_8000x5000", "no QR code found");
    check("jpeg_colour_8000x5000", "no QR code found");
}

#[test]
fn progressive_jpeg_over_the_decode_estimate_is_refused() {
    check("jpeg_progressive_8000x5000", "too much memory");
}

#[test]
fn progressive_jpeg_just_under_the_decode_estimate_stays_within_the_limit() {
    check("jpeg_progressive_6000x4500", "no QR code found");
}
