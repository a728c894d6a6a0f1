//! An S3-compatible bucket (MinIO, Garage, SeaweedFS, Ceph, a cloud's object storage): objects put
//! and got by key, path-style (`{endpoint}/{bucket}/{key}`), each request signed with AWS
//! Signature Version 4. Only what the file store needs: no listing, no multipart upload (photos
//! and documents are a few hundred kilobytes).
//!
//! The endpoint is `http://`: Khidmat carries no TLS stack (the build stays lean). A bucket on the
//! same private network, or a TLS-terminating proxy in front of a cloud endpoint, serves.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use sha2::{Digest, Sha256};

/// How long one request may take before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

pub struct Bucket {
    /// `http://host:port`, without a trailing slash.
    endpoint: String,
    host: String,
    bucket: String,
    credentials: Credentials,
    client: Client<super::http::Connector, BoxBody<Bytes, std::io::Error>>,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        write!(f, "Bucket({}/{})", self.endpoint, self.bucket)
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// A key's path, each segment percent-encoded as Signature Version 4 wants (unreserved
/// characters kept, `/` between segments).
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The `Authorization` header for a request (Signature Version 4, service `s3`). `headers` are
/// the headers to sign, names in lower case, and must include `host`, `x-amz-content-sha256` and
/// `x-amz-date`; `path` is already encoded; the query is empty.
pub fn authorization(
    c: &Credentials,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    payload_sha256: &str,
    at: DateTime<Utc>,
) -> String {
    let mut headers: Vec<(&str, &str)> = headers.to_vec();
    headers.sort();
    let canonical_headers: String = headers
        .iter()
        .map(|(k, v)| format!("{k}:{}\n", v.trim()))
        .collect();
    let signed: Vec<&str> = headers.iter().map(|(k, _)| *k).collect();
    let signed = signed.join(";");
    let canonical = format!("{method}\n{path}\n\n{canonical_headers}\n{signed}\n{payload_sha256}");
    let day = at.format("%Y%m%d").to_string();
    let scope = format!("{day}/{}/s3/aws4_request", c.region);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        at.format("%Y%m%dT%H%M%SZ"),
        hex_sha256(canonical.as_bytes())
    );
    let key = hmac(format!("AWS4{}", c.secret_key).as_bytes(), &day);
    let key = hmac(&key, &c.region);
    let key = hmac(&key, "s3");
    let key = hmac(&key, "aws4_request");
    let signature = hex::encode(hmac(&key, &to_sign));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope},SignedHeaders={signed},Signature={signature}",
        c.access_key
    )
}

impl Bucket {
    /// A bucket at `endpoint` (`https://…`, or `http://` on a private network); `ca_file`:
    /// certificate authorities trusted beside the machine's (see `tls_ca_file`).
    pub fn new(
        endpoint: &str,
        bucket: &str,
        credentials: Credentials,
        ca_file: Option<&std::path::Path>,
    ) -> anyhow::Result<Bucket> {
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        let uri: hyper::Uri = endpoint.parse()?;
        anyhow::ensure!(
            matches!(uri.scheme_str(), Some("https" | "http")),
            "the S3 endpoint must be an https:// (or http://) address"
        );
        let host = uri
            .authority()
            .ok_or_else(|| anyhow::anyhow!("the S3 endpoint needs a host"))?
            .to_string();
        anyhow::ensure!(!bucket.is_empty(), "the S3 bucket needs a name");
        Ok(Bucket {
            endpoint,
            host,
            bucket: bucket.to_owned(),
            credentials,
            client: super::http::client(ca_file)?,
        })
    }

    async fn send(
        &self,
        method: hyper::Method,
        key: &str,
        body: Vec<u8>,
        content_type: Option<&str>,
    ) -> anyhow::Result<(hyper::StatusCode, Bytes)> {
        let payload = hex_sha256(&body);
        let length = body.len() as u64;
        let body = Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed();
        self.send_body(method, key, body, &payload, length, content_type)
            .await
    }

