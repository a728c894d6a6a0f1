//! The deployment's secret keys, kept outside the database: a key file (`secret.key` in the
//! data directory, or `secret_key_file`), readable by the service's user only. Whoever reads
//! the database alone — a leaked backup, a query that got past every wall — can neither check
//! a guessed sign-in code, session, invitation link or API key against what is stored, nor
//! reverse the pseudonyms of impact events by hashing candidate phone numbers.
//!
//! - Every token and one-time code is stored as `HMAC(tokens key, SHA-256(token))` ([`digest`]).
//!   The inner SHA-256 is what releases before this one stored, so an existing database moves
//!   to keyed digests in place without signing anyone out ([`open`]).
//! - Citizens' pseudonyms use the pseudonym key. Releases before this one kept that key in the
//!   database (`platform_secrets`); it moves into the key file on the first start, so earlier
//!   pseudonyms (and a citizen's theory scores filed under theirs) stay the same.
//! - The database keeps a fingerprint of the tokens key: a node started with another key file
//!   (a second node that was not given the first's, a lost file) refuses to start, rather than
//!   sign everybody out and refuse every API key.
//!
//! The keys are the process's: one process serves one deployment, as with its configuration.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::config::Config;
use super::db::{query, Db};

/// The keys of this deployment.
#[derive(Clone, PartialEq, Eq)]
pub struct Keys {
    tokens: Vec<u8>,
    pseudonyms: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(…)")
    }
}

static KEYS: OnceLock<Keys> = OnceLock::new();

fn mac(key: &[u8], data: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    m.update(data);
    hex::encode(m.finalize().into_bytes())
}

/// The keys in use. Tests of the library itself use fixed ones; the program loads its own with
/// [`open`] before anything reads or writes a secret.
pub fn keys() -> &'static Keys {
    #[cfg(test)]
    {
        KEYS.get_or_init(|| Keys {
            tokens: b"unit tests' tokens key".to_vec(),
            pseudonyms: "unit tests' pseudonym key".into(),
        })
    }
    #[cfg(not(test))]
    {
        KEYS.get()
            .expect("the secret keys are loaded at start (platform::secrets::open)")
    }
}

/// The stored form of a token, code or key: keyed, so the database alone cannot check a guess.
pub fn digest(token: &str) -> String {
    rekey(&hex::encode(Sha256::digest(token.as_bytes())))
}

/// A digest as releases before keyed digests stored it, made keyed.
fn rekey(unkeyed: &str) -> String {
    mac(&keys().tokens, unkeyed.as_bytes())
}

/// A password derived from the deployment's key for `purpose` (the same on every node).
pub fn derived_password(purpose: &str) -> String {
    mac(
        &keys().tokens,
        format!("khidmat password: {purpose}").as_bytes(),
    )
}

/// The token a browser's forms carry: its form cookie's random value bound to the sessions the
/// browser holds (staff, citizen), so a token is worth nothing with another session, and a
/// cookie planted in the browser (by a sibling site, or over plain HTTP) does not tell its
/// planter the token.
pub fn form_token(cookie: &str, sessions: &[&str]) -> String {
    let mut data = format!("khidmat form token\0{cookie}");
    for s in sessions {
        data.push('\0');
        data.push_str(s);
    }
    mac(&keys().tokens, data.as_bytes())
}

/// The key citizens' pseudonyms are made with (see `platform::impact`).
pub fn pseudonym_key() -> &'static str {
    &keys().pseudonyms
}

/// A fingerprint of the tokens key, kept in the database to notice another key file.
fn fingerprint(k: &Keys) -> String {
    mac(&k.tokens, b"khidmat key fingerprint")
}

/// Where the key file is.
pub fn path(config: &Config) -> PathBuf {
    config
        .secret_key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join("secret.key"))
}

/// The key file's lines: `tokens = <hex>` and `pseudonyms = <text>`.
fn parse(text: &str, file: &Path) -> anyhow::Result<(Vec<u8>, Option<String>)> {
    let mut tokens = None;
    let mut pseudonyms = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            anyhow::bail!("{}: cannot read the line {line:?}", file.display());
        };
        match name.trim() {
            "tokens" => tokens = Some(hex::decode(value.trim())?),
            "pseudonyms" => pseudonyms = Some(value.trim().to_owned()),
            other => anyhow::bail!("{}: unknown key {other:?}", file.display()),
        }
    }
    match tokens {
        Some(t) if t.len() >= 32 => Ok((t, pseudonyms)),
        _ => anyhow::bail!(
            "{}: no `tokens` key of at least 32 bytes; restore the file from a backup (or delete it on a new installation)",
            file.display()
        ),
    }
}

