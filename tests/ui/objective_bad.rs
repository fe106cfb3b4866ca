use traced::{traced, Objective, ObjectiveLatency, ObjectivePercentile};

// A percentile outside the autometrics set.
const WRONG_PERCENTILE: Objective = Objective::new("api").success_rate(ObjectivePercentile::P97);

// A latency threshold outside the autometrics set.
const WRONG_THRESHOLD: Objective =
    Objective::new("api").latency(ObjectiveLatency::Ms300, ObjectivePercentile::P99);

// Neither a success rate nor a latency.
const NO_TARGET: Objective = Objective::new("api");

#[traced(metrics(objective = NO_TARGET))]
fn no_target() {}

// Not an objective at all.
#[traced(metrics(objective = 99.9))]
fn not_an_objective() {}

#[traced(metrics(objective))]
fn no_value() {}

fn main() {
    let _ = (WRONG_PERCENTILE, WRONG_THRESHOLD);
    no_target();
    not_an_objective();
    no_value();
}
