//! What the [`Builder`](crate::Builder) keeps of the processors and exporters
//! added in code: each as a step that `init` builds with the settings it
//! resolved. Both the `Builder` (which makes the steps) and `install` (which
//! runs them) use this module; it uses neither.

pub(crate) mod logs;
pub(crate) mod metrics;
pub(crate) mod traces;

pub(crate) use logs::LogStep;
pub(crate) use metrics::MeterStep;
pub(crate) use traces::SpanStep;
