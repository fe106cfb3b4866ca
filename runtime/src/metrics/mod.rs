//! Metrics: the OpenTelemetry instruments, the meter of a crate, and the
//! call metrics of `#[traced(metrics)]`.
//!
//! | instrument | records | use it for |
//! |---|---|---|
//! | [`Counter`] (`u64`, `f64`) | increments | requests served, bytes sent |
//! | [`ObservableCounter`] (`u64`, `f64`) | a monotonic total read by a callback | CPU time, page faults read from the OS |
//! | [`UpDownCounter`] (`i64`, `f64`) | increments and decrements | items in a queue, open connections |
//! | [`ObservableUpDownCounter`] (`i64`, `f64`) | a total that goes both ways, read by a callback | pool size kept elsewhere |
//! | [`Gauge`] / [`ObservableGauge`] (`u64`, `i64`, `f64`) | the current value, not summed | temperature, a configuration value |
//! | [`Histogram`] (`u64`, `f64`) | a distribution | request durations, payload sizes |
//!
//! The synchronous instruments here are the OpenTelemetry ones plus exemplars:
//! a measurement made inside a sampled span is linked to it (see [`exemplars`]).

pub(crate) mod build;
#[cfg(feature = "enabled")]
mod concurrent;
pub mod exemplars;
mod instruments;
mod objective;

#[cfg(feature = "enabled")]
#[doc(hidden)]
pub use concurrent::{in_flight, ConcurrentCalls, InFlight, InFlightFuture};

pub use objective::{Objective, ObjectiveLatency, ObjectivePercentile};

pub use instruments::{Counter, FromInstrument, Gauge, Histogram, Measure, UpDownCounter};
pub use opentelemetry::metrics::{
    AsyncInstrument, Meter, ObservableCounter, ObservableGauge, ObservableUpDownCounter,
};

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::Mutex;

/// Bumped each time `init` installs (or a guard uninstalls) a meter provider, so
/// that lazily built instruments are rebuilt on the provider in force.
static GENERATION: AtomicU64 = AtomicU64::new(1);

#[cfg(feature = "enabled")]
pub(crate) fn provider_changed() {
    exemplars::clear_all();
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// The meter of an instrumentation scope (a crate's name and version) on the
/// global meter provider.
pub fn meter(name: &'static str, version: &'static str) -> Meter {
    opentelemetry::global::meter_with_scope(
        opentelemetry::InstrumentationScope::builder(name)
            .with_version(version)
            .build(),
    )
}

/// A value built lazily from the meter provider in force, rebuilt when `init`
/// installs another one. Each generation's value is leaked (once per `init`) so
/// that readers get a `&'static` without locking.
#[doc(hidden)]
pub struct GlobalInstance<T: 'static> {
    current: AtomicPtr<(u64, T)>,
    build_lock: Mutex<()>,
}

