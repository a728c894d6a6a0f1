//! The driving theory test: practice with feedback, a timed mock test with its pass mark, a late
//! mock test, and the error rates staff see; the same test by USSD (resumed after the network
//! drops it); and a citizen signed in by a code to their phone seeing their scores from both
//! channels. On both stores.

use khidmat::platform::db::query;
use khidmat::platform::identity::Role;

use crate::helpers::*;
use crate::{both, on_both};

const SECRET: &str = "gateway-secret-for-tests";
const PHONE: &str = "+923001234567";

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

/// `text` as a page shows it (askama escapes these; "two seconds' gap" is an answer).
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

async fn bank(app: &TestApp) -> khidmat::quiz::BankSpec {
    khidmat::quiz::bank(&app.db, "driving-theory")
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
        let mut first_wrong = None;
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
                first_wrong = Some((code.clone(), choice));
                let (_, fb) = page(&b, &app, &to).await;
                let q = bank.question.iter().find(|q| q.code == code).unwrap();
                assert!(
                    fb.contains("Not quite") && fb.contains(&escaped(&q.options[q.answer - 1].en)),
                    "feedback names the right answer"
                );
            }
        }
        let (_, done) = page(&b, &app, &path).await;
        assert!(
            done.contains(r#"data-correct="9" data-total="10""#),
            "{done}"
        );
        // The review says which answer was the citizen's and which is right, each named.
        let (code, choice) = first_wrong.unwrap();
        let q = bank.question.iter().find(|q| q.code == code).unwrap();
        let wrong = format!(
            "Your answer: <span dir=\"auto\">{}</span>",
            escaped(&q.options[choice - 1].en)
        );
        let right_one = format!(
            "The right answer: <strong dir=\"auto\">{}</strong>",
            escaped(&q.options[q.answer - 1].en)
        );
        assert!(done.contains(&wrong) && done.contains(&right_one), "{done}");
        assert_eq!(done.matches("Your answer, right:").count(), 9);
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
        // The department's dashboard leads to the bank's page; another department's does not.
        let (_, dashboard) = page(&t, &app, "/staff/dashboard").await;
        assert!(dashboard.contains(r#"href="/staff/theory/driving-theory""#));
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
        let (_, dashboard) = page(&p, &app, "/staff/dashboard").await;
        assert!(!dashboard.contains("/staff/theory/"));
    }
);

/// One USSD request of session `id` with every input so far; the reply without `CON `/`END `,
/// and whether it ended the session. Every screen fits the 182 characters of USSD.
async fn dial(app: &TestApp, id: &str, inputs: &[String]) -> (String, bool) {
    let resp = app
        .client
        .post(app.at(&format!("/channels/africastalking/ussd?key={SECRET}")))
        .form(&[
            ("sessionId", id),
            ("serviceCode", "*384*311#"),
            ("phoneNumber", PHONE),
            ("text", &inputs.join("*")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.unwrap();
    let (end, text) = match body.strip_prefix("END ") {
        Some(t) => (true, t.to_owned()),
        None => (
            false,
            body.strip_prefix("CON ").expect("CON or END").to_owned(),
        ),
    };
    assert!(
        text.chars().count() <= 182,
        "{} chars: {text}",
        text.chars().count()
    );
    (text, end)
}

/// Dial, choose English and the theory test, then practice (`1`) or the mock test (`2`).
async fn dial_test(app: &TestApp, id: &str, kind: &str) -> (Vec<String>, String) {
    assert!(dial(app, id, &[]).await.0.starts_with("Khidmat"));
    let mut inputs: Vec<String> = vec!["1".into()];
    let mut screen = dial(app, id, &inputs).await.0;
    let number = loop {
        if let Some(n) = screen
            .lines()
            .find(|l| l.contains("Test: Driving theory test"))
            .and_then(|l| l.split(' ').next())
        {
            break n.to_owned();
        }
        assert!(
            screen.contains("0 More"),
            "no theory test on the menu: {screen}"
        );
        inputs.push("0".into());
        screen = dial(app, id, &inputs).await.0;
    };
    inputs.push(number);
    let kinds = dial(app, id, &inputs).await.0;
    assert!(
        kinds.contains("1 Practice (10 questions)")
            && kinds.contains("2 Mock test (20 questions, pass 80%)"),
        "{kinds}"
    );
    inputs.push(kind.into());
    let first = dial(app, id, &inputs).await.0;
    (inputs, first)
}

/// The question on a USSD screen (after the verdict line, if any): its number and its code.
fn on_screen(screen: &str, bank: &khidmat::quiz::BankSpec) -> (usize, String) {
    let line = screen
        .lines()
        .find(|l| l.split(' ').next().is_some_and(|n| n.contains('/')))
        .unwrap_or_else(|| panic!("no question on {screen}"));
    let (n, text) = line.split_once(' ').unwrap();
    let q = bank
        .question
        .iter()
        .find(|q| q.text.en == text)
        .unwrap_or_else(|| panic!("{text:?} is not a whole question of the bank"));
    assert!(q.picture.is_none(), "USSD cannot show a picture");
    (
        n.split('/').next().unwrap().parse().unwrap(),
        q.code.clone(),
    )
}

on_both!(
    the_test_by_ussd_and_a_signed_in_citizens_scores,
    |backend| async move {
        let app = spawn_with(backend, |c| c.channel_secret = Some(SECRET.into())).await;
        let bank = bank(&app).await;
        let right = |code: &str| bank.find(code).unwrap().answer;

        // USSD practice: ten text questions, a verdict on each; the first answered wrongly, and
        // a key that is not an option asks again.
        let (mut inputs, mut screen) = dial_test(&app, "t1", "1").await;
        for i in 0..10 {
            let (n, code) = on_screen(&screen, &bank);
            assert_eq!(n, i + 1, "{screen}");
            if i == 1 {
                inputs.push("7".into());
                let again = dial(&app, "t1", &inputs).await.0;
                assert!(
                    again.starts_with("Not a choice") && again.contains("2/10"),
                    "{again}"
                );
            }
            let choice = if i == 0 {
                right(&code) % 3 + 1
            } else {
                right(&code)
            };
            inputs.push(choice.to_string());
            let (next, end) = dial(&app, "t1", &inputs).await;
            if i == 0 {
                assert!(
                    next.starts_with(&format!("No: {} was right.", right(&code))),
                    "{next}"
                );
            } else {
                assert!(next.starts_with("Right!"), "{next}");
            }
            assert_eq!(end, i == 9, "{next}");
            screen = next;
        }
        assert!(
            screen.ends_with("Practice done: 9 of 10 right."),
            "{screen}"
        );

        // A USSD mock test that the network cuts off after three answers resumes where it
        // stopped when the citizen dials again; no verdicts until the end.
        let (mut inputs, mut screen) = dial_test(&app, "t2", "2").await;
        for _ in 0..3 {
            let (_, code) = on_screen(&screen, &bank);
            inputs.push(right(&code).to_string());
            screen = dial(&app, "t2", &inputs).await.0;
            assert!(!screen.contains("Right!"), "{screen}");
        }
        let (mut inputs, mut screen) = dial_test(&app, "t3", "2").await;
        assert!(screen.starts_with("4/20 "), "resumed: {screen}");
        for i in 3..20 {
            let (n, code) = on_screen(&screen, &bank);
            assert_eq!(n, i + 1);
            let r = right(&code);
            inputs.push((if i < 7 { r % 3 + 1 } else { r }).to_string());
            let (next, end) = dial(&app, "t3", &inputs).await;
            assert_eq!(end, i == 19, "{next}");
            screen = next;
        }
        assert_eq!(
            screen, "Mock test: 16 of 20 right. Passed. (pass mark 80%)",
            "four wrong of twenty is exactly the pass mark"
        );

        // On the web: signing in with a code sent to the same phone.
        let b = browser();
        let (_, list) = page(&b, &app, "/theory").await;
        assert!(list.contains("Sign in with your phone to keep your scores"));
        let (status, form) = page(&b, &app, "/me?next=/theory").await;
        assert_eq!(status, 200);
        let csrf = hidden(&form, "csrf");
        let post = |path: &'static str, fields: Vec<(&'static str, String)>, csrf: &str| {
            let mut f = fields;
            f.push(("csrf", csrf.to_owned()));
            f.push(("next", "/theory".into()));
            b.post(app.at(path)).form(&f).send()
        };
        let r = post("/me/code", vec![("phone", "0300 12".into())], &csrf)
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("not a Pakistani mobile number"));
        let r = post("/me/code", vec![("phone", "0300 1234567".into())], &csrf)
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let sms = app.sms_to(PHONE).await;
        let code = sms
            .split(|c: char| !c.is_ascii_digit())
            .find(|s| s.len() == 6)
            .expect("a six-digit code")
            .to_owned();
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let r = post(
            "/me/sign-in",
            vec![("phone", "0300 1234567".into()), ("code", wrong.into())],
            &csrf,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("The code is wrong"));
        let r = post(
            "/me/sign-in",
            vec![("phone", "0300 1234567".into()), ("code", code.clone())],
            &csrf,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/theory");
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        assert!(cookie.starts_with("khidmat_citizen=") && cookie.contains("HttpOnly"));
        // Signed in, the browser's pages carry a new form token.
        let (_, me) = page(&b, &app, "/me").await;
        let signed_in = hidden(&me, "csrf");
        assert_ne!(signed_in, csrf);
        let r = post(
            "/me/sign-in",
            vec![("phone", "0300 1234567".into()), ("code", code)],
            &signed_in,
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 422, "a code serves once");

        // Both USSD tests are on the citizen's page; the number is shown masked only.
        let (_, me) = page(&b, &app, "/me").await;
        assert!(
            me.contains("+92 3** *** **67") && !me.contains("1234567"),
            "{me}"
        );
        assert!(
            me.contains("<bdi>9/10</bdi>") && me.contains("<bdi>16/20</bdi> · <strong>passed"),
            "{me}"
        );
        assert_eq!(me.matches("Practice (USSD)").count(), 1);

        // A web test taken signed in joins them; one taken in another browser does not.
        let (_, list) = page(&b, &app, "/theory").await;
        assert!(list.contains("Your scores are kept on your page"));
        let path = start(&b, &app, "practice").await;
        let (_, html) = page(&b, &app, &path).await;
        let csrf2 = hidden(&html, "csrf");
        for _ in 0..10 {
            let (_, html) = page(&b, &app, &path).await;
            let code = asked(&html)[0].clone();
            let a = right(&code).to_string();
            send(&b, &app, &path, &csrf2, &[(format!("a[{code}]"), a)]).await;
        }
        let other = browser();
        let path2 = start(&other, &app, "practice").await;
        let (_, html) = page(&other, &app, &path2).await;
        let csrf3 = hidden(&html, "csrf");
        for _ in 0..10 {
            let (_, html) = page(&other, &app, &path2).await;
            let code = asked(&html)[0].clone();
            send(
                &other,
                &app,
                &path2,
                &csrf3,
                &[(format!("a[{code}]"), "1".into())],
            )
            .await;
        }
        let (_, me) = page(&b, &app, "/me").await;
        assert_eq!(me.matches("<tr><td>").count(), 3, "{me}");
        assert!(me.contains("<bdi>10/10</bdi>") && me.contains(&path));
        assert!(!me.contains(&path2), "another browser's test");
        let (_, theirs) = page(&other, &app, "/me").await;
        assert!(theirs.contains("name=\"phone\""), "not signed in: the form");

        // The three tests count one citizen on the impact figures.
        assert_eq!(
            app.count(
                "(SELECT DISTINCT citizen FROM impact_events WHERE service = 'theory' AND citizen IS NOT NULL) AS c"
            )
            .await,
            1
        );
        assert_eq!(app.count("impact_events WHERE service = 'theory'").await, 4);

        // Signing out ends the session on the server too.
        let r = b
            .post(app.at("/me/sign-out"))
            .form(&[("csrf", signed_in.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(app.count("citizen_sessions").await, 0);
        let (_, me) = page(&b, &app, "/me").await;
        assert!(me.contains("name=\"phone\"") && !me.contains("9/10"));
    }
);

both!(
    a_question_removed_by_a_pack_import_does_not_stop_a_running_test,
    |app| async move {
        let b = browser();
        let practice = start(&b, &app, "practice").await;
        let mock = start(&b, &app, "mock").await;
        let (_, html) = page(&b, &app, &practice).await;
        let csrf = hidden(&html, "csrf");
        let first = asked(&html)[0].clone();
        let (_, html) = page(&b, &app, &mock).await;
        let on_mock = asked(&html);

        // A new version of the pack drops the question on screen and one of the mock test's.
        let mut bank = bank(&app).await;
        let gone = [first.clone(), on_mock[1].clone()];
        bank.question.retain(|q| !gone.contains(&q.code));
        let mut tx = app.db.begin().await.unwrap();
        let (department,): (i64,) = tx
            .fetch_one(query(
                "SELECT department_id FROM theory_banks WHERE code = 'driving-theory'",
            ))
            .await
            .unwrap();
        khidmat::quiz::upsert(&mut tx, &bank, department)
            .await
            .unwrap();
        tx.commit().await.unwrap();

        // The removed question's answer is refused with a message, not a crash.
        let (status, _) = send(
            &b,
            &app,
            &practice,
            &csrf,
            &[(format!("a[{first}]"), "1".into())],
        )
        .await;
        assert_eq!(status, 400);
        // The practice goes on with the questions that are left and finishes.
        let mut answered = 0;
        for _ in 0..20 {
            let (status, html) = page(&b, &app, &practice).await;
            assert_eq!(status, 200);
            let q = asked(&html);
            if q.is_empty() {
                assert!(html.contains("data-correct="), "finished: {html}");
                break;
            }
            assert_ne!(q[0], first);
            let right = bank.find(&q[0]).unwrap().answer;
            let (status, _) = send(
                &b,
                &app,
                &practice,
                &csrf,
                &[(format!("a[{}]", q[0]), right.to_string())],
            )
            .await;
            assert_eq!(status, 303);
            answered += 1;
        }
        assert!(
            (8..=9).contains(&answered),
            "ten less the one or two removed"
        );
        let (_, done) = page(&b, &app, &practice).await;
        assert!(
            done.contains(&format!(
                r#"data-correct="{answered}" data-total="{answered}""#
            )),
            "{done}"
        );

        // The mock test is marked out of the questions that are left.
        let (_, html) = page(&b, &app, &mock).await;
        let q = asked(&html);
        let left = on_mock.iter().filter(|c| !gone.contains(c)).count();
        assert_eq!(q.len(), left);
        let answers: Vec<(String, String)> = q
            .iter()
            .map(|c| (format!("a[{c}]"), bank.find(c).unwrap().answer.to_string()))
            .collect();
        assert_eq!(send(&b, &app, &mock, &csrf, &answers).await.0, 303);
        let (_, done) = page(&b, &app, &mock).await;
        assert!(
            done.contains(&format!(
                r#"data-correct="{left}" data-total="{left}" data-passed="true""#
            )),
            "{done}"
        );
    }
);

both!(
    the_tests_page_is_titled_by_the_pack_and_a_question_shows_its_picture,
    |app| async move {
        let b = browser();
        // One bank published: the page is the pack's, in the reader's language.
        let (_, html) = page(&b, &app, "/theory").await;
        assert!(
            html.contains(r#"<h1 dir="auto">Driving theory test</h1>"#),
            "{html}"
        );
        let (_, html) = page(&b, &app, "/theory?locale=ur").await;
        assert!(html.contains(r#"<h1 dir="auto">ڈرائیونگ کا تحریری امتحان</h1>"#));

        // A second department's bank, written with the generic field: the page lists both
        // under a generic title, and the question carries its picture, labelled.
        let pack = r#"
[pack]
name = "wssp-hygiene-quiz"
version = 1
[[theory.bank]]
code = "hygiene"
department = "wssp"
name = { en = "Safe water quiz" }
practice_questions = 1
mock_questions = 1
[[theory.bank.question]]
code = "h1"
picture = "no-entry"
text = { en = "May you wash a car at the public tap?" }
options = [{ en = "No" }, { en = "Yes" }, { en = "At night" }]
answer = 1
"#;
        khidmat::packs::load(&app.db, pack, "test").await.unwrap();
        let (_, html) = page(&b, &app, "/theory").await;
        assert!(
            html.contains(r#"<h1 dir="auto">Practice tests</h1>"#),
            "{html}"
        );
        assert!(html.contains("Safe water quiz") && html.contains("Driving theory test"));
        let (_, html) = page(&b, &app, "/theory/hygiene").await;
        let csrf = hidden(&html, "csrf");
        let r = b
            .post(app.at("/theory/hygiene/start"))
            .form(&[("csrf", csrf.as_str()), ("kind", "practice")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let path = r.headers()["location"].to_str().unwrap().to_owned();
        let (_, html) = page(&b, &app, &path).await;
        assert!(
            html.contains(r#"<svg class="sign" width="96" height="96" role="img" aria-label="the picture" viewBox="0 0 100 100""#),
            "{html}"
        );
        assert!(html.contains(r#"<a href="/theory/hygiene" dir="auto">Safe water quiz</a>"#));

        // A picture that is not in static/pictures refuses the pack, naming what there is.
        let bad = pack.replace(r#"picture = "no-entry""#, r#"picture = "../app""#);
        let err = khidmat::packs::load(&app.db, &bad, "test")
            .await
            .unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.contains(r#"there is no picture "../app""#) && err.contains("speed-limit-60"),
            "{err}"
        );
    }
);
