//! The call metrics against autometrics' label contract: the series scraped from
//! traced's own Prometheus endpoint (on 127.0.0.1) carry every label the
//! autometrics specification v1.0.0 requires, and, fed to `promtool test rules`
//! (Debian's `prometheus` package) with the rules in `tests/autometrics/rules.yml`,
//! a function that breaks its objective moves the error-ratio (or slow-call
//! ratio) recording rule and fires the alert. The same runs with autometrics'
//! published rules, vendored unchanged in `tests/autometrics/upstream/`.
#![cfg(all(feature = "enabled", feature = "prometheus"))]

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Mutex;
use traced::{traced, Objective, ObjectiveLatency, ObjectivePercentile};

/// One test at a time installs telemetry in this process.
static LOCK: Mutex<()> = Mutex::new(());

const CHECKOUT: Objective = Objective::new("checkout")
    .success_rate(ObjectivePercentile::P99_9)
    .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);

#[traced(metrics(objective = CHECKOUT))]
fn pay(fail: bool) -> Result<(), String> {
    if fail {
        Err("card declined".into())
    } else {
        Ok(())
    }
}

#[traced(metrics(objective = CHECKOUT))]
fn reserve_stock() {}

/// The page the endpoint serves, in the Prometheus text format.
fn scrape(addr: SocketAddr) -> String {
    common::io::scrape_body(addr, "text/plain")
}

/// `name{labels}` -> value, for the samples of the families named.
fn samples(page: &str, families: &[&str]) -> BTreeMap<String, f64> {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| families.iter().any(|f| l.starts_with(&format!("{f}{{"))))
        .map(|l| {
            let end = l.rfind('}').expect("a labelled sample") + 1;
            let value = l[end..].split_whitespace().next().unwrap();
            (l[..end].to_owned(), value.parse().unwrap())
        })
        .collect()
}

/// The labels of a `name{k="v",..}` sample.
fn labels(series: &str) -> BTreeMap<String, String> {
    let inner = &series[series.find('{').unwrap() + 1..series.len() - 1];
    let mut out = BTreeMap::new();
    let mut rest = inner;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        value.push(n);
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        out.insert(key.trim_start_matches(',').to_owned(), value);
        rest = &after[end..];
    }
    out
}

fn telemetry() -> traced::Guard {
    traced::Builder::new()
        .ignore_env()
        .service_name("shop-api")
        .service_version("0.9.1")
        .setting("AUTOMETRICS_COMMIT", "4cfd2f3")
        .setting("AUTOMETRICS_BRANCH", "main")
        .setting("AUTOMETRICS_REPOSITORY_URL", "https://github.com/shop/api")
        .traces_exporters([])
        .prometheus_endpoint("127.0.0.1", 0)
        .init()
}

#[test]
fn scraped_series_carry_every_label_the_specification_requires() {
    let _turn = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let guard = telemetry();
    let _ = pay(false);
    reserve_stock();
    let page = scrape(guard.prometheus_addr().expect("the endpoint listens"));

    let calls = samples(&page, &["function_calls_total"]);
    let pay_calls: Vec<_> = calls.keys().filter(|s| s.contains("\"pay\"")).collect();
    assert_eq!(pay_calls.len(), 1, "{page}");
    let l = labels(pay_calls[0]);
    for (key, value) in [
        ("function", "pay"),
        ("module", "autometrics_rules"),
        ("service_name", "shop-api"),
        ("result", "ok"),
        ("caller_function", ""),
        ("caller_module", ""),
        ("objective_name", "checkout"),
        ("objective_percentile", "99.9"),
    ] {
        assert_eq!(l.get(key).map(String::as_str), Some(value), "{key}: {l:?}");
    }

    let buckets = samples(&page, &["function_calls_duration_seconds_bucket"]);
    let bucket = buckets
        .keys()
        .find(|s| s.contains("\"reserve_stock\"") && s.contains("le=\"0.25\""))
        .unwrap_or_else(|| panic!("{page}"));
    let l = labels(bucket);
    for (key, value) in [
        ("function", "reserve_stock"),
        ("module", "autometrics_rules"),
        ("service_name", "shop-api"),
        ("objective_name", "checkout"),
        ("objective_percentile", "99"),
        ("objective_latency_threshold", "0.25"),
    ] {
        assert_eq!(l.get(key).map(String::as_str), Some(value), "{key}: {l:?}");
    }

    let info = samples(&page, &["build_info"]);
    assert_eq!(info.len(), 1, "{page}");
    let (series, value) = info.iter().next().unwrap();
    assert_eq!(*value, 1.0);
    let l = labels(series);
    for (key, value) in [
        ("version", "0.9.1"),
        ("commit", "4cfd2f3"),
        ("branch", "main"),
        ("service_name", "shop-api"),
        ("repository_url", "https://github.com/shop/api"),
        ("repository_provider", "github"),
        ("autometrics_version", "1.0.0"),
    ] {
        assert_eq!(l.get(key).map(String::as_str), Some(value), "{key}: {l:?}");
    }
    drop(guard);
}