/// Write the key file, readable by its owner only, in full or not at all.
fn write(file: &Path, tokens: &[u8], pseudonyms: Option<&str>) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = file.with_extension("key.new");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    writeln!(
        f,
        "# Khidmat's secret keys: back this file up apart from the database, and give every node\n\
         # the same one. Without it, sessions, API keys and links stop working.\ntokens = {}",
        hex::encode(tokens)
    )?;
    if let Some(p) = pseudonyms {
        writeln!(f, "pseudonyms = {p}")?;
    }
    f.sync_all()?;
    std::fs::rename(&tmp, file)?;
    Ok(())
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Load the key file (making it on a new installation), bring the database to keyed secrets if
/// it is not yet, check the database was used with these keys, and put them in use.
pub async fn open(config: &Config, db: &Db) -> anyhow::Result<()> {
    let file = path(config);
    let (tokens, pseudonyms) = match std::fs::read_to_string(&file) {
        Ok(text) => parse(&text, &file)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let t = hex::decode(random_hex(32)).expect("hex");
            write(&file, &t, None)?;
            (t, None)
        }
        Err(e) => anyhow::bail!("cannot read the key file {}: {e}", file.display()),
    };
    let stored: Option<(String,)> = db
        .fetch_optional(
            query("SELECT value FROM platform_secrets WHERE name = $1").bind("key-fingerprint"),
        )
        .await?;
    // The pseudonym key: the file's, else the one an earlier release kept in the database, else
    // a new one; it is then kept in the file only.
    let legacy: Option<(String,)> = db
        .fetch_optional(
            query("SELECT value FROM platform_secrets WHERE name = $1").bind("impact-citizen"),
        )
        .await?;
    let pseudonyms = match (pseudonyms, &legacy) {
        (Some(p), _) => p,
        (None, Some((p,))) => {
            write(&file, &tokens, Some(p))?;
            p.clone()
        }
        (None, None) => {
            if stored.is_some() {
                anyhow::bail!(
                    "the key file {} has no pseudonym key, but this database was used with one: restore the file from a backup",
                    file.display()
                );
            }
            let p = random_hex(32);
            write(&file, &tokens, Some(&p))?;
            p
        }
    };
    let keys = Keys { tokens, pseudonyms };
    let fp = fingerprint(&keys);
    match &stored {
        Some((f,)) if !super::identity::same_secret(f, &fp) => anyhow::bail!(
            "the key file {} is not the one this database was used with: restore it from a backup, or copy it from the first node (see docs/SECURITY.md)",
            file.display()
        ),
        _ => {}
    }
    if let Err(other) = KEYS.set(keys.clone()) {
        anyhow::ensure!(
            other == keys,
            "this process already serves a deployment with other keys"
        );
    }
    if stored.is_none() {
        adopt(db, &fp).await?;
    }
    if legacy.is_some() {
        db.execute(query("DELETE FROM platform_secrets WHERE name = $1").bind("impact-citizen"))
            .await?;
    }
    if let Err(e) = db
        .open_untrusted(&derived_password(super::db::DATASTORE_READER))
        .await
    {
        // Untrusted SQL then stays refused; everything else works.
        tracing::warn!(
            "datastore_search_sql is off: cannot set up the role {} ({e}); see docs/SECURITY.md",
            super::db::DATASTORE_READER
        );
    }
    Ok(())
}

/// Where releases before keyed digests stored unkeyed ones: table, its key column, the digest.
const DIGESTS: &[(&str, &str)] = &[
    ("api_keys", "key_hash"),
    ("sessions", "token_hash"),
    ("citizen_sessions", "token_hash"),
    ("user_links", "token_hash"),
    ("campaign_orgs", "email_token"),
];

/// Bring a database to keyed digests, in one transaction: each stored SHA-256 becomes its HMAC
/// (so every session, key and link goes on working); outstanding one-time codes are dropped
/// (they last minutes); then the fingerprint is recorded.
async fn adopt(db: &Db, fingerprint: &str) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    // The fingerprint first: a second node adopting at the same moment waits on this row and
    // then fails, rather than keying the digests twice.
    tx.execute(
        query("INSERT INTO platform_secrets (name, value) VALUES ($1, $2)")
            .bind("key-fingerprint")
            .bind(fingerprint),
    )
    .await?;
    for (table, column) in DIGESTS {
        let old: Vec<(String,)> = tx
            .fetch_all(query(format!(
                "SELECT {column} FROM {table} WHERE {column} IS NOT NULL"
            )))
            .await?;
        for (d,) in old {
            tx.execute(
                query(format!(
                    "UPDATE {table} SET {column} = $1 WHERE {column} = $2"
                ))
                .bind(rekey(&d))
                .bind(&d),
            )
            .await?;
        }
    }
    tx.execute(query("DELETE FROM otp_codes")).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_keyed_and_extend_the_old_ones() {
        let old = hex::encode(Sha256::digest(b"token"));
        assert_ne!(digest("token"), old);
        assert_eq!(digest("token"), rekey(&old));
        assert_eq!(digest("token").len(), 64);
    }

    #[test]
    fn the_key_file_round_trips_and_bad_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("secret.key");
        write(&f, &[7u8; 32], Some("p")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let (t, p) = parse(&std::fs::read_to_string(&f).unwrap(), &f).unwrap();
        assert_eq!((t, p.as_deref()), (vec![7u8; 32], Some("p")));
        assert!(parse("tokens = 00", &f).is_err());
        assert!(parse("nonsense", &f).is_err());
    }
}