impl<T: 'static> GlobalInstance<T> {
    /// An empty slot, for a `static`.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        GlobalInstance {
            current: AtomicPtr::new(std::ptr::null_mut()),
            build_lock: Mutex::new(()),
        }
    }

    /// The value for the meter provider in force, built by `build` if needed.
    #[inline]
    pub fn get(&'static self, build: impl FnOnce() -> T) -> &'static T {
        let generation = GENERATION.load(Ordering::Acquire);
        let ptr = self.current.load(Ordering::Acquire);
        // SAFETY: a non-null pointer always comes from `Box::leak` below and is never freed.
        if let Some(slot) = unsafe { ptr.as_ref() } {
            if slot.0 == generation {
                return &slot.1;
            }
        }
        self.rebuild(generation, build)
    }

    #[cold]
    fn rebuild(&'static self, generation: u64, build: impl FnOnce() -> T) -> &'static T {
        let _one_builder = self
            .build_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let ptr = self.current.load(Ordering::Acquire);
        // SAFETY: as in `get`.
        if let Some(slot) = unsafe { ptr.as_ref() } {
            if slot.0 == generation {
                return &slot.1;
            }
        }
        let slot: &'static (u64, T) = Box::leak(Box::new((generation, build())));
        self.current
            .store((slot as *const (u64, T)).cast_mut(), Ordering::Release);
        &slot.1
    }
}

/// The SDK's default histogram bucket boundaries (used when a histogram names none).
pub const DEFAULT_HISTOGRAM_BOUNDS: [f64; 15] = [
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// Bucket boundaries (seconds) of `function.calls.duration`, as autometrics uses them.
pub const CALL_DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

#[cfg(feature = "enabled")]
struct CallInstruments {
    calls: Counter<u64>,
    duration: Histogram<f64>,
}

#[cfg(feature = "enabled")]
fn call_instruments() -> &'static CallInstruments {
    static INSTANCE: GlobalInstance<CallInstruments> = GlobalInstance::new();
    INSTANCE.get(|| {
        let meter = meter("traced", env!("CARGO_PKG_VERSION"));
        CallInstruments {
            calls: Counter::new(
                meter
                    .u64_counter("function.calls")
                    .with_description("Calls of functions instrumented with #[traced(metrics)]")
                    .build(),
                "function.calls",
                None,
            ),
            duration: Histogram::new(
                meter
                    .f64_histogram("function.calls.duration")
                    .with_unit("s")
                    .with_description(
                        "Duration of calls of functions instrumented with #[traced(metrics)]",
                    )
                    .with_boundaries(CALL_DURATION_BUCKETS.to_vec())
                    .build(),
                "function.calls.duration",
                Some(CALL_DURATION_BUCKETS.to_vec()),
            ),
        }
    })
}

/// The bound instruments of one `(function, caller, result)` label set.
#[cfg(feature = "enabled")]
struct Bound {
    calls: opentelemetry::metrics::BoundCounter<u64>,
    duration: opentelemetry::metrics::BoundHistogram<f64>,
    /// The exemplar cells of the two instruments, bound at the first call that
    /// may give exemplars (`None` inside: that instrument's reservoir is full).
    exemplars: Option<(
        Option<exemplars::BoundExemplars>,
        Option<exemplars::BoundExemplars>,
    )>,
}

/// When a call of `#[traced(metrics)]` started, on the monotonic clock (the one
/// `Instant` reads), in nanoseconds: the duration is a subtraction, without
/// `Instant`'s checked `timespec` arithmetic.
#[cfg(feature = "enabled")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallStart(u64);

#[cfg(feature = "enabled")]
impl CallStart {
    /// Now.
    #[inline]
    pub(crate) fn now() -> Self {
        CallStart(monotonic_nanos())
    }

    /// The seconds since the start.
    #[inline]
    fn elapsed_secs(self) -> f64 {
        monotonic_nanos().saturating_sub(self.0) as f64 / 1e9
    }
}

/// The monotonic clock in nanoseconds (`CLOCK_MONOTONIC`).
#[cfg(all(feature = "enabled", unix))]
#[inline]
fn monotonic_nanos() -> u64 {
    // SAFETY: all-zero is a valid `timespec` (integers only).
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `ts` is a valid, writable `timespec`; `CLOCK_MONOTONIC` exists on
    // every unix `std` supports, so the call does not fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// The monotonic clock in nanoseconds since the first read.
#[cfg(all(feature = "enabled", not(unix)))]
#[inline]
fn monotonic_nanos() -> u64 {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    EPOCH
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_nanos() as u64
}

/// Hashes the `(site, caller, failed)` key: two addresses and a flag.
#[cfg(feature = "enabled")]
#[derive(Default)]
struct KeyHasher(u64);

#[cfg(feature = "enabled")]
impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(feature = "enabled")]
type BoundMap = std::collections::HashMap<
    (usize, usize, bool),
    Bound,
    std::hash::BuildHasherDefault<KeyHasher>,
>;

#[cfg(feature = "enabled")]
thread_local! {
    /// Per thread: the generation of the meter provider, and the bound instruments
    /// of each label set seen on this thread.
    static BOUND: std::cell::RefCell<(u64, BoundMap)> = const {
        std::cell::RefCell::new((
            0,
            BoundMap::with_hasher(std::hash::BuildHasherDefault::new()),
        ))
    };
}

/// The `service.name` label of the call metrics: the resource's (or
/// `AUTOMETRICS_SERVICE_NAME`), set by `init` before it bumps the generation, so
/// that labels bound afterwards carry it. Leaked once per `init`.
#[cfg(feature = "enabled")]
static SERVICE_NAME: AtomicPtr<String> = AtomicPtr::new(std::ptr::null_mut());

#[cfg(feature = "enabled")]
pub(crate) fn set_service_name(name: &str) {
    let leaked: &'static mut String = Box::leak(Box::new(name.to_owned()));
    SERVICE_NAME.store(leaked, Ordering::Release);
}

#[cfg(feature = "enabled")]
fn service_name() -> &'static str {
    // SAFETY: a non-null pointer comes from `Box::leak` in `set_service_name`, never freed.
    unsafe { SERVICE_NAME.load(Ordering::Acquire).as_ref() }.map_or("", String::as_str)
}

