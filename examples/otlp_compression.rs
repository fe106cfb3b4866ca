//! What gzip compression costs and saves on OTLP export: bytes on the wire and
//! CPU time per exported span, over HTTP/protobuf and gRPC, with and without
//! `OTEL_EXPORTER_OTLP_COMPRESSION=gzip` (the figures of BENCHMARKS.md).
//!
//! ```sh
//! pip install -r tests/otlp/requirements.txt
//! cargo run --release --example otlp_compression [-- SPANS]
//! ```
//!
//! The spans go to the test receiver (`tests/otlp/receiver.py`, which decodes
//! them) through a TCP relay on 127.0.0.1 that counts the bytes each way. CPU
//! time is this process's (user + system, every thread, from
//! `/proc/self/stat`, so Linux only) from the first span until the receiver has
//! them all: creating, batching, encoding, compressing and sending, plus
//! reading the receiver's output (the same in every row).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use traced::traced;

#[traced(kind = server, name = "GET /api/orders/{id}", attrs(
    http.request.method = "GET",
    http.route = "/api/orders/{id}",
    http.response.status_code = 200,
    url.scheme = "https",
    server.address = "orders.internal.example",
    user_agent.original = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
    order.id = order_id,
))]
fn handle(order_id: i64) -> i64 {
    load(order_id)
}

#[traced(kind = client, attrs(db.system.name = "postgresql", db.operation.name = "SELECT", db.collection.name = "orders"))]
fn load(order_id: i64) -> i64 {
    order_id * 3
}

/// Bytes the relay carried, client to server and back.
#[derive(Default)]
struct Counts {
    up: AtomicU64,
    down: AtomicU64,
}

fn pipe(mut from: TcpStream, mut to: TcpStream, count: Arc<Counts>, up: bool) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        let counter = if up { &count.up } else { &count.down };
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// A relay on 127.0.0.1 to `port`, counting into the returned counts.
fn relay(port: u16) -> (u16, Arc<Counts>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
    let local = listener.local_addr().expect("relay address").port();
    let counts = Arc::new(Counts::default());
    let c = Arc::clone(&counts);
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", port)) else {
                continue;
            };
            let (c1, c2) = (Arc::clone(&c), Arc::clone(&c));
            let (client2, server2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || pipe(client, server, c1, true));
            std::thread::spawn(move || pipe(server2, client2, c2, false));
        }
    });
    (local, counts)
}

/// User plus system CPU time of this process, every thread included.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat (Linux)");
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

fn main() {
    let spans_per_run: usize = std::env::args()
        .nth(1)
        .map_or(100_000, |n| n.parse().expect("SPANS: a whole number"));
    let calls = spans_per_run / 2; // two spans a call
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/otlp/receiver.py");
    let mut receiver = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 tests/otlp/receiver.py");
    let mut lines = BufReader::new(receiver.stdout.take().unwrap()).lines();
    let ready = lines.next().expect("READY").expect("READY");
    let ports: Vec<u16> = ready
        .split(' ')
        .filter_map(|f| f.split_once('=')?.1.parse().ok())
        .collect();
    let received = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&received);
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line.contains("\"signal\": \"span\"") {
                r.fetch_add(1, Ordering::Relaxed);
            }
        }
    });

    println!("| protocol | compression | spans | bytes sent | bytes / span | CPU µs / span |");
    println!("|---|---|---:|---:|---:|---:|");
    for (protocol, port) in [("http/protobuf", ports[0]), ("grpc", ports[1])] {
        for compression in ["none", "gzip"] {
            let (relay_port, counts) = relay(port);
            let before = received.load(Ordering::Relaxed);
            let telemetry = traced::Builder::new()
                .ignore_env()
                .setting("OTEL_SERVICE_NAME", "orders")
                .setting("OTEL_TRACES_EXPORTER", "otlp")
                .setting("OTEL_METRICS_EXPORTER", "none")
                .setting("OTEL_LOGS_EXPORTER", "none")
                .setting("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
                .setting(
                    "OTEL_EXPORTER_OTLP_ENDPOINT",
                    format!("http://127.0.0.1:{relay_port}"),
                )
                .setting("OTEL_EXPORTER_OTLP_COMPRESSION", compression)
                .setting(
                    "OTEL_BSP_MAX_QUEUE_SIZE",
                    (spans_per_run + 1024).to_string(),
                )
                .setting("OTEL_BSP_SCHEDULE_DELAY", "100")
                .shutdown_timeout(Duration::from_secs(120))
                .init();
            let cpu = cpu_time();
            for i in 0..calls {
                std::hint::black_box(handle(i as i64));
            }
            drop(telemetry);
            let deadline = Instant::now() + Duration::from_secs(120);
            while received.load(Ordering::Relaxed) - before < spans_per_run {
                assert!(
                    Instant::now() < deadline,
                    "the receiver got {} of {spans_per_run} spans",
                    received.load(Ordering::Relaxed) - before
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            let cpu = cpu_time() - cpu;
            let up = counts.up.load(Ordering::Relaxed);
            println!(
                "| {protocol} | {compression} | {spans_per_run} | {up} | {:.0} | {:.1} |",
                up as f64 / spans_per_run as f64,
                cpu.as_secs_f64() * 1e6 / spans_per_run as f64
            );
        }
    }
    drop(receiver.stdin.take());
    let _ = receiver.wait();
}
