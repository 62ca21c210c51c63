//! QR codes in images (PNG and JPEG) under fixed limits. The picture goes straight from
//! the `png` or `zune-jpeg` decoder into one 8-bit greyscale frame, which is box-downscaled
//! before `rqrr` looks for the code. Sizes are checked on the header, before any pixel is
//! decoded, so a small file that declares a huge picture (a decompression bomb) is refused
//! with a typed error instead of taking hundreds of MiB.

use crate::error::{Error, Result};

/// Longest side accepted, in pixels.
pub const MAX_SIDE: u32 = 8192;
/// Most pixels accepted (40 megapixels: more than a 12 MP or 24 MP phone photo).
pub const MAX_PIXELS: u64 = 40_000_000;
/// Most memory the decoding of one image may need, estimated from its header: the
/// greyscale frame, plus a progressive JPEG's coefficient store (two bytes per sample of
/// every component, which the decoder holds until the last scan).
pub const MAX_DECODE_BYTES: u64 = 192 << 20;
/// Longest side handed to QR detection: larger pictures are downscaled first (a QR code
/// that fills a tenth of a 4000-pixel photo still has a few pixels per module).
pub const DETECT_MAX_SIDE: usize = 2048;
/// What the PNG decoder may allocate besides our frame (row buffers, chunk data).
const PNG_DECODER_LIMIT: usize = 8 << 20;

/// An 8-bit greyscale picture, row by row.
struct Grey {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

fn unreadable() -> Error {
    Error::InvalidEnrollment("the image is not a readable PNG or JPEG".into())
}

fn too_large(w: u64, h: u64) -> Error {
    Error::InvalidEnrollment(format!(
        "the image is too large ({w}x{h} pixels; at most {MAX_SIDE} pixels a side and {} megapixels)",
        MAX_PIXELS / 1_000_000
    ))
}

fn too_much_memory() -> Error {
    Error::InvalidEnrollment("the image would need too much memory to decode".into())
}

/// Refuses a picture larger than the limits (`w`, `h` from its header).
fn check_dimensions(w: u64, h: u64) -> Result<()> {
    if w == 0 || h == 0 {
        return Err(unreadable());
    }
    if w > u64::from(MAX_SIDE) || h > u64::from(MAX_SIDE) || w * h > MAX_PIXELS {
        return Err(too_large(w, h));
    }
    Ok(())
}

/// A zeroed buffer of `n` bytes, or an error instead of an abort when memory is short.
fn buffer(n: usize) -> Result<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| too_much_memory())?;
    v.resize(n, 0);
    Ok(v)
}

/// Decodes the QR code in PNG or JPEG `bytes` into its text.
pub fn decode_qr(bytes: &[u8]) -> Result<String> {
    let grey = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_png(bytes)?
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        decode_jpeg(bytes)?
    } else {
        return Err(unreadable());
    };
    let grey = downscale(grey, DETECT_MAX_SIDE)?;
    detect(&grey)
}

fn detect(g: &Grey) -> Result<String> {
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(g.w, g.h, |x, y| g.px[y * g.w + x]);
    let grids = prepared.detect_grids();
    if grids.is_empty() {
        return Err(Error::InvalidEnrollment(
            "no QR code found in the image".into(),
        ));
    }
    let mut last_err = None;
    for grid in grids {
        match grid.decode() {
            Ok((_, content)) => return Ok(content),
            Err(e) => last_err = Some(e),
        }
    }
    Err(Error::InvalidEnrollment(format!(
        "the QR code could not be decoded ({})",
        last_err.map(|e| e.to_string()).unwrap_or_default()
    )))
}