/// The labels of one call: up to 8 for `function.calls`, up to 6 for
/// `function.calls.duration` (the objective's, when the function has one).
#[cfg(feature = "enabled")]
struct CallLabels {
    calls: [opentelemetry::KeyValue; 8],
    calls_len: usize,
    duration: [opentelemetry::KeyValue; 6],
    duration_len: usize,
}

#[cfg(feature = "enabled")]
impl CallLabels {
    fn calls(&self) -> &[opentelemetry::KeyValue] {
        &self.calls[..self.calls_len]
    }
    fn duration(&self) -> &[opentelemetry::KeyValue] {
        &self.duration[..self.duration_len]
    }
}

/// What the call metrics of `#[traced(metrics)]` take from a call site (the
/// instrumentation's `CallSite` implements it, so that this module does not
/// depend on the instrumentation).
#[cfg(feature = "enabled")]
pub(crate) trait MetricSite: 'static {
    /// The function's own name (the `function` label).
    fn fn_name(&self) -> &'static str;
    /// `module_path!()` (the `module` label).
    fn module(&self) -> &'static str;
    /// The objective, whose labels the call metrics carry.
    fn objective(&self) -> Option<&'static Objective>;
}

#[cfg(feature = "enabled")]
fn call_labels<S: MetricSite>(
    site: &'static S,
    caller: Option<&'static S>,
    failed: bool,
) -> CallLabels {
    use opentelemetry::KeyValue;
    let empty = || KeyValue::new("", "");
    let function = KeyValue::new("function", site.fn_name());
    let module = KeyValue::new("module", site.module());
    let service = KeyValue::new("service.name", service_name());
    let mut labels = CallLabels {
        calls: [
            function.clone(),
            module.clone(),
            service.clone(),
            KeyValue::new("result", if failed { "error" } else { "ok" }),
            KeyValue::new("caller.function", caller.map_or("", |c| c.fn_name())),
            KeyValue::new("caller.module", caller.map_or("", |c| c.module())),
            empty(),
            empty(),
        ],
        calls_len: 6,
        duration: [function, module, service, empty(), empty(), empty()],
        duration_len: 3,
    };
    if let Some(objective) = site.objective() {
        if let Some(percentile) = objective.success_rate_percentile() {
            labels.calls[6] = KeyValue::new("objective.name", objective.name());
            labels.calls[7] = KeyValue::new("objective.percentile", percentile.as_str());
            labels.calls_len = 8;
        }
        if let Some((threshold, percentile)) = objective.latency_target() {
            labels.duration[3] = KeyValue::new("objective.name", objective.name());
            labels.duration[4] = KeyValue::new("objective.percentile", percentile.as_str());
            labels.duration[5] = KeyValue::new("objective.latency_threshold", threshold.as_str());
            labels.duration_len = 6;
        }
    }
    labels
}

