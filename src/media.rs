//! Uploaded images (dispute evidence, logos): recognised by their content, never by their name
//! or declared type; decoded under limits (dimensions and memory, so that a decompression
//! bomb is refused before it is expanded); turned upright; shrunk; and re-encoded, which
//! leaves every byte of metadata (EXIF with GPS, comments) behind.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, codecs};

use crate::i18n::{Lang, Msg};

/// Largest width or height accepted from an upload.
pub const MAX_SIDE: u32 = 10_000;
/// Largest number of pixels accepted for a photo (a 40-megapixel phone camera).
pub const MAX_PIXELS: u64 = 40_000_000;
/// Largest number of pixels accepted for a logo.
pub const MAX_LOGO_PIXELS: u64 = 16_000_000;
/// Largest decoded image (a 40-megapixel RGBA picture); 16-bit images that large are refused.
const MAX_ALLOC: u64 = 160 * 1024 * 1024;
/// Images decoded at the same time: each may take `MAX_ALLOC` of memory.
const DECODERS: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("not a JPEG, PNG or WebP image")]
    NotAnImage,
    #[error("the image is damaged")]
    Damaged,
    #[error("the image has too many pixels")]
    TooManyPixels,
    #[error("the file is too large")]
    TooLarge,
}

impl ImageError {
    pub fn message(self, lang: Lang, max_mb: usize) -> String {
        match self {
            ImageError::NotAnImage => lang.t(Msg::ErrImageType).to_owned(),
            ImageError::Damaged => lang.t(Msg::ErrImageDamaged).to_owned(),
            ImageError::TooManyPixels => lang.t(Msg::ErrImagePixels).to_owned(),
            ImageError::TooLarge => lang.fmt(Msg::ErrImageTooLarge, &[("mb", &max_mb.to_string())]),
        }
    }
}

/// A re-encoded image, ready to store.
#[derive(Debug, Clone)]
pub struct Image {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Run image work on the blocking pool, at most `DECODERS` at a time (memory stays bounded
/// however many uploads arrive together).
pub async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, tokio::task::JoinError> {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let permits = PERMITS.get_or_init(|| tokio::sync::Semaphore::new(DECODERS));
    let _permit = permits.acquire().await.expect("the semaphore is never closed");
    tokio::task::spawn_blocking(work).await
}

/// Decode an upload: JPEG, PNG or WebP only, within the limits, turned upright.
fn decode(bytes: &[u8], max_pixels: u64) -> Result<DynamicImage, ImageError> {
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| ImageError::NotAnImage)?;
    match reader.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP) => {}
        _ => return Err(ImageError::NotAnImage),
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    let mut reader = reader;
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(classify)?;
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(ImageError::Damaged);
    }
    // The decoder's own allocation limit does not cover its output buffer: check it here.
    if u64::from(w) * u64::from(h) > max_pixels || decoder.total_bytes() > MAX_ALLOC {
        return Err(ImageError::TooManyPixels);
    }
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(classify)?;
    img.apply_orientation(orientation);
    Ok(img)
}

fn classify(e: image::ImageError) -> ImageError {
    match e {
        image::ImageError::Limits(_) => ImageError::TooManyPixels,
        image::ImageError::Unsupported(_) => ImageError::NotAnImage,
        _ => ImageError::Damaged,
    }
}

/// Fit within `max_side` (aspect kept). `thumbnail` averages in integers, without the full-size
/// float buffer a filtered resize would take.
fn shrink(img: DynamicImage, max_side: u32) -> DynamicImage {
    if img.width() <= max_side && img.height() <= max_side {
        return img;
    }
    img.thumbnail(max_side, max_side)
}

fn jpeg(img: &DynamicImage, quality: u8) -> Result<Vec<u8>, ImageError> {
    let rgb = DynamicImage::ImageRgb8(img.to_rgb8());
    let mut out = Vec::new();
    rgb.write_with_encoder(codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)).map_err(|_| ImageError::Damaged)?;
    Ok(out)
}

fn png(img: &DynamicImage) -> Result<Vec<u8>, ImageError> {
    let img = if img.color().has_alpha() { DynamicImage::ImageRgba8(img.to_rgba8()) } else { DynamicImage::ImageRgb8(img.to_rgb8()) };
    let mut out = Vec::new();
    let encoder =
        codecs::png::PngEncoder::new_with_quality(&mut out, codecs::png::CompressionType::Best, codecs::png::FilterType::Adaptive);
    img.write_with_encoder(encoder).map_err(|_| ImageError::Damaged)?;
    Ok(out)
}