/// Luminance of one 8-bit pixel of `channels` samples (1 grey, 2 grey+alpha, 3 RGB,
/// 4 RGBA; Rec. 709 weights). Transparent pixels count as white paper: a QR code drawn
/// on a transparent background must not turn into a black square.
fn luma(p: &[u8]) -> u8 {
    let (v, alpha) = match *p {
        [g] => (u32::from(g), 255),
        [g, a] => (u32::from(g), u32::from(a)),
        [r, g, b] => (rgb_luma(r, g, b), 255),
        [r, g, b, a] => (rgb_luma(r, g, b), u32::from(a)),
        _ => (255, 255),
    };
    ((v * alpha + 255 * (255 - alpha) + 127) / 255) as u8
}

fn rgb_luma(r: u8, g: u8, b: u8) -> u32 {
    (2126 * u32::from(r) + 7152 * u32::from(g) + 722 * u32::from(b) + 5000) / 10_000
}

fn decode_png(bytes: &[u8]) -> Result<Grey> {
    let mut decoder = png::Decoder::new_with_limits(
        std::io::Cursor::new(bytes),
        png::Limits {
            bytes: PNG_DECODER_LIMIT,
        },
    );
    // Palette and low bit depths expand to 8 bits, 16 bits are cut to 8.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    let (w, h) = {
        let info = decoder.read_header_info().map_err(|_| unreadable())?;
        (info.width, info.height)
    };
    check_dimensions(u64::from(w), u64::from(h))?;
    let mut reader = decoder.read_info().map_err(|_| unreadable())?;
    let channels = match reader.output_color_type() {
        (png::ColorType::Grayscale, png::BitDepth::Eight) => 1,
        (png::ColorType::GrayscaleAlpha, png::BitDepth::Eight) => 2,
        (png::ColorType::Rgb, png::BitDepth::Eight) => 3,
        (png::ColorType::Rgba, png::BitDepth::Eight) => 4,
        _ => return Err(unreadable()),
    };
    let (w, h) = (w as usize, h as usize);
    let mut px = buffer(w * h)?;
    let mut grey_row = Vec::with_capacity(w);
    let mut y = 0;
    // Row by row (an interlaced picture pass by pass), each row turned grey at once: no
    // full-colour frame is ever held.
    while let Some(row) = reader.next_interlaced_row().map_err(|_| unreadable())? {
        grey_row.clear();
        grey_row.extend(row.data().chunks_exact(channels).map(luma));
        match row.interlace() {
            png::InterlaceInfo::Adam7(pass) => {
                png::expand_interlaced_row(&mut px, w, &grey_row, pass, 8);
            }
            png::InterlaceInfo::Null(_) => {
                let dest = px.get_mut(y * w..(y + 1) * w).ok_or_else(unreadable)?;
                dest.copy_from_slice(grey_row.get(..w).ok_or_else(unreadable)?);
                y += 1;
            }
        }
    }
    Ok(Grey { w, h, px })
}

/// What a JPEG's frame header (SOFn) says.
#[derive(Debug, PartialEq, Eq)]
struct JpegFrame {
    width: u32,
    height: u32,
    progressive: bool,
    /// Horizontal and vertical sampling factor of each component.
    sampling: Vec<(u32, u32)>,
}

impl JpegFrame {
    /// Bytes the decoder needs: the greyscale output, and for a progressive picture the
    /// coefficient store of every component (as zune-jpeg allocates it: whole MCUs).
    fn decode_bytes(&self) -> u64 {
        let (w, h) = (u64::from(self.width), u64::from(self.height));
        let mut total = w * h;
        if self.progressive {
            let h_max = self.sampling.iter().map(|s| s.0).max().unwrap_or(1).max(1);
            let v_max = self.sampling.iter().map(|s| s.1).max().unwrap_or(1).max(1);
            let mcu_x = w.div_ceil(8 * u64::from(h_max));
            let mcu_y = h.div_ceil(8 * u64::from(v_max));
            for &(hs, vs) in &self.sampling {
                total += 2 * 64 * mcu_x * mcu_y * u64::from(hs.max(1)) * u64::from(vs.max(1));
            }
        }
        total
    }
}

