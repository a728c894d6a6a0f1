//! Configuration: defaults, then a TOML file, then `KHIDMAT_*` environment variables, then the
//! command line. Every key of the file has an environment twin: `rate_limit_per_minute` is
//! `KHIDMAT_RATE_LIMIT_PER_MINUTE`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Messages the development gateways delivered, newest last: `(outbox, id, to, text)` where
/// `outbox` is `sms` or `mail` and `id` the outbox row's; at most [`Delivered::KEEP`]. Shared
/// by the clones of one configuration (one deployment).
#[derive(Debug, Clone, Default)]
pub struct Delivered(std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<Message>>>);

/// One delivered message: `(outbox, id, to, text)`.
type Message = (&'static str, i64, String, String);

impl Delivered {
    pub const KEEP: usize = 200;

    pub fn push(&self, outbox: &'static str, id: i64, to: &str, text: &str) {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() == Self::KEEP {
            q.pop_front();
        }
        q.push_back((outbox, id, to.to_owned(), text.to_owned()));
    }

    /// The text of the message of that outbox row, once delivered.
    pub fn text_of(&self, outbox: &str, id: i64) -> Option<String> {
        let q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        q.iter()
            .rev()
            .find(|(o, i, _, _)| *o == outbox && *i == id)
            .map(|(_, _, _, t)| t.clone())
    }
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on. Port 0 picks a free port (tests).
    pub listen: String,
    /// Holds the SQLite database (`khidmat.db`) and, unless `files_dir` or `file_store` say
    /// otherwise, the photos and documents.
    pub data_dir: PathBuf,
    /// The secret key file (default: `secret.key` in `data_dir`): what tokens and codes are
    /// stored keyed with, outside the database. Every node of a deployment needs the same one.
    pub secret_key_file: Option<PathBuf>,
    /// Where photos and documents are kept: `dir` (under `files_dir`) or `s3` (a bucket).
    pub file_store: String,
    /// For `file_store = "dir"`: the directory (default: `data_dir`). Nodes that share a
    /// database must share this too: a network mount, or use `s3`.
    pub files_dir: Option<PathBuf>,
    /// For `file_store = "s3"`: the endpoint (`https://s3.example.gov.pk`, or `http://minio:9000`
    /// on a private network), bucket, region and keys (`KHIDMAT_S3_SECRET_KEY` keeps the secret
    /// out of the file).
    pub s3_endpoint: String,
    pub s3_bucket: String,
    pub s3_region: String,
    pub s3_access_key: String,
    pub s3_secret_key: Option<String>,
    /// Where PostgreSQL's programs (`pg_dump`, `pg_restore`) are, if not on the `PATH`
    /// (`/usr/lib/postgresql/15/bin`).
    pub pg_bin_dir: Option<PathBuf>,
    /// `postgres://…` switches the store to PostgreSQL; absent means embedded SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// The address citizens reach this server at, for links in responses (photo URLs, tracking).
    pub public_url: Option<String>,
    /// Load the demo service packs on first start.
    pub demo: bool,
    /// `text` (human) or `json` (one object per line, for log shippers).
    pub log_format: String,
    /// Largest photo accepted, in bytes.
    pub max_photo_bytes: usize,
    /// Photos are scaled down to fit this many pixels on their longest side.
    pub photo_max_side: u32,
    /// Public writes (report submissions) allowed per client IP per minute; 0 turns the limit off.
    pub rate_limit_per_minute: u32,
    /// How many reverse proxies of your own stand in front of the server: the client's address
    /// is then read from `X-Forwarded-For`, that many hops from the right (0: the connection's
    /// address). Only where nothing reaches the server except through those proxies.
    pub trusted_proxies: u32,
    /// Older name for `trusted_proxies = 1`.
    pub trust_forwarded_for: bool,
    /// Who may read `/metrics`: clients at these addresses (as `trusted_proxies` reads them),
    /// or anyone sending `Authorization: Bearer <metrics_token>`. Others get 404.
    pub metrics_addresses: Vec<String>,
    /// See `metrics_addresses` (`KHIDMAT_METRICS_TOKEN`).
    pub metrics_token: Option<String>,
    /// Back up the embedded SQLite database this often into `data_dir/backups` (0: never).
    pub backup_every_hours: i64,
    /// Scheduled backups kept; older ones are deleted.
    pub backup_keep: usize,
    /// A bucket (at `s3_endpoint`, with the `s3_` keys) that every scheduled backup is copied to
    /// once verified, with the same retention; empty: the backups stay on this machine only.
    pub backup_bucket: String,
    /// How long a staff login lasts.
    pub session_hours: i64,
    /// How long a citizen stays signed in (by a code sent to their phone).
    pub citizen_session_days: i64,
    /// A new report this close to an open report of the same service is a possible duplicate…
    pub duplicate_radius_m: f64,
    /// …if that report is at most this many hours old.
    pub duplicate_window_hours: i64,
    /// Open311 `GET requests`: rows per page by default, and at most.
    pub page_size: i64,
    pub max_page_size: i64,
    /// Background job workers in this process (0: this node runs no jobs).
    pub job_workers: usize,
    /// Contact shown in the Open311 discovery document.
    pub contact: String,
    /// Map tiles behind the web maps, as a `{z}/{x}/{y}` template; empty draws the maps without
    /// tiles. The maps show their points either way, so a phone that cannot reach the tile server
    /// still sees where the reports are.
    pub map_tile_url: String,
    /// Who the tiles are from, shown under every map that uses them.
    pub map_attribution: String,
    /// The SMS short code citizens text for a report's status (shown on the receipt page).
    pub sms_number: String,
    /// The secret of every inbound gateway that has none of its own (`KHIDMAT_CHANNEL_SECRET`).
    /// A gateway with no secret at all is switched off.
    pub channel_secret: Option<String>,
    /// SMSSync's secret (`secret` form field).
    pub smssync_secret: Option<String>,
    /// The Africa's-Talking-style callbacks' secret (`?key=`).
    pub africastalking_secret: Option<String>,
    /// How SMS go out: `log` (development: written to the log), `smssync` (an Android phone
    /// running SMSSync collects them), or `http` (a GET to `sms_http_url`, as Kannel and most
    /// local aggregators take).
    pub sms_gateway: String,
    /// For `sms_gateway = "http"`: the address, with `{to}` (E.164) and `{text}` (UTF-8,
    /// URL-encoded) put in. A 2xx answer means sent.
    pub sms_http_url: String,
    /// SMS (in or out) per phone number per minute; 0: no limit.
    pub sms_per_number_per_minute: u32,
    /// Inbound requests per gateway per minute; 0: no limit.
    pub gateway_per_minute: u32,
    /// WhatsApp (the Cloud API): the business phone number's id, which messages are sent from.
    /// Unset: the channel is off.
    pub whatsapp_phone_number_id: Option<String>,
    /// The access token messages and media are fetched and sent with (`Authorization: Bearer`).
    pub whatsapp_access_token: Option<String>,
    /// The app secret inbound notifications are signed with (`X-Hub-Signature-256`).
    pub whatsapp_app_secret: Option<String>,
    /// The token Meta sends when the webhook is set up (`hub.verify_token`).
    pub whatsapp_verify_token: Option<String>,
    /// The Graph API's versioned base address (tests and staging point it at a local fake).
    pub whatsapp_api_base: String,
    /// The approved message template a status change goes out as when the citizen has not
    /// written in the last 24 hours (its body takes the reference, the status and the note);
    /// unset: such a change goes by SMS.
    pub whatsapp_status_template: Option<String>,
    /// The voice gateway's dialect: `africastalking` or `twilio`.
    pub voice_gateway: String,
    /// Twilio's auth token: when set, `X-Twilio-Signature` is checked on every voice request
    /// (and, with `twilio_account_sid`, calls are placed with it).
    pub twilio_auth_token: Option<String>,
    /// The number status calls are placed from; unset: a report made by a call hears of its
    /// changes by SMS only.
    pub voice_call_from: Option<String>,
    /// Twilio's account, for placing calls.
    pub twilio_account_sid: Option<String>,
    /// Twilio's REST API (tests and staging point it at a local fake).
    pub twilio_api_base: String,
    /// Africa's Talking's application username and API key, for placing calls.
    pub africastalking_username: Option<String>,
    pub africastalking_api_key: Option<String>,
    /// Africa's Talking's voice API.
    pub africastalking_voice_base: String,
    /// A USSD session left idle this long is over.
    pub ussd_session_minutes: i64,
    /// `datastore_search_sql`: a query running longer is stopped (its wait for a turn does
    /// not count).
    pub sql_time_limit_seconds: u64,
    /// The department (slug) that runs the innovation programme: its managers run cycles,
    /// partners and projects, its officers review applications. Administrators may do all.
    pub programme_department: String,
    /// The department (slug) that verifies campaign organisations and reviews their projects
    /// (its managers and officers); administrators may too, and only they set the policy.
    pub campaigns_department: String,
    /// The department (slug) that publishes the platform's own open data (`reports-weekly`,
    /// `impact-weekly`, …) and that the DCAT catalogue names as its publisher.
    pub opendata_publisher: String,
    /// How e-mail goes out: `log` (development: written to the log) or `sendmail` (handed to
    /// the machine's mail transfer agent, which relays it as its own configuration says).
    pub mail_gateway: String,
    /// What the development gateways (`log`) delivered: not configuration, but where a
    /// developer's test reads a code or link as the phone or mailbox would, now that the
    /// outbox keeps no secret once a message has left.
    #[serde(skip)]
    pub delivered: Delivered,
    /// The sender of every e-mail.
    pub mail_from: String,
    /// For `mail_gateway = "sendmail"`: the program, run as `COMMAND -t -i`.
    pub mail_sendmail_command: String,
    /// Lookups of one register key (a CNIC, a challan number) per minute, from anyone, on every
    /// node together; 0: no limit.
    pub register_lookups_per_key_per_minute: u32,
    /// Certificate authorities (a PEM file) trusted for outbound https — the bucket, the SMS
    /// gateway — beside the machine's own (Debian's ca-certificates): a government's own CA.
    pub tls_ca_file: Option<PathBuf>,
    /// The push services Web Push messages may be posted to (a host; `.example.com` for any
    /// host under it): the browsers' own. An endpoint elsewhere is refused when a browser
    /// subscribes, so nobody can make the server post to an address of their choosing.
    pub push_hosts: Vec<String>,
    /// Who push services may contact about this deployment's messages (`mailto:` or `https:`);
    /// unset: the public address, else the sender of e-mail.
    pub push_contact: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("khidmat-data"),
            secret_key_file: None,
            file_store: "dir".into(),
            files_dir: None,
            s3_endpoint: String::new(),
            s3_bucket: String::new(),
            s3_region: "us-east-1".into(),
            s3_access_key: String::new(),
            s3_secret_key: None,
            pg_bin_dir: None,
            database_url: None,
            public_url: None,
            demo: false,
            log_format: "text".into(),
            max_photo_bytes: 8 * 1024 * 1024,
            photo_max_side: 1600,
            rate_limit_per_minute: 30,
            trusted_proxies: 0,
            metrics_addresses: vec!["127.0.0.1".into(), "::1".into()],
            metrics_token: None,
            trust_forwarded_for: false,
            backup_every_hours: 24,
            backup_keep: 14,
            backup_bucket: String::new(),
            session_hours: 12,
            citizen_session_days: 30,
            duplicate_radius_m: 50.0,
            duplicate_window_hours: 48,
            page_size: 100,
            max_page_size: 1000,
            job_workers: 1,
            contact: "Khyber Pakhtunkhwa citizen services".into(),
            map_tile_url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png".into(),
            map_attribution: "© OpenStreetMap contributors".into(),
            sms_number: "8311".into(),
            whatsapp_phone_number_id: None,
            whatsapp_access_token: None,
            whatsapp_app_secret: None,
            whatsapp_verify_token: None,
            whatsapp_api_base: "https://graph.facebook.com/v21.0".into(),
            whatsapp_status_template: None,
            voice_gateway: "africastalking".into(),
            twilio_auth_token: None,
            voice_call_from: None,
            twilio_account_sid: None,
            twilio_api_base: "https://api.twilio.com".into(),
            africastalking_username: None,
            africastalking_api_key: None,
            africastalking_voice_base: "https://voice.africastalking.com".into(),
            channel_secret: None,
            smssync_secret: None,
            africastalking_secret: None,
            delivered: Delivered::default(),
            sms_gateway: "log".into(),
            sms_http_url: String::new(),
            sms_per_number_per_minute: 10,
            gateway_per_minute: 1200,
            ussd_session_minutes: 5,
            sql_time_limit_seconds: 5,
            programme_department: "kp-itb".into(),
            campaigns_department: "kp-itb".into(),
            opendata_publisher: "kp-itb".into(),
            mail_gateway: "log".into(),
            mail_from: "Khidmat <no-reply@localhost>".into(),
            mail_sendmail_command: "/usr/sbin/sendmail".into(),
            register_lookups_per_key_per_minute: 5,
            push_hosts: [
                "fcm.googleapis.com",
                "updates.push.services.mozilla.com",
                ".notify.windows.com",
                ".push.apple.com",
            ]
            .iter()
            .map(|h| h.to_string())
            .collect(),
            push_contact: None,
            tls_ca_file: None,
        }
    }
}

