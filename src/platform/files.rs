//! Photos: every upload is decoded and re-encoded as a JPEG no larger than the configured size.
//! Re-encoding drops all metadata (EXIF GPS positions, camera serials) and any payload hidden in
//! the original file. Files are stored by the SHA-256 of their re-encoded bytes, so the same
//! photo sent twice is stored once.
//!
//! A few staff-only documents (a fellow's CV, a signed MoU) may also be PDFs. Those are kept as
//! sent (there is no safe re-encoding of a PDF), only ever in the staff-only documents area,
//! and served as downloads (`Content-Disposition: attachment`, `nosniff`, a sandboxing CSP).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use chrono::Utc;
use image::codecs::jpeg::JpegEncoder;
use image::{ImageReader, Limits};
use sha2::{Digest, Sha256};

use super::db::{query, Db, Tx};
use super::error::Error;
use super::i18n::Lang;
use crate::t;

#[derive(Debug)]
pub enum PhotoError {
    NotAnImage(String),
    TooLarge,
    Io(std::io::Error),
}

impl PhotoError {
    /// What the sender is told: not a picture (400), too large (413, naming the limit of
    /// `max_bytes`), or our own failure to store it (500).
    pub fn into_error(self, lang: Lang, max_bytes: usize) -> Error {
        match self {
            PhotoError::NotAnImage(why) => {
                Error::BadRequest(t!(lang, "err-photo-not-image", reason = why))
            }
            PhotoError::TooLarge => Error::TooLarge(t!(
                lang,
                "err-photo-too-large",
                max = max_bytes / (1024 * 1024)
            )),
            PhotoError::Io(e) => Error::Internal(e.into()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Photo {
    pub id: i64,
    pub sha256: String,
}

/// The re-encoded image (or a checked PDF), ready to store.
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    pub content_type: &'static str,
}

pub const PDF: &str = "application/pdf";

/// A PDF document, kept as sent: it must start like a PDF and end with its end-of-file marker
/// (a truncated upload is refused rather than stored broken).
pub fn pdf(bytes: Vec<u8>) -> Result<Encoded, PhotoError> {
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    if !bytes.starts_with(b"%PDF-") || !tail.windows(5).any(|w| w == b"%%EOF") {
        return Err(PhotoError::NotAnImage("not a complete PDF document".into()));
    }
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(Encoded {
        bytes,
        sha256,
        width: 0,
        height: 0,
        content_type: PDF,
    })
}

/// The recordings kept (a WhatsApp voice note, a call's recording), by what their bytes begin
/// with: a recording is kept as sent (there is nothing in it to strip but its sound), and only in
/// the staff-only documents area.
const AUDIO: [(&str, &str); 5] = [
    ("audio/ogg", "ogg"),
    ("audio/mpeg", "mp3"),
    ("audio/wav", "wav"),
    ("audio/amr", "amr"),
    ("audio/mp4", "m4a"),
];

/// The file name extension a stored file of this type has.
fn extension(content_type: &str) -> &'static str {
    if content_type == PDF {
        return "pdf";
    }
    AUDIO
        .iter()
        .find(|(t, _)| *t == content_type)
        .map_or("jpg", |(_, e)| e)
}

/// Is this one of the recording types kept?
pub fn is_audio(content_type: &str) -> bool {
    AUDIO.iter().any(|(t, _)| *t == content_type)
}

/// A recording, if its bytes are one: Ogg (Opus, as WhatsApp's voice notes), MP3, WAV, AMR or
/// MP4 audio. The type comes from the bytes, never from what the sender claimed.
pub fn audio(bytes: Vec<u8>) -> Result<Encoded, PhotoError> {
    let b = bytes.as_slice();
    let content_type = if b.starts_with(b"OggS") {
        "audio/ogg"
    } else if b.starts_with(b"ID3") || (b.len() > 2 && b[0] == 0xFF && b[1] & 0xE0 == 0xE0) {
        "audio/mpeg"
    } else if b.len() > 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WAVE" {
        "audio/wav"
    } else if b.starts_with(b"#!AMR") {
        "audio/amr"
    } else if b.len() > 12 && &b[4..8] == b"ftyp" {
        "audio/mp4"
    } else {
        return Err(PhotoError::NotAnImage(
            "not an Ogg, MP3, WAV, AMR or MP4 recording".into(),
        ));
    };
    if b.len() < 64 {
        return Err(PhotoError::NotAnImage("the recording is empty".into()));
    }
    let sha256 = hex::encode(Sha256::digest(b));
    Ok(Encoded {
        bytes,
        sha256,
        width: 0,
        height: 0,
        content_type,
    })
}

/// A document upload: a PDF as it is, anything else as a photo.
pub async fn document(bytes: Vec<u8>, max_side: u32) -> Result<Encoded, PhotoError> {
    if bytes.starts_with(b"%PDF-") {
        pdf(bytes)
    } else {
        encode(bytes, max_side).await
    }
}

/// Decode `bytes` (JPEG, PNG, WebP or GIF), scale to fit `max_side`, re-encode as JPEG. CPU work:
/// runs on the blocking pool.
pub async fn encode(bytes: Vec<u8>, max_side: u32) -> Result<Encoded, PhotoError> {
    tokio::task::spawn_blocking(move || encode_blocking(&bytes, max_side))
        .await
        .map_err(|e| PhotoError::Io(std::io::Error::other(e)))?
}

/// Decode `bytes` (JPEG, PNG, WebP or GIF) and scale to fit `max_side`, refusing decompression
/// bombs.
fn decode_scaled(bytes: &[u8], max_side: u32) -> Result<image::DynamicImage, PhotoError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(PhotoError::Io)?;
    if reader.format().is_none() {
        return Err(PhotoError::NotAnImage(
            "not a JPEG, PNG, WebP or GIF image".into(),
        ));
    }
    // Refuse decompression bombs: a small file that unpacks to gigabytes.
    let mut limits = Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => PhotoError::TooLarge,
        e => PhotoError::NotAnImage(e.to_string()),
    })?;
    Ok(if img.width() > max_side || img.height() > max_side {
        img.resize(max_side, max_side, image::imageops::FilterType::Triangle)
    } else {
        img
    })
}