    /// One signed request; `payload` is the body's SHA-256 in hex, or `UNSIGNED-PAYLOAD` for a
    /// body streamed from a file.
    async fn send_body(
        &self,
        method: hyper::Method,
        key: &str,
        body: BoxBody<Bytes, std::io::Error>,
        payload: &str,
        length: u64,
        content_type: Option<&str>,
    ) -> anyhow::Result<(hyper::StatusCode, Bytes)> {
        let path = encode_path(&format!("/{}/{key}", self.bucket));
        let now = Utc::now();
        let date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let mut signed = vec![
            ("host", self.host.as_str()),
            ("x-amz-content-sha256", payload),
            ("x-amz-date", date.as_str()),
        ];
        if let Some(t) = content_type {
            signed.push(("content-type", t));
        }
        let auth = authorization(
            &self.credentials,
            method.as_str(),
            &path,
            &signed,
            payload,
            now,
        );
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.endpoint))
            .header("authorization", auth)
            .header("content-length", length);
        for (k, v) in &signed {
            if *k != "host" {
                req = req.header(*k, *v);
            }
        }
        let req = req.body(body)?;
        let resp = tokio::time::timeout(TIMEOUT, self.client.request(req))
            .await
            .map_err(|_| anyhow::anyhow!("the S3 endpoint did not answer within 30 s"))??;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// Store the file at `path` under `key`, read as it is sent (a backup of gigabytes never
    /// sits in memory).
    pub async fn put_file(
        &self,
        key: &str,
        path: &std::path::Path,
        content_type: &str,
    ) -> anyhow::Result<()> {
        use tokio::io::AsyncReadExt;
        let file = tokio::fs::File::open(path).await?;
        let length = file.metadata().await?.len();
        let chunks = futures_util::stream::unfold(file, |mut file| async move {
            let mut buf = vec![0u8; 256 * 1024];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(hyper::body::Frame::data(Bytes::from(buf))), file))
                }
                Err(e) => Some((Err(e), file)),
            }
        });
        let body = StreamBody::new(chunks).boxed();
        let (status, answer) = self
            .send_body(
                hyper::Method::PUT,
                key,
                body,
                "UNSIGNED-PAYLOAD",
                length,
                Some(content_type),
            )
            .await?;
        anyhow::ensure!(
            status.is_success(),
            "S3 PUT {key}: {status}: {}",
            String::from_utf8_lossy(&answer[..answer.len().min(300)])
        );
        Ok(())
    }

    /// Remove the object under `key` (nothing to remove is not an error).
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let (status, body) = self.send(hyper::Method::DELETE, key, vec![], None).await?;
        anyhow::ensure!(
            status.is_success() || status == hyper::StatusCode::NOT_FOUND,
            "S3 DELETE {key}: {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
        Ok(())
    }

    /// Store `bytes` under `key` (replacing what was there).
    pub async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> anyhow::Result<()> {
        let (status, body) = self
            .send(hyper::Method::PUT, key, bytes, Some(content_type))
            .await?;
        anyhow::ensure!(
            status.is_success(),
            "S3 PUT {key}: {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
        Ok(())
    }

    /// The object under `key`, or `None` if there is none.
    pub async fn get(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let (status, body) = self.send(hyper::Method::GET, key, vec![], None).await?;
        if status == hyper::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        anyhow::ensure!(
            status.is_success(),
            "S3 GET {key}: {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
        Ok(Some(body.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of Amazon's Signature Version 4 documentation for S3 ("GET Object",
    /// `examplebucket`, `Range: bytes=0-9`), which other implementations test against too.
    #[test]
    fn signs_as_amazon_documents() {
        let c = Credentials {
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            region: "us-east-1".into(),
        };
        let empty = hex_sha256(b"");
        assert_eq!(
            empty,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let at = DateTime::parse_from_rfc3339("2013-05-24T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let auth = authorization(
            &c,
            "GET",
            "/test.txt",
            &[
                ("host", "examplebucket.s3.amazonaws.com"),
                ("range", "bytes=0-9"),
                ("x-amz-content-sha256", &empty),
                ("x-amz-date", "20130524T000000Z"),
            ],
            &empty,
            at,
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,\
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn paths_are_encoded_segment_by_segment() {
        assert_eq!(
            encode_path("/b/photos/ab/ab12.jpg"),
            "/b/photos/ab/ab12.jpg"
        );
        assert_eq!(encode_path("/b/a b+c"), "/b/a%20b%2Bc");
    }

    #[test]
    fn only_plain_http_endpoints() {
        let c = Credentials {
            access_key: "k".into(),
            secret_key: "s3cr3t-value".into(),
            region: "us-east-1".into(),
        };
        assert!(Bucket::new("ftp://s3.amazonaws.com", "b", c.clone(), None).is_err());
        assert!(Bucket::new("http://minio:9000/", "", c.clone(), None).is_err());
        assert!(Bucket::new("https://s3.amazonaws.com", "b", c.clone(), None).is_ok());
        let b = Bucket::new("http://minio:9000/", "photos", c, None).unwrap();
        assert_eq!(b.host, "minio:9000");
        assert!(!format!("{b:?}").contains("s3cr3t"), "no secret in logs");
    }
}
