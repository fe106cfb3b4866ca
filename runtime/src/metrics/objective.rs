//! Service-level objectives of the call metrics (autometrics specification v1.0.0).

/// A service-level objective that functions instrumented with
/// `#[traced(metrics(objective = NAME))]` share: a success rate, a latency, or
/// both, as the autometrics specification defines them.
///
/// Declared as a `const`, so that the choice of percentile and latency threshold
/// is checked when the program is compiled: they come from the sets the
/// specification allows ([`ObjectivePercentile`], [`ObjectiveLatency`]), and an
/// objective with neither a success rate nor a latency does not compile.
///
/// The call metrics of those functions then carry the labels autometrics' alert
/// rules select on: `objective.name` on both, `objective.percentile` (the
/// success rate's on `function.calls`, the latency's on `function.calls.duration`)
/// and `objective.latency_threshold` on `function.calls.duration`.
///
/// ```
/// # use traced_runtime as traced;
/// use traced::metrics::{Objective, ObjectiveLatency, ObjectivePercentile};
///
/// const API: Objective = Objective::new("api")
///     .success_rate(ObjectivePercentile::P99_9)
///     .latency(ObjectiveLatency::Ms250, ObjectivePercentile::P99);
/// assert_eq!(API.name(), "api");
/// ```
///
/// and then, in the application, `#[traced::traced(metrics(objective = API))]`
/// on each function the objective covers (the `traced` crate's `Objective`
/// re-export has that example).
///
/// A percentile outside the specification's set does not compile:
///
/// ```compile_fail
/// # use traced_runtime as traced;
/// const API: traced::metrics::Objective =
///     traced::metrics::Objective::new("api").success_rate(traced::metrics::ObjectivePercentile::P97);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Objective {
    name: &'static str,
    success_rate: Option<ObjectivePercentile>,
    latency: Option<(ObjectiveLatency, ObjectivePercentile)>,
}

impl Objective {
    /// An objective named `name` (the `objective.name` label), to be given a
    /// success rate, a latency or both.
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// const CHECKOUT: traced::metrics::Objective =
    ///     traced::metrics::Objective::new("checkout").success_rate(traced::metrics::ObjectivePercentile::P99);
    /// assert_eq!(CHECKOUT.name(), "checkout");
    /// ```
    pub const fn new(name: &'static str) -> Self {
        Objective {
            name,
            success_rate: None,
            latency: None,
        }
    }

    /// The share of calls that must not end in an error (`result="error"`).
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// use traced::metrics::{Objective, ObjectivePercentile};
    /// const API: Objective = Objective::new("api").success_rate(ObjectivePercentile::P99_9);
    /// assert_eq!(API.success_rate_percentile(), Some(ObjectivePercentile::P99_9));
    /// ```
    pub const fn success_rate(mut self, percentile: ObjectivePercentile) -> Self {
        self.success_rate = Some(percentile);
        self
    }

    /// The share of calls that must take no longer than `threshold`.
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// use traced::metrics::{Objective, ObjectiveLatency, ObjectivePercentile};
    /// const API: Objective =
    ///     Objective::new("api").latency(ObjectiveLatency::Ms100, ObjectivePercentile::P95);
    /// assert_eq!(
    ///     API.latency_target(),
    ///     Some((ObjectiveLatency::Ms100, ObjectivePercentile::P95))
    /// );
    /// ```
    pub const fn latency(
        mut self,
        threshold: ObjectiveLatency,
        percentile: ObjectivePercentile,
    ) -> Self {
        self.latency = Some((threshold, percentile));
        self
    }

    /// The `objective.name` label.
    ///
    /// ```
    /// # use traced_runtime::metrics::{Objective, ObjectivePercentile};
    /// assert_eq!(Objective::new("api").success_rate(ObjectivePercentile::P90).name(), "api");
    /// ```
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The success rate's percentile, if the objective has one.
    ///
    /// ```
    /// # use traced_runtime::metrics::{Objective, ObjectivePercentile};
    /// assert_eq!(Objective::new("api").success_rate_percentile(), None);
    /// ```
    pub const fn success_rate_percentile(&self) -> Option<ObjectivePercentile> {
        self.success_rate
    }

    /// The latency threshold and its percentile, if the objective has them.
    ///
    /// ```
    /// # use traced_runtime::metrics::Objective;
    /// assert_eq!(Objective::new("api").latency_target(), None);
    /// ```
    pub const fn latency_target(&self) -> Option<(ObjectiveLatency, ObjectivePercentile)> {
        self.latency
    }

