//! Uploaded files (a CSV for the DataStore): streamed to a temporary file as they arrive, so a
//! large file is never held in memory, and removed when the upload is dropped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use axum::extract::Multipart;
use tokio::io::AsyncWriteExt;

use crate::platform::error::{Error, Result};

/// A file removed when dropped.
pub struct TempFile(PathBuf);

impl TempFile {
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A multipart form: its text fields, and the file of the field named `file_field`, if sent,
/// with the name the sender gave it.
pub struct Uploaded {
    pub fields: HashMap<String, String>,
    pub file: Option<(TempFile, String)>,
}

/// The longest text field of a multipart form.
pub const FIELD_LIMIT: usize = 1024 * 1024;

pub async fn read(mut form: Multipart, file_field: &str) -> Result<Uploaded> {
    let bad = |e: axum::extract::multipart::MultipartError| Error::BadRequest(e.body_text());
    let mut out = Uploaded {
        fields: HashMap::new(),
        file: None,
    };
    while let Some(mut field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_owned();
        if name == file_field {
            let sent_as = field.file_name().unwrap_or("").to_owned();
            let temp = TempFile(std::env::temp_dir().join(format!(
                "khidmat-upload-{}.csv",
                uuid::Uuid::new_v4().simple()
            )));
            let mut file = tokio::fs::File::create(temp.path())
                .await
                .map_err(|e| Error::Internal(e.into()))?;
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                file.write_all(&chunk)
                    .await
                    .map_err(|e| Error::Internal(e.into()))?;
            }
            file.flush().await.map_err(|e| Error::Internal(e.into()))?;
            out.file = Some((temp, sent_as));
        } else {
            // A form field is a name, a title, a JSON list of fields: never megabytes.
            let mut text = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                if text.len() + chunk.len() > FIELD_LIMIT {
                    return Err(Error::BadRequest(format!(
                        "the form field {name:?} is longer than {FIELD_LIMIT} bytes"
                    )));
                }
                text.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(text)
                .map_err(|_| Error::BadRequest(format!("the form field {name:?} is not UTF-8")))?;
            out.fields.insert(name, text);
        }
    }
    Ok(out)
}
