//! Outbound e-mail: every message goes into `mail_outbox` inside the transaction of what caused
//! it (an address to verify, a pledge accepted), and a job delivers it through the configured
//! gateway: `log` writes it to the log (development); `sendmail` hands it to the machine's mail
//! transfer agent (`sendmail -t -i`, which Postfix, Exim and msmtp all provide), so relays,
//! TLS and credentials stay the operator's mail configuration, not Khidmat's. Failed attempts are
//! retried with the job queue's back-off; after the last one the message is `dead`.

use std::process::Stdio;

use base64::Engine;
use chrono::Utc;
use tokio::io::AsyncWriteExt;

use super::config::Config;
use super::db::{query, Db, Tx};
use super::jobs;
use super::outbox::{self, Outbox};

pub const JOB_KIND: &str = "mail.send";

/// The `mail.send` job: one attempt at one message of the outbox.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Send {
    /// The outbox row.
    pub id: i64,
}

impl jobs::Job for Send {
    const KIND: &'static str = JOB_KIND;
}

/// Queue a message to `to` in the caller's transaction.
pub async fn queue(
    tx: &mut Tx,
    config: &Config,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<i64, sqlx::Error> {
    enqueue(tx, config, to, subject, body, false).await
}

/// Queue a message that carries a secret (an invitation, password-reset or confirmation
/// link): its body is removed from the outbox once it has left.
pub async fn queue_secret(
    tx: &mut Tx,
    config: &Config,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<i64, sqlx::Error> {
    enqueue(tx, config, to, subject, body, true).await
}

async fn enqueue(
    tx: &mut Tx,
    config: &Config,
    to: &str,
    subject: &str,
    body: &str,
    sensitive: bool,
) -> Result<i64, sqlx::Error> {
    let (id,): (i64,) = tx
        .fetch_one(
            query(
                "INSERT INTO mail_outbox (to_addr, subject, body, gateway, status, attempts, created_at, sensitive) \
                 VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6) RETURNING id",
            )
            .bind(to.trim())
            .bind(subject)
            .bind(body)
            .bind(&config.mail_gateway)
            .bind(Utc::now())
            .bind(sensitive),
        )
        .await?;
    jobs::enqueue_job(tx, &Send { id }).await?;
    metrics::counter!("khidmat_mail_queued_total", "gateway" => config.mail_gateway.clone())
        .increment(1);
    Ok(id)
}

/// The `mail.send` job: one attempt at one message.
pub async fn send_job(
    db: Db,
    config: std::sync::Arc<Config>,
    Send { id }: Send,
) -> anyhow::Result<()> {
    type Row = (String, String, String, String, String, i64);
    let row: Option<Row> = db
        .fetch_optional(
            query("SELECT to_addr, subject, body, gateway, status, attempts FROM mail_outbox WHERE id = $1")
                .bind(id),
        )
        .await?;
    let Some((to, subject, body, gateway, status, attempts)) = row else {
        return Ok(());
    };
    if status != "queued" {
        return Ok(());
    }
    let result = match gateway.as_str() {
        "log" => {
            tracing::info!(to = %super::personal::mask_email(&to), subject = %subject, body = %body, "e-mail (development gateway)");
            config.delivered.push("mail", id, &to, &body);
            Ok(())
        }
        "sendmail" => {
            let text = message(&config.mail_from, &to, &subject, &body, id);
            sendmail(&config.mail_sendmail_command, &text).await
        }
        other => Err(anyhow::anyhow!("unknown mail gateway {other:?}")),
    };
    outbox::settle(&db, Outbox::Mail, id, attempts, &result).await?;
    result
}

/// An RFC 5322 message in UTF-8: the subject encoded by RFC 2047, the body in base64 lines.
pub fn message(from: &str, to: &str, subject: &str, body: &str, id: i64) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let subject = if subject.is_ascii() {
        subject.to_owned()
    } else {
        format!("=?UTF-8?B?{}?=", b64.encode(subject))
    };
    let encoded = b64.encode(body.replace('\n', "\r\n"));
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    let host = from
        .rsplit('@')
        .next()
        .unwrap_or("localhost")
        .trim_end_matches('>');
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <mail-{id}-{stamp}@{host}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}\r\n",
        date = Utc::now().to_rfc2822(),
        stamp = Utc::now().timestamp(),
        body = lines.join("\r\n"),
    )
}

/// Hand a message to the local mail transfer agent: `COMMAND -t -i`, the message on its input.
async fn sendmail(command: &str, text: &str) -> anyhow::Result<()> {
    let mut child = tokio::process::Command::new(command)
        .args(["-t", "-i"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot run {command}: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped");
    stdin.write_all(text.as_bytes()).await?;
    drop(stdin);
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
        .await
        .map_err(|_| anyhow::anyhow!("{command} did not finish within 30 s"))??;
    anyhow::ensure!(
        out.status.success(),
        "{command} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr[..out.stderr.len().min(300)])
    );
    Ok(())
}

/// Register the outbox's send job.
pub fn register_jobs(registry: &mut jobs::Registry, config: &std::sync::Arc<Config>) {
    let config = config.clone();
    registry.register_job(move |db, job: Send| send_job(db, config.clone(), job));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_carries_urdu_intact() {
        let m = message(
            "Khidmat <no-reply@khidmat.example>",
            "org@example.pk",
            "عطیہ قبول",
            "سلام\nline two",
            7,
        );
        let (head, body) = m.split_once("\r\n\r\n").unwrap();
        assert!(head.contains("Subject: =?UTF-8?B?"));
        assert!(head.contains("Message-ID: <mail-7-") && head.contains("@khidmat.example>"));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(body.replace("\r\n", ""))
            .unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "سلام\r\nline two");
    }

    #[tokio::test]
    async fn sendmail_gets_the_message_and_a_failure_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("got");
        let script = dir.path().join("sendmail");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\n[ \"$1 $2\" = \"-t -i\" ] || exit 3\ncat > {}\n",
                out.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let text = message("a@b.pk", "c@d.pk", "Hello", "Body", 1);
        sendmail(script.to_str().unwrap(), &text).await.unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
        assert!(sendmail("/nonexistent/sendmail", &text).await.is_err());
        assert!(sendmail("/bin/false", &text).await.is_err());
    }
}