    /// Fails to compile, where `#[traced(metrics(objective = ..))]` names the
    /// objective, when it has neither a success rate nor a latency, or an empty name.
    #[doc(hidden)]
    pub const fn checked(&'static self) -> &'static Self {
        assert!(
            self.success_rate.is_some() || self.latency.is_some(),
            "an objective needs a success rate, a latency or both: \
             Objective::new(..).success_rate(..) / .latency(..)"
        );
        assert!(!self.name.is_empty(), "an objective needs a name");
        self
    }
}

/// The percentiles an [`Objective`] may target: the set of the autometrics
/// specification (`objective.percentile` is the label value).
///
/// ```
/// # use traced_runtime as traced;
/// assert_eq!(traced::metrics::ObjectivePercentile::P99_9.as_str(), "99.9");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectivePercentile {
    /// 90 %.
    P90,
    /// 95 %.
    P95,
    /// 99 %.
    P99,
    /// 99.9 %.
    P99_9,
}

impl ObjectivePercentile {
    /// The label value: `"90"`, `"95"`, `"99"` or `"99.9"`.
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// assert_eq!(traced::metrics::ObjectivePercentile::P95.as_str(), "95");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            ObjectivePercentile::P90 => "90",
            ObjectivePercentile::P95 => "95",
            ObjectivePercentile::P99 => "99",
            ObjectivePercentile::P99_9 => "99.9",
        }
    }
}

/// The latency thresholds an [`Objective`] may use: the autometrics
/// specification's set, each a bucket boundary of `function.calls.duration`.
///
/// ```
/// # use traced_runtime as traced;
/// assert_eq!(traced::metrics::ObjectiveLatency::Ms250.as_str(), "0.25");
/// assert_eq!(traced::metrics::ObjectiveLatency::Ms250.seconds(), 0.25);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectiveLatency {
    /// 5 ms.
    Ms5,
    /// 10 ms.
    Ms10,
    /// 25 ms.
    Ms25,
    /// 50 ms.
    Ms50,
    /// 75 ms.
    Ms75,
    /// 100 ms.
    Ms100,
    /// 250 ms.
    Ms250,
    /// 500 ms.
    Ms500,
    /// 750 ms.
    Ms750,
    /// 1 s.
    Ms1000,
    /// 2.5 s.
    Ms2500,
    /// 5 s.
    Ms5000,
    /// 7.5 s.
    Ms7500,
    /// 10 s.
    Ms10000,
}

impl ObjectiveLatency {
    /// The label value, in seconds as the histogram's `le` writes them.
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// assert_eq!(traced::metrics::ObjectiveLatency::Ms1000.as_str(), "1");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            ObjectiveLatency::Ms5 => "0.005",
            ObjectiveLatency::Ms10 => "0.01",
            ObjectiveLatency::Ms25 => "0.025",
            ObjectiveLatency::Ms50 => "0.05",
            ObjectiveLatency::Ms75 => "0.075",
            ObjectiveLatency::Ms100 => "0.1",
            ObjectiveLatency::Ms250 => "0.25",
            ObjectiveLatency::Ms500 => "0.5",
            ObjectiveLatency::Ms750 => "0.75",
            ObjectiveLatency::Ms1000 => "1",
            ObjectiveLatency::Ms2500 => "2.5",
            ObjectiveLatency::Ms5000 => "5",
            ObjectiveLatency::Ms7500 => "7.5",
            ObjectiveLatency::Ms10000 => "10",
        }
    }

    /// The threshold in seconds.
    ///
    /// ```
    /// # use traced_runtime as traced;
    /// assert_eq!(traced::metrics::ObjectiveLatency::Ms5.seconds(), 0.005);
    /// ```
    pub const fn seconds(self) -> f64 {
        match self {
            ObjectiveLatency::Ms5 => 0.005,
            ObjectiveLatency::Ms10 => 0.01,
            ObjectiveLatency::Ms25 => 0.025,
            ObjectiveLatency::Ms50 => 0.05,
            ObjectiveLatency::Ms75 => 0.075,
            ObjectiveLatency::Ms100 => 0.1,
            ObjectiveLatency::Ms250 => 0.25,
            ObjectiveLatency::Ms500 => 0.5,
            ObjectiveLatency::Ms750 => 0.75,
            ObjectiveLatency::Ms1000 => 1.0,
            ObjectiveLatency::Ms2500 => 2.5,
            ObjectiveLatency::Ms5000 => 5.0,
            ObjectiveLatency::Ms7500 => 7.5,
            ObjectiveLatency::Ms10000 => 10.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_threshold_is_a_bucket_boundary_written_as_its_seconds() {
        use ObjectiveLatency::*;
        let all = [
            Ms5, Ms10, Ms25, Ms50, Ms75, Ms100, Ms250, Ms500, Ms750, Ms1000, Ms2500, Ms5000,
            Ms7500, Ms10000,
        ];
        assert_eq!(all.len(), super::super::CALL_DURATION_BUCKETS.len());
        for (t, bound) in all.into_iter().zip(super::super::CALL_DURATION_BUCKETS) {
            assert_eq!(t.seconds(), bound, "{t:?}");
            assert_eq!(t.as_str().parse::<f64>().unwrap(), bound, "{t:?}");
        }
    }
}