impl Config {
    /// The contact in Web Push's VAPID tokens: `push_contact`, the public address, or the
    /// e-mail sender.
    pub fn push_subject(&self) -> String {
        if let Some(c) = &self.push_contact {
            return c.clone();
        }
        if let Some(u) = self
            .public_url
            .as_deref()
            .filter(|u| u.starts_with("https://"))
        {
            return u.trim_end_matches('/').to_string();
        }
        let address = self
            .mail_from
            .rsplit_once('<')
            .map_or(self.mail_from.as_str(), |(_, a)| a.trim_end_matches('>'));
        format!("mailto:{}", address.trim())
    }

    /// The address clients reach us at: `public_url` if configured, else taken from the
    /// request's `Host`.
    pub fn base_url(&self, headers: &axum::http::HeaderMap) -> String {
        if let Some(u) = &self.public_url {
            return u.trim_end_matches('/').to_string();
        }
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    }

    /// Defaults, overlaid by `file` (if given, it must exist) and by `KHIDMAT_*` variables of `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Config> {
        let mut table = toml::Table::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
            table = text
                .parse::<toml::Table>()
                .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
        }
        for (key, raw) in env {
            let Some(name) = key.strip_prefix("KHIDMAT_") else {
                continue;
            };
            let name = name.to_ascii_lowercase();
            // Typed where it parses as a TOML value (numbers, booleans), a string otherwise.
            let value = format!("v = {raw}")
                .parse::<toml::Table>()
                .ok()
                .and_then(|mut t| t.remove("v"))
                .filter(|v| !v.is_table() && !v.is_array())
                .unwrap_or(toml::Value::String(raw));
            table.insert(name, value);
        }
        let config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.page_size >= 1 && self.page_size <= self.max_page_size,
            "page_size must be between 1 and max_page_size"
        );
        anyhow::ensure!(
            matches!(self.log_format.as_str(), "text" | "json"),
            "log_format must be \"text\" or \"json\""
        );
        anyhow::ensure!(
            matches!(self.sms_gateway.as_str(), "log" | "smssync" | "http"),
            "sms_gateway must be \"log\", \"smssync\" or \"http\""
        );
        anyhow::ensure!(
            self.sms_gateway != "http" || http_gateway_url_ok(&self.sms_http_url),
            "sms_http_url must be an https:// (or http://) address with {{to}} and {{text}} in it"
        );
        anyhow::ensure!(
            matches!(self.voice_gateway.as_str(), "africastalking" | "twilio"),
            "voice_gateway must be \"africastalking\" or \"twilio\""
        );
        for (name, base) in [
            ("twilio_api_base", &self.twilio_api_base),
            ("africastalking_voice_base", &self.africastalking_voice_base),
        ] {
            anyhow::ensure!(
                base.starts_with("https://") || base.starts_with("http://"),
                "{name} must be an https:// (or http://) address"
            );
        }
        anyhow::ensure!(
            self.whatsapp_api_base.starts_with("https://")
                || self.whatsapp_api_base.starts_with("http://"),
            "whatsapp_api_base must be an https:// (or http://) address"
        );
        anyhow::ensure!(
            matches!(self.file_store.as_str(), "dir" | "s3"),
            "file_store must be \"dir\" or \"s3\""
        );
        // A bucket is reached at an http(s) endpoint, with both keys.
        let s3_reachable = (self.s3_endpoint.starts_with("https://")
            || self.s3_endpoint.starts_with("http://"))
            && !self.s3_access_key.is_empty()
            && given(&self.s3_secret_key);
        anyhow::ensure!(
            self.file_store != "s3" || (s3_reachable && !self.s3_bucket.is_empty()),
            "file_store = \"s3\" needs s3_endpoint (https://…), s3_bucket, s3_access_key and s3_secret_key"
        );
        anyhow::ensure!(
            self.backup_bucket.is_empty() || s3_reachable,
            "backup_bucket needs s3_endpoint (https://…), s3_access_key and s3_secret_key"
        );
        anyhow::ensure!(
            self.photo_max_side >= 64,
            "photo_max_side must be at least 64"
        );
        Ok(())
    }

    /// The reverse proxies in front (see `trusted_proxies`).
    pub fn proxies(&self) -> u32 {
        self.trusted_proxies
            .max(u32::from(self.trust_forwarded_for))
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("khidmat.db")
    }

    /// The directory photos and documents are kept under, for `file_store = "dir"`.
    pub fn files_dir(&self) -> PathBuf {
        self.files_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.clone())
    }
}

