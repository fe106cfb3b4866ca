//! A real Prometheus server (Debian's `prometheus` package, started by this test on
//! 127.0.0.1) scrapes the endpoint of `traced`; the test reads names, types, units,
//! values and exemplars back through Prometheus's HTTP API.
#![cfg(all(feature = "enabled", feature = "prometheus"))]

mod common;

use common::io::scrape;
use serde_json::Value as Json;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use traced::metrics::{
    AsyncInstrument, Counter, Gauge, Histogram, ObservableCounter, ObservableGauge,
    ObservableUpDownCounter, UpDownCounter,
};
use traced::opentelemetry_sdk::trace::InMemorySpanExporter;
use traced::{traced, Metrics};

fn threads(obs: &dyn AsyncInstrument<u64>) {
    obs.observe(8, &[]);
}

fn cpu(obs: &dyn AsyncInstrument<f64>) {
    obs.observe(1.25, &[]);
}

fn pool(obs: &dyn AsyncInstrument<i64>) {
    obs.observe(-3, &[]);
}

#[derive(Metrics)]
#[metrics(prefix = "shop")]
struct ShopMetrics {
    /// Orders placed.
    #[metric(unit = "{order}")]
    orders: Counter<u64>,
    /// Carts open.
    open_carts: UpDownCounter<i64>,
    /// Bytes in the last response.
    #[metric(unit = "By")]
    response_size: Gauge<u64>,
    /// Checkout time.
    #[metric(unit = "s", buckets = [0.01, 0.1, 1.0])]
    checkout: Histogram<f64>,
    /// CPU time.
    #[metric(unit = "s", callback = cpu)]
    cpu: ObservableCounter<f64>,
    /// Pool balance.
    #[metric(callback = pool)]
    pool: ObservableUpDownCounter<i64>,
    /// Worker threads.
    #[metric(callback = threads)]
    workers: ObservableGauge<u64>,
}

#[traced(metrics)]
fn place_order(amount: f64) {
    let m = ShopMetrics::global();
    m.orders
        .add(1, &[opentelemetry::KeyValue::new("region", "eu")]);
    m.open_carts.add(2, &[]);
    m.open_carts.add(-1, &[]);
    m.response_size.record(512, &[]);
    m.checkout.record(amount, &[]);
}

/// A Prometheus server that goes away with the test.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    _dir: TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_prometheus(target: SocketAddr) -> Prometheus {
    let which = Command::new("prometheus").arg("--version").output();
    assert!(
        which.is_ok_and(|o| o.status.success()),
        "the `prometheus` server is needed: `apt-get install prometheus` (bash .ci/run does it)"
    );
    let dir = std::env::temp_dir().join(format!("traced-prometheus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: traced\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--enable-feature=exemplar-storage")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    Prometheus {
        child,
        addr,
        _dir: TempDir(dir),
    }
}