/// Dispute evidence: at most `max_bytes` as uploaded, shrunk to 1 600 px on its longer side
/// (enough to see a damaged parcel, light on a phone), re-encoded as JPEG.
pub fn evidence(bytes: &[u8], max_bytes: usize) -> Result<Image, ImageError> {
    if bytes.len() > max_bytes {
        return Err(ImageError::TooLarge);
    }
    let img = shrink(decode(bytes, MAX_PIXELS)?, 1600);
    Ok(Image { bytes: jpeg(&img, 82)?, content_type: "image/jpeg", width: img.width(), height: img.height() })
}

/// A logo: at most `max_bytes` as uploaded, shrunk to 256 px, re-encoded as PNG (transparency
/// kept) or, for an opaque picture, as JPEG when that is smaller.
pub fn logo(bytes: &[u8], max_bytes: usize) -> Result<Image, ImageError> {
    if bytes.len() > max_bytes {
        return Err(ImageError::TooLarge);
    }
    let img = shrink(decode(bytes, MAX_LOGO_PIXELS)?, 256);
    let png_bytes = png(&img)?;
    let (bytes, content_type) = if img.color().has_alpha() {
        (png_bytes, "image/png")
    } else {
        let jpeg_bytes = jpeg(&img, 88)?;
        if jpeg_bytes.len() < png_bytes.len() { (jpeg_bytes, "image/jpeg") } else { (png_bytes, "image/png") }
    };
    Ok(Image { bytes, content_type, width: img.width(), height: img.height() })
}

/// The next field of a multipart form; a malformed body is a `400`.
pub async fn next_field(multipart: &mut poem::web::Multipart) -> poem::Result<Option<poem::web::Field>> {
    multipart.next_field().await.map_err(|_| poem::Error::from_status(poem::http::StatusCode::BAD_REQUEST))
}

/// A multipart text field of at most `max_bytes` (a larger one is a `413`), lossily decoded.
pub async fn read_text(field: poem::web::Field, max_bytes: usize) -> poem::Result<String> {
    match read_field(field, max_bytes).await {
        // Text the databases cannot store (see `web::input`).
        Ok(bytes) if bytes.contains(&0) => Err(poem::Error::from_status(poem::http::StatusCode::BAD_REQUEST)),
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(ImageError::TooLarge) => Err(poem::Error::from_status(poem::http::StatusCode::PAYLOAD_TOO_LARGE)),
        Err(_) => Err(poem::Error::from_status(poem::http::StatusCode::BAD_REQUEST)),
    }
}

/// Read one multipart file field, refusing it (without keeping it) past `max_bytes`.
pub async fn read_field(field: poem::web::Field, max_bytes: usize) -> Result<Vec<u8>, ImageError> {
    use tokio::io::AsyncReadExt;
    let mut reader = field.into_async_read();
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).await.map_err(|_| ImageError::Damaged)?;
        if n == 0 {
            return Ok(bytes);
        }
        if bytes.len() + n > max_bytes {
            return Err(ImageError::TooLarge);
        }
        bytes.extend_from_slice(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).expect("encodes");
        out.into_inner()
    }

    #[test]
    fn real_images_are_reencoded_and_shrunk() {
        let big = DynamicImage::ImageRgb8(image::RgbImage::from_fn(2400, 1200, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])));
        for format in [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::WebP] {
            let photo = evidence(&encoded(&big, format), 5 << 20).expect("a real image");
            assert_eq!((photo.width, photo.height, photo.content_type), (1600, 800, "image/jpeg"), "{format:?}");
            assert_eq!(&photo.bytes[..2], b"\xFF\xD8");
            let logo = logo(&encoded(&big, format), 5 << 20).expect("a real image");
            assert_eq!((logo.width, logo.height), (256, 128));
        }
    }

    #[test]
    fn transparent_logos_stay_png() {
        let img = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(300, 300, image::Rgba([10, 20, 30, 0])));
        let l = logo(&encoded(&img, ImageFormat::Png), 2 << 20).expect("a real image");
        assert_eq!((l.content_type, l.width), ("image/png", 256));
    }

    #[test]
    fn impostors_bombs_and_damage_are_refused() {
        assert_eq!(evidence(b"<html>not a photo</html>", 1 << 20).unwrap_err(), ImageError::NotAnImage);
        let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
        assert_eq!(evidence(gif, 1 << 20).unwrap_err(), ImageError::NotAnImage);
        let png = encoded(&DynamicImage::ImageRgb8(image::RgbImage::new(64, 64)), ImageFormat::Png);
        assert_eq!(evidence(&png[..png.len() / 2], 1 << 20).unwrap_err(), ImageError::Damaged);
        assert_eq!(evidence(&png, 10).unwrap_err(), ImageError::TooLarge);
        // 9 000 × 9 000 black pixels compress to a few hundred kilobytes: 81 megapixels once decoded.
        let bomb = encoded(&DynamicImage::ImageLuma8(image::GrayImage::new(9000, 9000)), ImageFormat::Png);
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        assert_eq!(evidence(&bomb, 5 << 20).unwrap_err(), ImageError::TooManyPixels);
    }
}