/// Records one call of `#[traced(metrics)]`, with the autometrics labels.
///
/// The label set of a call is one of few per function (its callers, ok or
/// error): each is bound once per thread and meter provider, instruments and
/// exemplar cells, so a call records without hashing its labels, also when it
/// leaves exemplars.
#[cfg(feature = "enabled")]
pub(crate) fn record_call<S: MetricSite>(
    site: &'static S,
    caller: Option<&'static S>,
    failed: bool,
    start: CallStart,
    span: (
        opentelemetry::trace::TraceId,
        opentelemetry::trace::SpanId,
        bool,
    ),
) {
    let seconds = start.elapsed_secs();
    let eligible = exemplars::eligible(span.2);
    let key = (
        site as *const S as usize,
        caller.map_or(0, |c| c as *const S as usize),
        failed,
    );
    let recorded = BOUND
        .try_with(|bound| {
            let mut bound = bound.borrow_mut();
            let generation = GENERATION.load(Ordering::Acquire);
            if bound.0 != generation {
                bound.1.clear();
                bound.0 = generation;
            }
            let b = bound.1.entry(key).or_insert_with(|| {
                let instruments = call_instruments();
                let labels = call_labels(site, caller, failed);
                Bound {
                    calls: instruments.calls.inner().bind(labels.calls()),
                    duration: instruments.duration.inner().bind(labels.duration()),
                    exemplars: None,
                }
            });
            b.calls.add(1);
            b.duration.record(seconds);
            if !eligible {
                return;
            }
            let (calls, duration) = b.exemplars.get_or_insert_with(|| {
                let instruments = call_instruments();
                let labels = call_labels(site, caller, failed);
                (
                    instruments.calls.bind_exemplars(labels.calls()),
                    instruments.duration.bind_exemplars(labels.duration()),
                )
            });
            // One wall-clock read for both exemplars.
            let time = std::time::SystemTime::now();
            if let Some(calls) = calls {
                calls.store(1u64.num(), time, span.0, span.1);
            }
            if let Some(duration) = duration {
                duration.store(seconds.num(), time, span.0, span.1);
            }
        })
        .is_ok();
    if !recorded {
        // Thread teardown: record the slow way.
        let instruments = call_instruments();
        let labels = call_labels(site, caller, failed);
        instruments.calls.add_in(1, labels.calls(), span);
        instruments
            .duration
            .record_in(seconds, labels.duration(), span);
    }
}

/// The labels of the `build_info` gauge (autometrics specification v1.0.0), in
/// OpenTelemetry form: Prometheus reads `service.name` as `service_name` and so on.
#[cfg(feature = "enabled")]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct BuildInfo {
    pub(crate) version: String,
    pub(crate) commit: String,
    pub(crate) branch: String,
    pub(crate) service_name: String,
    pub(crate) repository_url: String,
    pub(crate) repository_provider: String,
}

/// The autometrics specification the call metrics follow.
#[cfg(feature = "enabled")]
const AUTOMETRICS_VERSION: &str = "1.0.0";

#[cfg(feature = "enabled")]
impl BuildInfo {
    /// Run-time `AUTOMETRICS_*` variables (read through `lookup`) over what the
    /// application's build knew, over the resource's `service.version`.
    pub(crate) fn resolve(
        lookup: impl Fn(&str) -> Option<String>,
        build: &build::CrateBuild,
        service_name: &str,
        service_version: Option<&str>,
    ) -> Self {
        let pick = |var: &str, fallback: Option<&str>| {
            lookup(var)
                .filter(|v| !v.is_empty())
                .or_else(|| fallback.filter(|v| !v.is_empty()).map(str::to_owned))
                .unwrap_or_default()
        };
        let repository_url = pick("AUTOMETRICS_REPOSITORY_URL", build.repository_url);
        let detected = repository_provider(&repository_url);
        BuildInfo {
            version: pick("AUTOMETRICS_VERSION", service_version),
            commit: pick("AUTOMETRICS_COMMIT", build.commit),
            branch: pick("AUTOMETRICS_BRANCH", build.branch),
            service_name: pick("AUTOMETRICS_SERVICE_NAME", Some(service_name)),
            repository_provider: pick(
                "AUTOMETRICS_REPOSITORY_PROVIDER",
                build.repository_provider.or(detected),
            ),
            repository_url,
        }
    }

    fn labels(&self) -> Vec<opentelemetry::KeyValue> {
        use opentelemetry::KeyValue;
        vec![
            KeyValue::new("version", self.version.clone()),
            KeyValue::new("commit", self.commit.clone()),
            KeyValue::new("branch", self.branch.clone()),
            KeyValue::new("service.name", self.service_name.clone()),
            KeyValue::new("repository.url", self.repository_url.clone()),
            KeyValue::new("repository.provider", self.repository_provider.clone()),
            KeyValue::new("autometrics.version", AUTOMETRICS_VERSION),
        ]
    }

