//! Killing the devserver mid-write and restarting it loses no acknowledged
//! write: every sign-up that got its 201 before the kill is readable after.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_devserver"))
        .env("SUNDIAL_ADDR", format!("127.0.0.1:{port}"))
        .env("SUNDIAL_DATA_DIR", dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start devserver")
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if client.get(format!("{base}/v1/health")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("devserver did not start");
}

#[tokio::test]
async fn acknowledged_writes_survive_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut server = start(dir.path(), port);
    wait_ready(&client, &base).await;

    // Writers keep signing up until the server dies under them.
    let mut writers = Vec::new();
    for w in 0..4 {
        let (client, base) = (client.clone(), base.clone());
        writers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for i in 0.. {
                let body = serde_json::json!({
                    "organisation": {"name": format!("Org {w}-{i}")},
                    "owner": {"email": format!("owner{w}-{i}@example.com"), "password": "correct horse battery", "firstName": "A", "lastName": "B"}
                });
                match client.post(format!("{base}/v1/public/organisations")).json(&body).send().await {
                    Ok(r) if r.status() == 201 => acknowledged.push(format!("owner{w}-{i}@example.com")),
                    _ => break,
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill().expect("kill -9");
    server.wait().unwrap();
    let mut acknowledged = Vec::new();
    for w in writers {
        acknowledged.extend(w.await.unwrap());
    }
    assert!(!acknowledged.is_empty(), "some writes were acknowledged before the kill");

    let mut server = start(dir.path(), port);
    wait_ready(&client, &base).await;
    // Signing up again with an acknowledged email must now be a conflict:
    // the first write is still there.
    for email in &acknowledged {
        let body = serde_json::json!({
            "organisation": {"name": "Again"},
            "owner": {"email": email, "password": "correct horse battery", "firstName": "A", "lastName": "B"}
        });
        let r = client.post(format!("{base}/v1/public/organisations")).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 409, "{email} was acknowledged but lost");
    }
    server.kill().unwrap();
    server.wait().unwrap();
}