/// Per-minute samples from snapshots taken every 5 minutes: linear in between
/// (as a steady load), flat for 5 minutes after the last; `_` before a series exists.
fn values(snapshots: &[Option<f64>]) -> String {
    let mut out = Vec::new();
    for pair in snapshots.windows(2) {
        for minute in 0..5 {
            out.push(match (pair[0], pair[1]) {
                (Some(a), Some(b)) => format!("{}", a + (b - a) * f64::from(minute) / 5.0),
                (Some(a), None) => format!("{a}"),
                (None, _) => "_".to_owned(),
            });
        }
    }
    let last = snapshots.last().copied().flatten();
    for _ in 0..=5 {
        out.push(last.map_or_else(|| "_".to_owned(), |v| format!("{v}")));
    }
    out.join(" ")
}

#[test]
fn breaking_the_objective_moves_the_error_ratio_and_fires_the_alert() {
    let _turn = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let guard = telemetry();
    let addr = guard.prometheus_addr().expect("the endpoint listens");
    // One early failure, so that the error series exists from the first scrape.
    let _ = pay(true);
    for _ in 0..100 {
        let _ = pay(false);
    }
    for _ in 0..50 {
        search(false);
    }
    let first = scrape(addr);
    // Five quiet minutes of successes...
    for _ in 0..100 {
        let _ = pay(false);
    }
    for _ in 0..50 {
        search(false);
    }
    let second = scrape(addr);
    // ...then five minutes where every other payment fails.
    for _ in 0..50 {
        let _ = pay(false);
        let _ = pay(true);
    }
    // Every search is slower than its threshold there too.
    for _ in 0..50 {
        search(true);
    }
    let third = scrape(addr);
    drop(guard);

    let input = input_series(
        &[&first, &second, &third],
        &[
            "function_calls_total",
            "function_calls_duration_seconds_bucket",
            "function_calls_duration_seconds_count",
        ],
    );
    assert!(input.contains("result=\"error\""), "{input}");

    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/autometrics/rules.yml");
    let test = r#"rule_files:
  - RULES
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
INPUT
    promql_expr_test:
      # Successes only: the ratio is 0.
      - expr: slo:sli_error:ratio_rate5m
        eval_time: 5m
        exp_samples:
          - labels: 'slo:sli_error:ratio_rate5m{service_name="shop-api",objective_name="checkout",objective_percentile="99.9"}'
            value: 0
      # Every other payment fails: the ratio moves to 0.5.
      - expr: slo:sli_error:ratio_rate5m
        eval_time: 10m
        exp_samples:
          - labels: 'slo:sli_error:ratio_rate5m{service_name="shop-api",objective_name="checkout",objective_percentile="99.9"}'
            value: 0.5
      # Every call fast: no objective's latency ratio moves...
      - expr: slo:sli_latency:ratio_rate5m
        eval_time: 5m
        exp_samples:
          - labels: 'slo:sli_latency:ratio_rate5m{service_name="shop-api",objective_name="checkout",objective_percentile="99"}'
            value: 0
          - labels: 'slo:sli_latency:ratio_rate5m{service_name="shop-api",objective_name="search",objective_percentile="99"}'
            value: 0
      # ...then every search is slower than 25 ms: its ratio moves to 1, payments' stays 0.
      - expr: slo:sli_latency:ratio_rate5m
        eval_time: 10m
        exp_samples:
          - labels: 'slo:sli_latency:ratio_rate5m{service_name="shop-api",objective_name="checkout",objective_percentile="99"}'
            value: 0
          - labels: 'slo:sli_latency:ratio_rate5m{service_name="shop-api",objective_name="search",objective_percentile="99"}'
            value: 1
    alert_rule_test:
      - eval_time: 5m
        alertname: HighLatency
        exp_alerts: []
      - eval_time: 10m
        alertname: HighLatency
        exp_alerts:
          - exp_labels:
              severity: page
              service_name: shop-api
              objective_name: search
              objective_percentile: "99"
            exp_annotations:
              summary: shop-api is slower than objective search
      - eval_time: 5m
        alertname: HighErrorRate
        exp_alerts: []
      - eval_time: 10m
        alertname: HighErrorRate
        exp_alerts:
          - exp_labels:
              severity: page
              service_name: shop-api
              objective_name: checkout
              objective_percentile: "99.9"
            exp_annotations:
              summary: shop-api breaks objective checkout
"#
    .replace("RULES", rules)
    .replace("INPUT\n", &input);
    promtool_test_rules(&test);
}