    /// Registers `build_info` (always 1) on `provider`, and makes `service_name`
    /// the `service.name` label of the call metrics bound from now on.
    pub(crate) fn install(
        &self,
        provider: &opentelemetry_sdk::metrics::SdkMeterProvider,
    ) -> ObservableGauge<u64> {
        use opentelemetry::metrics::MeterProvider as _;
        set_service_name(&self.service_name);
        let labels = self.labels();
        provider
            .meter_with_scope(
                opentelemetry::InstrumentationScope::builder("traced")
                    .with_version(env!("CARGO_PKG_VERSION"))
                    .build(),
            )
            .u64_observable_gauge("build_info")
            .with_description("Version and build of the service (autometrics)")
            .with_callback(move |observer| observer.observe(1, &labels))
            .build()
    }
}

/// The `repository.provider` of a repository URL, when its host is a known one.
#[cfg(feature = "enabled")]
fn repository_provider(url: &str) -> Option<&'static str> {
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    [
        ("github.com", "github"),
        ("gitlab.com", "gitlab"),
        ("bitbucket.org", "bitbucket"),
    ]
    .into_iter()
    .find(|(h, _)| host == *h || host.ends_with(&format!(".{h}")))
    .map(|(_, provider)| provider)
}

/// Checks an instrument name against the OpenTelemetry rules (used by the derive at
/// compile time, and by tests).
pub fn is_valid_instrument_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && name.len() <= 255
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_is_rebuilt_per_generation() {
        static SLOT: GlobalInstance<u64> = GlobalInstance::new();
        let a = SLOT.get(|| 1);
        assert_eq!(*a, 1);
        assert_eq!(*SLOT.get(|| 2), 1, "same generation: built once");
        GENERATION.fetch_add(1, Ordering::AcqRel);
        assert_eq!(*SLOT.get(|| 3), 3, "new provider: rebuilt");
    }

    #[cfg(feature = "enabled")]
    #[test]
    fn repository_providers_are_detected_from_the_url() {
        assert_eq!(
            repository_provider("https://github.com/a/b"),
            Some("github")
        );
        assert_eq!(
            repository_provider("git@github.com:a/b.git"),
            Some("github")
        );
        assert_eq!(
            repository_provider("https://gitlab.com/a/b"),
            Some("gitlab")
        );
        assert_eq!(
            repository_provider("https://bitbucket.org/a/b"),
            Some("bitbucket")
        );
        assert_eq!(repository_provider("https://git.example.org/a/b"), None);
        assert_eq!(repository_provider(""), None);
    }

    #[cfg(feature = "enabled")]
    #[test]
    fn build_info_prefers_the_run_time_variables() {
        let build = build::CrateBuild {
            commit: Some("abc123"),
            branch: Some("main"),
            repository_url: Some("https://github.com/shop/api"),
            repository_provider: None,
        };
        let none = |_: &str| None;
        let info = BuildInfo::resolve(none, &build, "shop-api", Some("0.9.1"));
        assert_eq!(
            info,
            BuildInfo {
                version: "0.9.1".into(),
                commit: "abc123".into(),
                branch: "main".into(),
                service_name: "shop-api".into(),
                repository_url: "https://github.com/shop/api".into(),
                repository_provider: "github".into(),
            }
        );
        let env = |var: &str| {
            let value = match var {
                "AUTOMETRICS_VERSION" => "1.2.3",
                "AUTOMETRICS_COMMIT" => "def456",
                "AUTOMETRICS_BRANCH" => "release",
                "AUTOMETRICS_SERVICE_NAME" => "checkout",
                "AUTOMETRICS_REPOSITORY_URL" => "https://git.example.org/shop",
                "AUTOMETRICS_REPOSITORY_PROVIDER" => "gitea",
                _ => return None,
            };
            Some(value.to_owned())
        };
        let info = BuildInfo::resolve(env, &build, "shop-api", Some("0.9.1"));
        assert_eq!(
            info,
            BuildInfo {
                version: "1.2.3".into(),
                commit: "def456".into(),
                branch: "release".into(),
                service_name: "checkout".into(),
                repository_url: "https://git.example.org/shop".into(),
                repository_provider: "gitea".into(),
            }
        );
    }

    #[test]
    fn names_follow_the_rules() {
        assert!(is_valid_instrument_name("shop.cart.items_added"));
        assert!(is_valid_instrument_name("a/b-c"));
        assert!(!is_valid_instrument_name("1abc"));
        assert!(!is_valid_instrument_name("has space"));
        assert!(!is_valid_instrument_name(""));
        assert!(!is_valid_instrument_name(&"a".repeat(256)));
    }
}