fn encode_blocking(bytes: &[u8], max_side: u32) -> Result<Encoded, PhotoError> {
    let rgb = decode_scaled(bytes, max_side)?.to_rgb8();
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 80)
        .encode_image(&rgb)
        .map_err(|e| PhotoError::Io(std::io::Error::other(e)))?;
    let sha256 = hex::encode(Sha256::digest(&jpeg));
    Ok(Encoded {
        bytes: jpeg,
        sha256,
        width: rgb.width(),
        height: rgb.height(),
        content_type: "image/jpeg",
    })
}

/// A logo: decoded, scaled to fit `max_side`, re-encoded as PNG (keeping transparency, which
/// a logo on a coloured header needs and a JPEG would lose).
pub async fn logo(bytes: Vec<u8>, max_side: u32) -> Result<Encoded, PhotoError> {
    tokio::task::spawn_blocking(move || {
        let rgba = decode_scaled(&bytes, max_side)?.to_rgba8();
        let mut png = Vec::new();
        rgba.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| PhotoError::Io(std::io::Error::other(e)))?;
        Ok(Encoded {
            sha256: hex::encode(Sha256::digest(&png)),
            width: rgba.width(),
            height: rgba.height(),
            bytes: png,
            content_type: "image/png",
        })
    })
    .await
    .map_err(|e| PhotoError::Io(std::io::Error::other(e)))?
}

/// The address a stored photo is served at (the `/photos/{file}` route).
pub fn url(base: &str, sha256: &str) -> String {
    format!("{base}/photos/{sha256}.jpg")
}

/// Which files: public photos (served by `/photos/` to anyone) or documents (applicants' papers,
/// fellows' CVs, signed MoUs: served to the staff entitled to them only). They never share a
/// directory or a key prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Photos,
    Documents,
}

