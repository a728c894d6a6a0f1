//! The driving theory test: practice with feedback, a timed mock test with its pass mark, a late
//! mock test, and the error rates staff see. On both stores.

use khidmat::platform::db::query;
use khidmat::platform::identity::Role;

use crate::both;
use crate::helpers::*;

/// Start a session; returns its path.
async fn start(b: &reqwest::Client, app: &TestApp, kind: &str) -> String {
    let (_, html) = page(b, app, "/theory/driving-theory").await;
    let csrf = hidden(&html, "csrf");
    let r = b
        .post(app.at("/theory/driving-theory/start"))
        .form(&[("csrf", csrf.as_str()), ("kind", kind)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// The question codes asked on a page, in order.
fn asked(html: &str) -> Vec<String> {
    html.split("name=\"a[")
        .skip(1)
        .map(|s| s[..s.find(']').unwrap()].to_owned())
        .fold(Vec::new(), |mut v, c| {
            if v.last() != Some(&c) {
                v.push(c);
            }
            v
        })
}

async fn bank(app: &TestApp) -> khidmat::theory::BankSpec {
    khidmat::theory::bank(&app.db, "driving-theory")
        .await
        .unwrap()
        .unwrap()
        .0
}

async fn send(
    b: &reqwest::Client,
    app: &TestApp,
    path: &str,
    csrf: &str,
    answers: &[(String, String)],
) -> (u16, String) {
    let mut form = vec![("csrf".to_owned(), csrf.to_owned())];
    form.extend(answers.iter().cloned());
    let r = b.post(app.at(path)).form(&form).send().await.unwrap();
    let status = r.status().as_u16();
    let to = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    (status, to.unwrap_or_else(String::new))
}

both!(
    practice_gives_feedback_and_a_mock_test_its_pass_mark,
    |app| async move {
        let bank = bank(&app).await;
        let right = |code: &str| {
            bank.question
                .iter()
                .find(|q| q.code == code)
                .unwrap()
                .answer
        };
        let b = browser();
        let (_, list) = page(&b, &app, "/theory?locale=ur").await;
        assert!(
            list.contains("/theory/driving-theory") && list.contains("ڈرائیونگ کا تحریری امتحان")
        );

        // Practice: ten questions, one at a time; the first answered wrongly.
        let path = start(&b, &app, "practice").await;
        let (_, html) = page(&b, &app, &path).await;
        let csrf = hidden(&html, "csrf");
        for i in 0..10 {
            let (_, html) = page(&b, &app, &path).await;
            let q = asked(&html);
            assert_eq!(q.len(), 1, "one question at a time");
            let code = q[0].clone();
            let choice = if i == 0 {
                right(&code) % 3 + 1
            } else {
                right(&code)
            };
            let (status, to) = send(
                &b,
                &app,
                &path,
                &csrf,
                &[(format!("a[{code}]"), choice.to_string())],
            )
            .await;
            assert_eq!(status, 303);
            assert!(to.ends_with(&format!("?after={code}")));
            if i == 0 {
                let (_, fb) = page(&b, &app, &to).await;
                let q = bank.question.iter().find(|q| q.code == code).unwrap();
                assert!(
                    fb.contains("Not quite") && fb.contains(&q.options[q.answer - 1].en),
                    "feedback names the right answer"
                );
            }
        }
        let (_, done) = page(&b, &app, &path).await;
        assert!(
            done.contains(r#"data-correct="9" data-total="10""#),
            "{done}"
        );
        let (status, _) = send(&b, &app, &path, &csrf, &[("a[q01]".into(), "1".into())]).await;
        assert_eq!(status, 409, "a finished session takes no more answers");

        // Mock tests: 20 questions on one page; 15 right is below 80%, 16 passes.
        for (wrong, passed) in [(5usize, "false"), (4, "true")] {
            let path = start(&b, &app, "mock").await;
            let (_, html) = page(&b, &app, &path).await;
            let q = asked(&html);
            assert_eq!(q.len(), 20);
            assert!(
                html.contains("Time left: <bdi>14</bdi>")
                    || html.contains("Time left: <bdi>15</bdi>")
            );
            let answers: Vec<(String, String)> = q
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let r = right(c);
                    (
                        format!("a[{c}]"),
                        (if i < wrong { r % 3 + 1 } else { r }).to_string(),
                    )
                })
                .collect();
            assert_eq!(send(&b, &app, &path, &csrf, &answers).await.0, 303);
            let (_, done) = page(&b, &app, &path).await;
            assert!(
                done.contains(&format!(
                    r#"data-correct="{}" data-total="20" data-passed="{passed}""#,
                    20 - wrong
                )),
                "{done}"
            );
        }

        // Sent after the time ran out: nothing counts.
        let path = start(&b, &app, "mock").await;
        let token = path.rsplit('/').next().unwrap().to_owned();
        app.db
            .execute(
                query("UPDATE theory_sessions SET deadline = $1 WHERE token = $2")
                    .bind(chrono::Utc::now() - chrono::Duration::minutes(10))
                    .bind(&token),
            )
            .await
            .unwrap();
        let (_, html) = page(&b, &app, &path).await;
        let answers: Vec<(String, String)> = asked(&html)
            .iter()
            .map(|c| (format!("a[{c}]"), right(c).to_string()))
            .collect();
        send(&b, &app, &path, &csrf, &answers).await;
        let (_, done) = page(&b, &app, &path).await;
        assert!(
            done.contains(r#"data-correct="0" data-total="20" data-passed="false""#),
            "{done}"
        );

        // Every finished session counts on /impact; staff of the department see the error rates.
        assert_eq!(app.count("impact_events WHERE service = 'theory'").await, 4);
        app.add_user(
            "sp@traffic.kp.gov.pk",
            Role::Manager,
            Some("kp-traffic-police"),
            None,
        )
        .await;
        app.add_user("officer@pesco.gov.pk", Role::Officer, Some("pesco"), None)
            .await;
        let (t, _) = login(&app, "sp@traffic.kp.gov.pk").await;
        let (status, rates) = page(&t, &app, "/staff/theory/driving-theory").await;
        assert_eq!(status, 200);
        assert_eq!(
            rates.matches("<tr data-question=").count(),
            bank.question.len()
        );
        let wrong_total: i64 = rates
            .split("data-wrong=\"")
            .skip(1)
            .map(|s| s[..s.find('"').unwrap()].parse::<i64>().unwrap())
            .sum();
        assert_eq!(
            wrong_total,
            1 + 5 + 4,
            "the practice's one and the mock tests' nine"
        );
        let (p, _) = login(&app, "officer@pesco.gov.pk").await;
        assert_eq!(page(&p, &app, "/staff/theory/driving-theory").await.0, 404);
    }
);