/// Finds the frame header of a JPEG, walking the marker segments before it.
fn jpeg_frame(bytes: &[u8]) -> Option<JpegFrame> {
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut i = 2;
    loop {
        if *bytes.get(i)? != 0xFF {
            return None;
        }
        while *bytes.get(i)? == 0xFF {
            i += 1;
        }
        let marker = *bytes.get(i)?;
        i += 1;
        // Markers without a length: TEM, RSTn, SOI.
        if marker == 0x01 || (0xD0..=0xD8).contains(&marker) {
            continue;
        }
        // EOI or a scan before any frame header: not a picture we can size.
        if marker == 0xD9 || marker == 0xDA {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(i)?, *bytes.get(i + 1)?]));
        let segment = bytes.get(i + 2..i + len.max(2))?;
        // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let height = u32::from(u16::from_be_bytes([*segment.get(1)?, *segment.get(2)?]));
            let width = u32::from(u16::from_be_bytes([*segment.get(3)?, *segment.get(4)?]));
            let n = usize::from(*segment.get(5)?);
            let sampling = (0..n)
                .map(|c| {
                    let hv = *segment.get(6 + 3 * c + 1)?;
                    Some((u32::from(hv >> 4), u32::from(hv & 0x0F)))
                })
                .collect::<Option<Vec<_>>>()?;
            return Some(JpegFrame {
                width,
                height,
                progressive: matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE),
                sampling,
            });
        }
        i += len;
    }
}

fn decode_jpeg(bytes: &[u8]) -> Result<Grey> {
    use zune_core::{bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions};
    let frame = jpeg_frame(bytes).ok_or_else(unreadable)?;
    check_dimensions(u64::from(frame.width), u64::from(frame.height))?;
    if frame.decode_bytes() > MAX_DECODE_BYTES {
        return Err(too_much_memory());
    }
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::Luma)
        .set_max_width(MAX_SIDE as usize)
        .set_max_height(MAX_SIDE as usize);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(|_| unreadable())?;
    let (w, h) = decoder.dimensions().ok_or_else(unreadable)?;
    // The decoder read the same frame header we sized.
    if (w as u64, h as u64) != (u64::from(frame.width), u64::from(frame.height))
        || decoder.output_buffer_size() != Some(w * h)
    {
        return Err(unreadable());
    }
    let mut px = buffer(w * h)?;
    decoder.decode_into(&mut px).map_err(|_| unreadable())?;
    Ok(Grey { w, h, px })
}