impl Area {
    fn prefix(self) -> &'static str {
        match self {
            Area::Photos => "photos",
            Area::Documents => "documents",
        }
    }
}

/// Where a stored file of this digest and type lives, relative to the store: `photos/ab/ab….jpg`.
/// `None` for a digest that is not one (so a request cannot name any other path).
fn key(area: Area, sha256: &str, content_type: &str) -> Option<String> {
    let valid = sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    let ext = extension(content_type);
    valid.then(|| format!("{}/{}/{sha256}.{ext}", area.prefix(), &sha256[..2]))
}

/// Where photos and documents are kept: a directory (which nodes sharing a database must share,
/// a network mount) or an S3-compatible bucket. One type for both, so every caller stores and
/// reads the same way whichever a deployment chose.
#[derive(Debug)]
pub enum Store {
    Dir(PathBuf),
    S3(Box<super::s3::Bucket>),
}

impl Store {
    pub fn from_config(config: &super::config::Config) -> anyhow::Result<Store> {
        Ok(match config.file_store.as_str() {
            "s3" => Store::S3(Box::new(super::s3::Bucket::new(
                &config.s3_endpoint,
                &config.s3_bucket,
                super::s3::Credentials {
                    access_key: config.s3_access_key.clone(),
                    secret_key: config.s3_secret_key.clone().unwrap_or_default(),
                    region: config.s3_region.clone(),
                },
                config.tls_ca_file.as_deref(),
            )?)),
            _ => Store::Dir(config.files_dir()),
        })
    }

    /// Keep the file. Call it before the transaction that records it, so no lock is held during
    /// the write. If that transaction rolls back, the file stays as an orphan, which is harmless:
    /// files are named by their content, so the same one sent again reuses it.
    pub async fn put(&self, area: Area, e: &Encoded) -> Result<(), PhotoError> {
        let key = key(area, &e.sha256, e.content_type).expect("own digest is valid");
        match self {
            Store::Dir(root) => save(&root.join(key), &e.bytes).await,
            Store::S3(b) => b
                .put(&key, e.bytes.clone(), e.content_type)
                .await
                .map_err(|e| PhotoError::Io(std::io::Error::other(e))),
        }
    }

    /// The file of this digest and type, or `None` if there is none (or the digest is not one).
    pub async fn get(
        &self,
        area: Area,
        sha256: &str,
        content_type: &str,
    ) -> Result<Option<Vec<u8>>, PhotoError> {
        let Some(key) = key(area, sha256, content_type) else {
            return Ok(None);
        };
        match self {
            Store::Dir(root) => match tokio::fs::read(root.join(key)).await {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(PhotoError::Io(e)),
            },
            Store::S3(b) => b
                .get(&key)
                .await
                .map_err(|e| PhotoError::Io(std::io::Error::other(e))),
        }
    }

    /// Remove a file (gone already is fine).
    pub async fn delete(
        &self,
        area: Area,
        sha256: &str,
        content_type: &str,
    ) -> Result<(), PhotoError> {
        let Some(key) = key(area, sha256, content_type) else {
            return Ok(());
        };
        match self {
            Store::Dir(root) => match tokio::fs::remove_file(root.join(key)).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(PhotoError::Io(e)),
                _ => Ok(()),
            },
            Store::S3(b) => b
                .delete(&key)
                .await
                .map_err(|e| PhotoError::Io(std::io::Error::other(e))),
        }
    }

    /// The directory files are kept in, when they are kept in one (for the disk-space figure).
    pub fn dir(&self) -> Option<&Path> {
        match self {
            Store::Dir(root) => Some(root),
            Store::S3(_) => None,
        }
    }
}

/// Free and total bytes of the file system holding `path`.
pub fn disk(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `s` a properly sized, writable struct.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    let unit = s.f_frsize as u64;
    Some((s.f_bavail as u64 * unit, s.f_blocks as u64 * unit))
}