/// `GET path` on `addr`, the body as JSON.
fn get_json(addr: SocketAddr, path: &str) -> Option<Json> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let body = response.split_once("\r\n\r\n")?.1;
    serde_json::from_str(body).ok()
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of an instant query, once Prometheus has it.
fn query(prom: &Prometheus, q: &str, deadline: Instant) -> f64 {
    loop {
        if let Some(json) = get_json(prom.addr, &format!("/api/v1/query?query={}", encode(q))) {
            if let Some(v) = json["data"]["result"][0]["value"][1].as_str() {
                return v.parse().unwrap();
            }
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never returned a value for {q}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn metadata(prom: &Prometheus, metric: &str) -> Json {
    let json = get_json(
        prom.addr,
        &format!("/api/v1/metadata?metric={}", encode(metric)),
    )
    .expect("metadata");
    json["data"][metric][0].clone()
}

/// The providers are global: the tests take turns.
static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn prometheus_scrapes_every_instrument_with_exemplars() {
    let _turn = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let spans = InMemorySpanExporter::default();
    let guard = traced::Builder::new()
        .ignore_env()
        .service_name("shop-api")
        .service_version("0.9.1")
        .simple_exporter(spans.clone())
        .prometheus_endpoint("127.0.0.1", 0)
        .init();
    let endpoint = guard.prometheus_addr().expect("the endpoint listens");

    place_order(0.05);
    place_order(0.5);

    let prom = start_prometheus(endpoint);
    let deadline = Instant::now() + Duration::from_secs(90);

    // Values, under the names the OpenTelemetry-to-Prometheus rules give.
    assert_eq!(
        query(&prom, "shop_orders_total{region=\"eu\"}", deadline),
        2.0
    );
    assert_eq!(query(&prom, "shop_open_carts", deadline), 2.0);
    assert_eq!(query(&prom, "shop_response_size_bytes", deadline), 512.0);
    assert_eq!(query(&prom, "shop_checkout_seconds_count", deadline), 2.0);
    assert_eq!(
        query(&prom, "shop_checkout_seconds_bucket{le=\"0.1\"}", deadline),
        1.0
    );
    assert!((query(&prom, "shop_checkout_seconds_sum", deadline) - 0.55).abs() < 1e-9);
    assert_eq!(query(&prom, "shop_cpu_seconds_total", deadline), 1.25);
    assert_eq!(query(&prom, "shop_pool", deadline), -3.0);
    assert_eq!(query(&prom, "shop_workers", deadline), 8.0);
    assert_eq!(
        query(
            &prom,
            "function_calls_total{function=\"place_order\",result=\"ok\",service_name=\"shop-api\"}",
            deadline
        ),
        2.0
    );
    assert_eq!(
        query(
            &prom,
            "function_calls_duration_seconds_count{function=\"place_order\",service_name=\"shop-api\"}",
            deadline
        ),
        2.0
    );
    // The autometrics build_info, joinable with the call metrics on service_name.
    assert_eq!(
        query(
            &prom,
            "build_info{service_name=\"shop-api\",version=\"0.9.1\",autometrics_version=\"1.0.0\"}",
            deadline
        ),
        1.0
    );
    assert_eq!(
        query(&prom, "target_info{service_name!=\"\"}", deadline),
        1.0
    );

    // Types, units and help text as Prometheus stored them.
    let counter = metadata(&prom, "shop_orders");
    assert_eq!(counter["type"], "counter", "{counter}");
    assert_eq!(counter["help"], "Orders placed.");
    let histogram = metadata(&prom, "shop_checkout_seconds");
    assert_eq!(histogram["type"], "histogram", "{histogram}");
    assert_eq!(histogram["unit"], "seconds", "{histogram}");
    assert_eq!(metadata(&prom, "shop_open_carts")["type"], "gauge");

    // Exemplars link the histogram's buckets to the spans that recorded them.
    let recorded: Vec<(String, String)> = spans
        .get_finished_spans()
        .unwrap()
        .iter()
        .filter(|s| s.name == "place_order")
        .map(|s| {
            (
                s.span_context.trace_id().to_string(),
                s.span_context.span_id().to_string(),
            )
        })
        .collect();
    assert_eq!(recorded.len(), 2);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let exemplars = loop {
        let json = get_json(
            prom.addr,
            &format!(
                "/api/v1/query_exemplars?query={}&start={}&end={}",
                encode("shop_checkout_seconds_bucket"),
                now - 600,
                now + 600
            ),
        );
        let found: Vec<(String, String, f64)> = json
            .as_ref()
            .and_then(|j| j["data"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .flat_map(|series| series["exemplars"].as_array().cloned().unwrap_or_default())
            .map(|e| {
                (
                    e["labels"]["trace_id"].as_str().unwrap_or("").to_owned(),
                    e["labels"]["span_id"].as_str().unwrap_or("").to_owned(),
                    e["value"].as_str().unwrap_or("0").parse().unwrap_or(0.0),
                )
            })
            .collect();
        if found.len() >= 2 || Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    for (trace_id, span_id) in &recorded {
        assert!(
            exemplars
                .iter()
                .any(|(t, s, _)| t == trace_id && s == span_id),
            "no exemplar for span {trace_id}/{span_id} in {exemplars:?}"
        );
    }
    let values: Vec<f64> = exemplars.iter().map(|e| e.2).collect();
    assert!(
        values.contains(&0.05) && values.contains(&0.5),
        "{values:?}"
    );
    drop(guard);
}

#[test]
fn unsampled_measurements_carry_no_exemplar() {
    let _turn = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Checked through the endpoint directly: OpenMetrics has `# {` exemplars only
    // for sampled spans.
    let guard = traced::Builder::new()
        .ignore_env()
        .sampler(traced::opentelemetry_sdk::trace::Sampler::AlwaysOff)
        .traces_exporters([])
        .prometheus_endpoint("127.0.0.1", 0)
        .init();
    let addr = guard.prometheus_addr().unwrap();
    place_order(0.2);
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.0\r\nAccept: application/openmetrics-text; version=1.0.0\r\n\r\n"
    )
    .unwrap();
    let mut page = String::new();
    stream.read_to_string(&mut page).unwrap();
    assert!(page.contains("shop_checkout_seconds_bucket"), "{page}");
    assert!(
        !page
            .lines()
            .any(|l| l.starts_with("shop_checkout") && l.contains("# {")),
        "{page}"
    );
    drop(guard);
}

#[test]
fn an_exemplar_is_only_on_the_bucket_of_its_measurement() {
    let _turn = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let guard = traced::Builder::new()
        .ignore_env()
        .simple_exporter(InMemorySpanExporter::default())
        .prometheus_endpoint("127.0.0.1", 0)
        .init();
    let addr = guard.prometheus_addr().unwrap();
    // Buckets 0.01, 0.1, 1.0: 0.05 falls into `le="0.1"`, whose cumulative
    // count `le="1.0"` and `+Inf` include too.
    place_order(0.05);
    let page = scrape(addr, "application/openmetrics-text; version=1.0.0");
    let buckets: Vec<&str> = page
        .lines()
        .filter(|l| l.starts_with("shop_checkout_seconds_bucket{"))
        .collect();
    assert_eq!(buckets.len(), 4, "{page}");
    for line in &buckets {
        let has_exemplar = line.contains(" # {");
        assert_eq!(
            has_exemplar,
            line.contains("le=\"0.1\""),
            "only le=\"0.1\" carries the exemplar: {line}\n{page}"
        );
    }
    let exemplar = buckets
        .iter()
        .find(|l| l.contains("le=\"0.1\""))
        .and_then(|l| l.split_once(" # "))
        .map(|(_, exemplar)| exemplar)
        .unwrap();
    assert!(exemplar.contains("} 0.05 "), "{exemplar}");
    drop(guard);
}