/// Box-downscales by a whole factor so that the longest side is at most `max_side`.
fn downscale(g: Grey, max_side: usize) -> Result<Grey> {
    let longest = g.w.max(g.h);
    if longest <= max_side || g.w == 0 {
        return Ok(g);
    }
    let k = longest.div_ceil(max_side);
    let (ow, oh) = (g.w.div_ceil(k), g.h.div_ceil(k));
    let mut out = buffer(ow * oh)?;
    let mut sums = vec![0u32; ow];
    for (oy, out_row) in out.chunks_exact_mut(ow).enumerate() {
        sums.fill(0);
        let rows = g.px.chunks_exact(g.w).skip(oy * k).take(k);
        let mut n_rows = 0;
        for row in rows {
            n_rows += 1;
            for (sum, block) in sums.iter_mut().zip(row.chunks(k)) {
                *sum += block.iter().map(|&p| u32::from(p)).sum::<u32>();
            }
        }
        for (ox, (dst, sum)) in out_row.iter_mut().zip(&sums).enumerate() {
            let cols = ((ox + 1) * k).min(g.w) - ox * k;
            let n = (n_rows * cols).max(1) as u32;
            *dst = ((sum + n / 2) / n) as u8;
        }
    }
    Ok(Grey {
        w: ow,
        h: oh,
        px: out,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const TEXT: &str = "otpauth://totp/ACME:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME";

    /// A QR code of `TEXT`, black on white, `scale` pixels per module, 4-module margin.
    fn qr(scale: u32) -> image::GrayImage {
        qrcode::QrCode::new(TEXT.as_bytes())
            .unwrap()
            .render::<image::Luma<u8>>()
            .module_dimensions(scale, scale)
            .build()
    }

    fn encode(img: image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn err_text(r: Result<String>) -> String {
        match r {
            Err(Error::InvalidEnrollment(reason)) => reason,
            other => panic!("expected InvalidEnrollment, got {other:?}"),
        }
    }

    /// A PNG file from its IHDR fields and already-filtered image data.
    fn png_file(w: u32, h: u32, color_type: u8, interlaced: bool, raw: &[u8]) -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let start = out.len();
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            let crc = crc32fast::hash(&out[start..]);
            out.extend_from_slice(&crc.to_be_bytes());
        }
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, color_type, 0, 0, u8::from(interlaced)]);
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(
            &mut out,
            b"IDAT",
            &miniz_oxide::deflate::compress_to_vec_zlib(raw, 6),
        );
        chunk(&mut out, b"IEND", &[]);
        out
    }

    #[test]
    fn grey_rgb_rgba_and_16_bit_pngs() {
        let g = qr(4);
        let png = encode(
            image::DynamicImage::ImageLuma8(g.clone()),
            image::ImageFormat::Png,
        );
        assert_eq!(decode_qr(&png).unwrap(), TEXT);
        let rgb = image::DynamicImage::ImageLuma8(g.clone()).to_rgb8();
        let png = encode(image::DynamicImage::ImageRgb8(rgb), image::ImageFormat::Png);
        assert_eq!(decode_qr(&png).unwrap(), TEXT);
        let wide = image::DynamicImage::ImageLuma8(g.clone()).to_luma16();
        let png = encode(
            image::DynamicImage::ImageLuma16(wide),
            image::ImageFormat::Png,
        );
        assert_eq!(decode_qr(&png).unwrap(), TEXT);
        // Black modules on a transparent background whose hidden colour is black too.
        let rgba = image::RgbaImage::from_fn(g.width(), g.height(), |x, y| {
            if g.get_pixel(x, y).0[0] < 128 {
                image::Rgba([0, 0, 0, 255])
            } else {
                image::Rgba([0, 0, 0, 0])
            }
        });
        let png = encode(
            image::DynamicImage::ImageRgba8(rgba),
            image::ImageFormat::Png,
        );
        assert_eq!(decode_qr(&png).unwrap(), TEXT);
    }

    #[test]
    fn interlaced_png() {
        let g = qr(4);
        let (w, h) = (g.width() as usize, g.height() as usize);
        // Adam7: seven passes, each a sub-image of its own rows (filter byte 0 each).
        const PASSES: [(usize, usize, usize, usize); 7] = [
            (0, 0, 8, 8),
            (4, 0, 8, 8),
            (0, 4, 4, 8),
            (2, 0, 4, 4),
            (0, 2, 2, 4),
            (1, 0, 2, 2),
            (0, 1, 1, 2),
        ];
        let mut raw = Vec::new();
        for (x0, y0, dx, dy) in PASSES {
            if x0 >= w || y0 >= h {
                continue;
            }
            for y in (y0..h).step_by(dy) {
                raw.push(0);
                for x in (x0..w).step_by(dx) {
                    raw.push(g.get_pixel(x as u32, y as u32).0[0]);
                }
            }
        }
        let png = png_file(w as u32, h as u32, 0, true, &raw);
        assert_eq!(decode_qr(&png).unwrap(), TEXT);
    }

    #[test]
    fn grey_and_colour_jpegs() {
        let g = qr(6);
        let jpeg = encode(
            image::DynamicImage::ImageLuma8(g.clone()),
            image::ImageFormat::Jpeg,
        );
        assert_eq!(decode_qr(&jpeg).unwrap(), TEXT);
        let rgb = image::DynamicImage::ImageLuma8(g).to_rgb8();
        let jpeg = encode(
            image::DynamicImage::ImageRgb8(rgb),
            image::ImageFormat::Jpeg,
        );
        let frame = jpeg_frame(&jpeg).unwrap();
        assert_eq!(frame.sampling.len(), 3);
        assert!(!frame.progressive);
        assert_eq!(decode_qr(&jpeg).unwrap(), TEXT);
    }

    #[test]
    fn a_large_photo_is_downscaled_and_still_read() {
        // A 4100x2600 picture with the code in one corner: downscaled by 3 before detection.
        let code = qr(12);
        let mut photo = image::GrayImage::from_pixel(4100, 2600, image::Luma([200]));
        image::imageops::overlay(&mut photo, &code, 3000, 1500);
        let jpeg = encode(
            image::DynamicImage::ImageLuma8(photo),
            image::ImageFormat::Jpeg,
        );
        assert_eq!(decode_qr(&jpeg).unwrap(), TEXT);
    }

    #[test]
    fn downscale_averages_whole_blocks() {
        let g = Grey {
            w: 5,
            h: 3,
            px: vec![
                0, 0, 90, 90, 7, //
                0, 0, 90, 90, 7, //
                30, 30, 30, 30, 255,
            ],
        };
        let small = downscale(g, 2).unwrap();
        assert_eq!((small.w, small.h), (2, 1));
        // k = 3: blocks of 3x3 and (partial) 2x3 pixels.
        let expected = [
            (90 + 90 + 30 * 3 + 4) / 9,
            (90 * 2 + 7 * 2 + 30 + 255 + 3) / 6,
        ];
        assert_eq!(small.px, expected.map(|v: u32| v as u8).to_vec());
        let g = Grey {
            w: 2,
            h: 2,
            px: vec![1, 2, 3, 4],
        };
        assert_eq!(downscale(g, 2).unwrap().px, vec![1, 2, 3, 4]);
    }

    #[test]
    fn sizes_are_refused_from_the_header() {
        // IHDR declares 50000x50000: refused before the (absent) pixels are looked at.
        let png = png_file(50_000, 50_000, 0, false, &[0; 16]);
        assert!(err_text(decode_qr(&png)).contains("too large (50000x50000"));
        let png = png_file(9000, 10, 2, false, &[0; 16]);
        assert!(err_text(decode_qr(&png)).contains("too large"));
        // 7000x7000 = 49 MP: each side fits, the pixel count does not.
        let png = png_file(7000, 7000, 0, false, &[0; 16]);
        assert!(err_text(decode_qr(&png)).contains("too large"));
        let png = png_file(0, 10, 0, false, &[0; 16]);
        assert!(err_text(decode_qr(&png)).contains("not a readable"));
    }

    #[test]
    fn jpeg_frame_header_and_memory_estimate() {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0];
        // SOF2, 8 bits, 4000 high, 6000 wide, 3 components 4:2:0.
        jpeg.extend_from_slice(&[0xFF, 0xC2, 0, 17, 8, 0x0F, 0xA0, 0x17, 0x70, 3]);
        jpeg.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        let f = jpeg_frame(&jpeg).unwrap();
        assert_eq!(
            f,
            JpegFrame {
                width: 6000,
                height: 4000,
                progressive: true,
                sampling: vec![(2, 2), (1, 1), (1, 1)],
            }
        );
        // 24 MP grey output + 2 bytes per luma sample + 2 per quarter-size chroma sample.
        assert_eq!(f.decode_bytes(), 24_000_000 + 48_000_000 + 2 * 12_000_000);
        assert!(f.decode_bytes() < MAX_DECODE_BYTES);
        assert!(jpeg_frame(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2]).is_none());
        assert!(jpeg_frame(&[0xFF, 0xD8, 0xFF]).is_none());
        assert!(matches!(
            decode_qr(b"\xFF\xD8\xFF\xD9"),
            Err(Error::InvalidEnrollment(_))
        ));
    }
}
