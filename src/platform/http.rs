//! The one client for outbound HTTP and HTTPS: the file bucket (S3), the SMS gateway, and any
//! gateway a service talks to. HTTPS is rustls, trusting the machine's certificate authorities
//! (Debian's `ca-certificates`) and, with `tls_ca_file`, a government's own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// A connector that speaks `http://` and `https://`.
pub type Connector = HttpsConnector<HttpConnector>;

/// TLS settings, made once per extra-authority file (reading the system's authorities takes a
/// moment; a process reads them once).
fn tls(ca_file: Option<&Path>) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    static MADE: OnceLock<Mutex<HashMap<Option<PathBuf>, Arc<rustls::ClientConfig>>>> =
        OnceLock::new();
    let made = MADE.get_or_init(Default::default);
    let key = ca_file.map(Path::to_path_buf);
    if let Some(c) = made.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(c.clone());
    }
    let mut roots = rustls::RootCertStore::empty();
    let system = rustls_native_certs::load_native_certs();
    for cert in system.certs {
        // A certificate the store cannot use is skipped, as browsers do.
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        use rustls::pki_types::pem::PemObject;
        let mut added = 0;
        for cert in rustls::pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| anyhow::anyhow!("tls_ca_file {}: {e}", path.display()))?
        {
            let cert = cert.map_err(|e| anyhow::anyhow!("tls_ca_file {}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| anyhow::anyhow!("tls_ca_file {}: {e}", path.display()))?;
            added += 1;
        }
        anyhow::ensure!(
            added > 0,
            "tls_ca_file {}: no certificate in it (PEM, BEGIN CERTIFICATE)",
            path.display()
        );
    }
    if roots.is_empty() {
        // Plain http still works; an https address will fail its handshake, saying why.
        tracing::warn!("no certificate authorities to trust for https: install ca-certificates, or set tls_ca_file");
    }
    // ring, not aws-lc: aws-lc needs cmake and a C build that would double the build's time.
    // rustls marks ring's provider deprecated for lacking post-quantum key exchange; the
    // classical TLS 1.3 and 1.2 suites it offers are what S3 and SMS gateways speak today.
    #[allow(deprecated)]
    let provider = rustls::crypto::ring::default_provider();
    let config = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| anyhow::anyhow!("TLS: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    made.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, config.clone());
    Ok(config)
}

/// A client for `http://` and `https://` addresses, with bodies of type `B`.
pub fn client<B>(ca_file: Option<&Path>) -> anyhow::Result<Client<Connector, B>>
where
    B: hyper::body::Body + Send,
    B::Data: Send,
{
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config((*tls(ca_file)?).clone())
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// An answer read whole: its status, content type and body.
pub struct Answer {
    pub status: hyper::StatusCode,
    pub content_type: String,
    pub body: axum::body::Bytes,
}

/// Send `req` and read the answer, giving up after `timeout` and refusing a body larger than
/// `max_bytes` (a gateway's answer is small; a media file has the channel's own limit).
pub async fn fetch(
    ca_file: Option<&Path>,
    req: hyper::Request<http_body_util::Full<axum::body::Bytes>>,
    timeout: std::time::Duration,
    max_bytes: usize,
) -> anyhow::Result<Answer> {
    use http_body_util::BodyExt;
    let host = req.uri().host().unwrap_or("?").to_owned();
    let client = client(ca_file)?;
    let work = async {
        let resp = client.request(req).await?;
        let status = resp.status();
        let content_type = resp
            .headers()
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = http_body_util::Limited::new(resp.into_body(), max_bytes)
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("{host}: {e}"))?
            .to_bytes();
        anyhow::Ok(Answer {
            status,
            content_type,
            body,
        })
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| anyhow::anyhow!("{host} did not answer within {} s", timeout.as_secs()))?
}