/// An HTTP SMS gateway's address: `http://`, with `{to}` and `{text}` to fill in.
pub fn http_gateway_url_ok(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.contains("{to}")
        && url.contains("{text}")
}

/// Is an optional setting given (present and not empty)?
pub fn given(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_file_and_keeps_types() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k.toml");
        std::fs::write(&file, "page_size = 20\ncontact = \"file\"\n").unwrap();
        let env = vec![
            ("KHIDMAT_CONTACT".to_string(), "help desk".to_string()),
            ("KHIDMAT_RATE_LIMIT_PER_MINUTE".to_string(), "0".to_string()),
            ("OTHER".to_string(), "x".to_string()),
        ];
        let c = Config::load(Some(&file), env).unwrap();
        assert_eq!(c.page_size, 20);
        assert_eq!(c.contact, "help desk");
        assert_eq!(c.rate_limit_per_minute, 0);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let env = vec![("KHIDMAT_NO_SUCH_THING".to_string(), "1".to_string())];
        let err = Config::load(None, env).unwrap_err().to_string();
        assert!(err.contains("no_such_thing"), "{err}");
        let env = vec![("KHIDMAT_PAGE_SIZE".to_string(), "0".to_string())];
        assert!(Config::load(None, env).is_err());
    }
}

#[cfg(test)]
mod deployed_file {
    use super::Config;

