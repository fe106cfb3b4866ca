//! The small Tokio runtime that network exporters run on.
//!
//! Exporters need Tokio (network clients, the Prometheus server). So that `init`
//! works the same from a plain `main`, a multi-thread and a current-thread Tokio
//! runtime, they run on a runtime owned by this crate: one worker thread, started
//! on first use and never dropped (dropping a runtime inside an async context
//! panics).

use std::sync::OnceLock;
use tokio::runtime::Runtime;

pub(crate) fn runtime() -> Result<&'static Runtime, String> {
    // Built inside `get_or_init`: a runtime built by a thread that lost a race
    // would have to be dropped.
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("traced-export")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the export runtime: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}