/// Write `bytes` to `path` atomically (a temporary file renamed into place), unless it is there.
async fn save(path: &Path, bytes: &[u8]) -> Result<(), PhotoError> {
    if tokio::fs::try_exists(path).await.unwrap_or(false) {
        return Ok(());
    }
    let parent = path.parent().expect("has parent");
    tokio::fs::create_dir_all(parent)
        .await
        .map_err(PhotoError::Io)?;
    let mut tmp = TempFile(Some(parent.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        uuid::Uuid::new_v4().simple()
    ))));
    let at = tmp.0.clone().expect("set above");
    tokio::fs::write(&at, bytes).await.map_err(PhotoError::Io)?;
    tokio::fs::rename(&at, path).await.map_err(PhotoError::Io)?;
    tmp.0 = None;
    Ok(())
}

/// A partly written file, removed when dropped: a failed write (a full disk), a failed rename
/// or a request abandoned halfway leaves nothing behind.
struct TempFile(Option<std::path::PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Record a saved photo inside the caller's transaction; returns its row.
pub async fn record(tx: &mut Tx, e: &Encoded) -> Result<Photo, sqlx::Error> {
    tx.execute(
        query(
            "INSERT INTO photos (sha256, content_type, width, height, bytes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(&e.sha256)
        .bind(e.content_type)
        .bind(e.width as i64)
        .bind(e.height as i64)
        .bind(e.bytes.len() as i64)
        .bind(Utc::now()),
    )
    .await?;
    let id: i64 = tx
        .scalar(query("SELECT id FROM photos WHERE sha256 = $1").bind(&e.sha256))
        .await?;
    Ok(Photo {
        id,
        sha256: e.sha256.clone(),
    })
}

/// How long a staged file waits for its form to come back.
const STAGED_HOURS: i64 = 24;

/// Keep a file that came with a form the server then refused, for the form's next try: stored
/// as any file is, and named by a random token the page carries back (a hidden field). Only the
/// holder of the page knows the token; it is good for a day and for this area only.
pub async fn stage(db: &Db, store: &Store, area: Area, e: &Encoded) -> Result<String, Error> {
    store
        .put(area, e)
        .await
        .map_err(|e| e.into_error(Lang::En, 0))?;
    let token = super::identity::random_token();
    let now = Utc::now();
    forget_expired(db, store, now).await?;
    db.execute(
        query(
            "INSERT INTO staged_files (token, area, sha256, content_type, width, height, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&token)
        .bind(area.prefix())
        .bind(&e.sha256)
        .bind(e.content_type)
        .bind(i64::from(e.width))
        .bind(i64::from(e.height))
        .bind(now),
    )
    .await?;
    Ok(token)
}

/// Forget staged files past their day. A file that no form used (nothing records it, no other
/// token names it) is removed from the store too: a refused application's CNIC photo is not kept
/// for ever because the citizen gave up.
async fn forget_expired(db: &Db, store: &Store, now: chrono::DateTime<Utc>) -> Result<(), Error> {
    let cutoff = now - chrono::Duration::hours(STAGED_HOURS);
    let expired: Vec<(String, String, String, String)> = db
        .fetch_all(
            query(
                "SELECT token, area, sha256, content_type FROM staged_files WHERE created_at < $1",
            )
            .bind(cutoff),
        )
        .await?;
    for (token, area, sha256, content_type) in expired {
        db.execute(query("DELETE FROM staged_files WHERE token = $1").bind(&token))
            .await?;
        let (used,): (i64,) = db
            .fetch_one(
                query(
                    "SELECT (SELECT COUNT(*) FROM photos WHERE sha256 = $1) \
                     + (SELECT COUNT(*) FROM staged_files WHERE sha256 = $1)",
                )
                .bind(&sha256),
            )
            .await?;
        let area = if area == Area::Photos.prefix() {
            Area::Photos
        } else {
            Area::Documents
        };
        if used == 0 {
            store
                .delete(area, &sha256, &content_type)
                .await
                .map_err(|e| e.into_error(Lang::En, 0))?;
        }
    }
    Ok(())
}

/// The file a staging token names, if it is still kept (and of this area); `None` otherwise
/// (an old page, a made-up token): the form then asks for the file again.
pub async fn staged(
    db: &Db,
    store: &Store,
    area: Area,
    token: &str,
) -> Result<Option<Encoded>, Error> {
    if token.is_empty() || token.len() > 100 {
        return Ok(None);
    }
    let row: Option<(String, String, i64, i64)> = db
        .fetch_optional(
            query(
                "SELECT sha256, content_type, width, height FROM staged_files \
                 WHERE token = $1 AND area = $2 AND created_at >= $3",
            )
            .bind(token)
            .bind(area.prefix())
            .bind(Utc::now() - chrono::Duration::hours(STAGED_HOURS)),
        )
        .await?;
    let Some((sha256, content_type, width, height)) = row else {
        return Ok(None);
    };
    let content_type = if content_type == PDF {
        PDF
    } else {
        "image/jpeg"
    };
    let Some(bytes) = store
        .get(area, &sha256, content_type)
        .await
        .map_err(|e| e.into_error(Lang::En, 0))?
    else {
        return Ok(None);
    };
    Ok(Some(Encoded {
        bytes,
        sha256,
        width: width as u32,
        height: height as u32,
        content_type,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 255) as u8, (y % 255) as u8, 90])
        });
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn reencodes_and_scales_down() {
        let e = encode_blocking(&png(3000, 1000), 1600).unwrap();
        assert_eq!((e.width, e.height), (1600, 533));
        assert_eq!(&e.bytes[..2], &[0xFF, 0xD8]);
        assert!(!e.bytes.windows(4).any(|w| w == b"Exif"));
    }

    #[test]
    fn refuses_what_is_not_an_image() {
        assert!(matches!(
            encode_blocking(b"%PDF-1.4 not a photo", 1600),
            Err(PhotoError::NotAnImage(_))
        ));
        let mut truncated = png(100, 100);
        truncated.truncate(60);
        assert!(matches!(
            encode_blocking(&truncated, 1600),
            Err(PhotoError::NotAnImage(_))
        ));
    }

    #[test]
    fn pdfs_are_kept_whole_or_refused() {
        let doc = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec();
        let e = pdf(doc.clone()).unwrap();
        assert_eq!((e.bytes, e.content_type), (doc.clone(), PDF));
        assert!(pdf(doc[..20].to_vec()).is_err(), "truncated");
        assert!(pdf(b"<html>%%EOF".to_vec()).is_err(), "not a PDF");
        let d = "b".repeat(64);
        assert_eq!(
            key(Area::Documents, &d, PDF).unwrap(),
            format!("documents/bb/{d}.pdf")
        );
    }

    #[test]
    fn keys_accept_only_digests() {
        assert!(key(Area::Photos, "../etc/passwd", "image/jpeg").is_none());
        assert!(key(Area::Photos, &"A".repeat(64), "image/jpeg").is_none());
        let d = "a".repeat(64);
        assert_eq!(
            key(Area::Photos, &d, "image/jpeg").unwrap(),
            format!("photos/aa/{d}.jpg")
        );
    }

    #[tokio::test]
    async fn a_directory_store_keeps_photos_and_documents_apart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::Dir(dir.path().to_path_buf());
        let e = encode(png(40, 30), 1600).await.unwrap();
        store.put(Area::Photos, &e).await.unwrap();
        store.put(Area::Photos, &e).await.unwrap();
        assert_eq!(
            store
                .get(Area::Photos, &e.sha256, e.content_type)
                .await
                .unwrap(),
            Some(e.bytes.clone())
        );
        assert_eq!(
            store
                .get(Area::Documents, &e.sha256, e.content_type)
                .await
                .unwrap(),
            None,
            "a photo is not a document"
        );
        assert!(dir
            .path()
            .join(format!("photos/{}/{}.jpg", &e.sha256[..2], e.sha256))
            .exists());
    }
}