/// promtool input series for the families named, from pages scraped 5 minutes apart.
fn input_series(pages: &[&String], families: &[&str]) -> String {
    let pages: Vec<_> = pages.iter().map(|p| samples(p, families)).collect();
    let series: std::collections::BTreeSet<&String> = pages.iter().flat_map(|p| p.keys()).collect();
    series
        .iter()
        .map(|s| {
            let snapshots: Vec<Option<f64>> = pages.iter().map(|p| p.get(*s).copied()).collect();
            format!(
                "      - series: '{s}'\n        values: '{}'\n",
                values(&snapshots)
            )
        })
        .collect()
}

/// Runs `promtool test rules` on the test file's text; fails with its output.
fn promtool_test_rules(test: &str) {
    let dir = std::env::temp_dir().join(format!(
        "traced-autometrics-rules-{}-{}",
        std::process::id(),
        test.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("test.yml");
    std::fs::write(&file, test).unwrap();
    let out = Command::new("promtool")
        .arg("test")
        .arg("rules")
        .arg(&file)
        .output()
        .expect("promtool (Debian package prometheus) is installed");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "promtool test rules failed:\n{}\n{}\n--- test file\n{test}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The rules file autometrics publishes, vendored unchanged (see its README.md).
const UPSTREAM_RULES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/autometrics/upstream/autometrics.rules.yml"
);

#[test]
fn the_vendored_upstream_rules_are_unchanged() {
    let out = Command::new("sha256sum")
        .arg(UPSTREAM_RULES)
        .output()
        .expect("sha256sum (coreutils) is installed");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.split_whitespace().next(),
        Some("d58240c96379021818ed17b15a14bf83e7448090aa26224b54d19489f96ebdf3"),
        "tests/autometrics/upstream/autometrics.rules.yml must stay byte for byte as published"
    );
}

const SEARCH: Objective =
    Objective::new("search").latency(ObjectiveLatency::Ms25, ObjectivePercentile::P99);
const BROWSE: Objective =
    Objective::new("browse").latency(ObjectiveLatency::Ms25, ObjectivePercentile::P99);

/// Slower than its 25 ms threshold when `slow`.
#[traced(metrics(objective = SEARCH))]
fn search(slow: bool) {
    if slow {
        std::thread::sleep(std::time::Duration::from_millis(40));
    }
}

/// Always within its 25 ms threshold.
#[traced(metrics(objective = BROWSE))]
fn browse() {}

#[test]
fn the_published_autometrics_rules_fire_unchanged_on_the_scraped_series() {
    let _turn = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let guard = telemetry();
    let addr = guard.prometheus_addr().expect("the endpoint listens");
    // Minutes 0-5: successes only, every call fast (one early failure, so that
    // the error series exists from the first scrape).
    let _ = pay(true);
    for _ in 0..100 {
        let _ = pay(false);
    }
    for _ in 0..50 {
        search(false);
        browse();
    }
    let first = scrape(addr);
    for _ in 0..100 {
        let _ = pay(false);
    }
    for _ in 0..50 {
        search(false);
        browse();
    }
    let second = scrape(addr);
    // Minutes 5-10: every other payment fails, every search is slow.
    for _ in 0..50 {
        let _ = pay(false);
        let _ = pay(true);
    }
    for _ in 0..50 {
        search(true);
        browse();
    }
    let third = scrape(addr);
    drop(guard);

    // The upstream latency rules count the bucket whose `le` equals the
    // objective's `objective_latency_threshold` label, as strings: every
    // threshold must be written the same way in both.
    let buckets = samples(&third, &["function_calls_duration_seconds_bucket"]);
    let les: std::collections::BTreeSet<String> = buckets
        .keys()
        .filter(|s| s.contains("function=\"search\""))
        .map(|s| labels(s)["le"].clone())
        .collect();
    for t in [
        ObjectiveLatency::Ms5,
        ObjectiveLatency::Ms10,
        ObjectiveLatency::Ms25,
        ObjectiveLatency::Ms50,
        ObjectiveLatency::Ms75,
        ObjectiveLatency::Ms100,
        ObjectiveLatency::Ms250,
        ObjectiveLatency::Ms500,
        ObjectiveLatency::Ms750,
        ObjectiveLatency::Ms1000,
        ObjectiveLatency::Ms2500,
        ObjectiveLatency::Ms5000,
        ObjectiveLatency::Ms7500,
        ObjectiveLatency::Ms10000,
    ] {
        assert!(les.contains(t.as_str()), "{t:?}: {les:?}");
    }
    for s in buckets.keys().filter(|s| s.contains("function=\"search\"")) {
        assert_eq!(
            labels(s)
                .get("objective_latency_threshold")
                .map(String::as_str),
            Some("0.025"),
            "{s}"
        );
    }

    let input = input_series(
        &[&first, &second, &third],
        &[
            "function_calls_total",
            "function_calls_duration_seconds_bucket",
            "function_calls_duration_seconds_count",
        ],
    );
    let test = UPSTREAM_TEST
        .replace("RULES", UPSTREAM_RULES)
        .replace("INPUT\n", &input);
    promtool_test_rules(&test);
}

/// The expectations on the upstream rules. Sloth's alerts have no `for:`; the
/// page alert needs the 5m and 1h windows (or 30m and 6h) above the burn rate,
/// and every window needs at least one call a minute (`>= 0.0166`). Ten minutes
/// of traffic fill the 5m and 1h windows; the ticket alert's 1d and 3d windows
/// need a day of traffic, so it does not fire here.
const UPSTREAM_TEST: &str = r#"rule_files:
  - RULES
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
INPUT
    promql_expr_test:
      # Successes only: the success-rate SLI is 0.
      - expr: slo:sli_error:ratio_rate5m{sloth_id="autometrics-success-rate-99_9"}
        eval_time: 5m
        exp_samples:
          - labels: 'slo:sli_error:ratio_rate5m{service_name="shop-api",objective_name="checkout",objective_percentile="99.9",sloth_id="autometrics-success-rate-99_9",sloth_service="autometrics",sloth_slo="success-rate-99_9",sloth_window="5m"}'
            value: 0
      # Every other payment fails: it moves to 0.5...
      - expr: slo:sli_error:ratio_rate5m{sloth_id="autometrics-success-rate-99_9"}
        eval_time: 10m
        exp_samples:
          - labels: 'slo:sli_error:ratio_rate5m{service_name="shop-api",objective_name="checkout",objective_percentile="99.9",sloth_id="autometrics-success-rate-99_9",sloth_service="autometrics",sloth_slo="success-rate-99_9",sloth_window="5m"}'
            value: 0.5
      # ...and the 1h window the page alert also needs is above 14.4 x the budget.
      - expr: slo:sli_error:ratio_rate1h{sloth_id="autometrics-success-rate-99_9"} > bool 0.0144
        eval_time: 10m
        exp_samples:
          - labels: '{service_name="shop-api",objective_name="checkout",objective_percentile="99.9",sloth_id="autometrics-success-rate-99_9",sloth_service="autometrics",sloth_slo="success-rate-99_9",sloth_window="1h"}'
            value: 1
      # Every call fast: the latency SLI is 0 for all three objectives.
      - expr: slo:sli_error:ratio_rate5m{sloth_id="autometrics-latency-99"}
        eval_time: 5m
        exp_samples:
          - labels: 'slo:sli_error:ratio_rate5m{service_name="shop-api",objective_name="checkout",objective_percentile="99",sloth_id="autometrics-latency-99",sloth_service="autometrics",sloth_slo="latency-99",sloth_window="5m"}'
            value: 0
          - labels: 'slo:sli_error:ratio_rate5m{service_name="shop-api",objective_name="search",objective_percentile="99",sloth_id="autometrics-latency-99",sloth_service="autometrics",sloth_slo="latency-99",sloth_window="5m"}'
            value: 0
          - labels: 'slo:sli_error:ratio_rate5m{service_name="shop-api",objective_name="browse",objective_percentile="99",sloth_id="autometrics-latency-99",sloth_service="autometrics",sloth_slo="latency-99",sloth_window="5m"}'
            value: 0
      # Every search slower than 25 ms: its SLI moves to 1; the others stay 0.
      - expr: slo:sli_error:ratio_rate5m{sloth_id="autometrics-latency-99"}
        eval_time: 10m
        exp_samples:
          - labels: 'slo:sli_error:ratio_rate5m{service_name="shop-api",objective_name="checkout",objective_percentile="99",sloth_id="autometrics-latency-99",sloth_service="autometrics",sloth_slo="latency-99",sloth_window="5m"}'
            value: 0
          - labels: 'slo:sli_error:ratio_rate5m{service_name="shop-api",objective_name="search",objective_percentile="99",sloth_id="autometrics-latency-99",sloth_service="autometrics",sloth_slo="latency-99",sloth_window="5m"}'
            value: 1
          - labels: 'slo:sli_error:ratio_rate5m{service_name="shop-api",objective_name="browse",objective_percentile="99",sloth_id="autometrics-latency-99",sloth_service="autometrics",sloth_slo="latency-99",sloth_window="5m"}'
            value: 0
      - expr: slo:sli_error:ratio_rate1h{sloth_id="autometrics-latency-99",objective_name="search"} > bool 0.144
        eval_time: 10m
        exp_samples:
          - labels: '{service_name="shop-api",objective_name="search",objective_percentile="99",sloth_id="autometrics-latency-99",sloth_service="autometrics",sloth_slo="latency-99",sloth_window="1h"}'
            value: 1
    alert_rule_test:
      - eval_time: 5m
        alertname: High Error Rate SLO - 99.9%
        exp_alerts: []
      - eval_time: 10m
        alertname: High Error Rate SLO - 99.9%
        exp_alerts:
          - exp_labels:
              category: success-rate
              severity: page
              sloth_severity: page
              service_name: shop-api
              objective_name: checkout
              objective_percentile: "99.9"
              sloth_id: autometrics-success-rate-99_9
              sloth_service: autometrics
              sloth_slo: success-rate-99_9
            exp_annotations:
              summary: High error rate on the `checkout` SLO for the `shop-api` service
              title: (page) autometrics success-rate-99_9 SLO error budget burn rate is too fast.
      - eval_time: 5m
        alertname: High Latency SLO - 99%
        exp_alerts: []
      # Only the slow function's objective: not browse, not checkout.
      - eval_time: 10m
        alertname: High Latency SLO - 99%
        exp_alerts:
          - exp_labels:
              category: latency
              severity: page
              sloth_severity: page
              service_name: shop-api
              objective_name: search
              objective_percentile: "99"
              sloth_id: autometrics-latency-99
              sloth_service: autometrics
              sloth_slo: latency-99
            exp_annotations:
              summary: High latency on the `search` SLO for the `shop-api` service
              title: (page) autometrics latency-99 SLO error budget burn rate is too fast.
"#;