    /// deploy/khidmat.toml (the package's /etc/khidmat/khidmat.toml) names every key, each
    /// default is the code's, and with every line uncommented it is a valid configuration.
    #[test]
    fn the_packaged_configuration_names_every_key_with_its_default() {
        let text = include_str!("../../deploy/khidmat.toml");
        let keys = serde_json::to_value(Config::default()).unwrap();
        let keys = keys.as_object().unwrap();
        let mut uncommented = String::new();
        let mut seen = Vec::new();
        for line in text.lines() {
            let line = line.strip_prefix("# ").unwrap_or(line);
            if let Some((k, _)) = line.split_once(" = ") {
                if k.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                {
                    seen.push(k.to_owned());
                    uncommented.push_str(line);
                    uncommented.push('\n');
                }
            }
        }
        for k in keys.keys() {
            assert!(seen.contains(k), "deploy/khidmat.toml does not name {k}");
        }
        let all: toml::Table = uncommented.parse().expect("every line reads as TOML");
        let defaults = toml::Table::try_from(Config::default()).unwrap();
        for (k, v) in &all {
            if matches!(k.as_str(), "data_dir" | "listen") || !defaults.contains_key(k) {
                continue; // the package's own choices, and keys whose default is "none"
            }
            assert_eq!(
                Some(v),
                defaults.get(k),
                "{k}: the file's default is not the code's"
            );
        }
        let _: Config = toml::Value::Table(all)
            .try_into()
            .expect("the file, all uncommented, is a configuration");
    }
}
