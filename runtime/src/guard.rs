//! The [`Guard`] `init` returns: it keeps telemetry installed and flushes on drop.

use std::fmt;

/// Why a flush or shutdown did not complete.
#[cfg(feature = "enabled")]
pub type Error = opentelemetry_sdk::error::OTelSdkError;

/// Why a flush or shutdown did not complete (never, with instrumentation compiled out).
#[cfg(not(feature = "enabled"))]
#[derive(Debug)]
pub enum Error {}

#[cfg(not(feature = "enabled"))]
impl fmt::Display for Error {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

#[cfg(not(feature = "enabled"))]
impl std::error::Error for Error {}

/// The providers the [`Guard`] hands out: the SDK's with the `enabled` feature,
/// types without values (the accessors return `None`) without it.
pub mod providers {
    #[cfg(feature = "enabled")]
    pub use opentelemetry_sdk::{
        logs::SdkLoggerProvider, metrics::SdkMeterProvider, trace::SdkTracerProvider,
    };

    /// No tracer provider exists with instrumentation compiled out.
    #[cfg(not(feature = "enabled"))]
    #[derive(Debug)]
    pub enum SdkTracerProvider {}
    /// No meter provider exists with instrumentation compiled out.
    #[cfg(not(feature = "enabled"))]
    #[derive(Debug)]
    pub enum SdkMeterProvider {}
    /// No logger provider exists with instrumentation compiled out.
    #[cfg(not(feature = "enabled"))]
    #[derive(Debug)]
    pub enum SdkLoggerProvider {}
}

use providers::{SdkLoggerProvider, SdkMeterProvider, SdkTracerProvider};

/// Keeps telemetry installed; dropping it flushes and shuts down, within the
/// shutdown timeout, and makes every annotation a no-op again.
#[must_use = "telemetry is shut down as soon as the guard is dropped: bind it, `let _telemetry = traced::init();`"]
pub struct Guard {
    #[cfg(feature = "enabled")]
    pub(crate) installed: Option<crate::install::Installed>,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Guard");
        #[cfg(feature = "enabled")]
        d.field("active", &self.installed.is_some());
        d.finish_non_exhaustive()
    }
}

impl Guard {
    /// A guard with nothing installed.
    pub(crate) fn noop() -> Self {
        Guard {
            #[cfg(feature = "enabled")]
            installed: None,
        }
    }

    /// The installed tracer provider (`None` when `OTEL_SDK_DISABLED=true`, or
    /// with the `enabled` feature off).
    pub fn tracer_provider(&self) -> Option<&SdkTracerProvider> {
        #[cfg(feature = "enabled")]
        return self.installed.as_ref().map(|i| &i.tracer_provider);
        #[cfg(not(feature = "enabled"))]
        return None;
    }

    /// The installed meter provider (`None` when `OTEL_SDK_DISABLED=true`, or
    /// with the `enabled` feature off).
    pub fn meter_provider(&self) -> Option<&SdkMeterProvider> {
        #[cfg(feature = "enabled")]
        return self.installed.as_ref().map(|i| &i.meter_provider);
        #[cfg(not(feature = "enabled"))]
        return None;
    }

    /// The installed logger provider (`None` when `OTEL_SDK_DISABLED=true`, or
    /// with the `enabled` feature off).
    pub fn logger_provider(&self) -> Option<&SdkLoggerProvider> {
        #[cfg(feature = "enabled")]
        return self.installed.as_ref().map(|i| &i.logger_provider);
        #[cfg(not(feature = "enabled"))]
        return None;
    }

    /// Where the Prometheus endpoint listens, when it is on.
    pub fn prometheus_addr(&self) -> Option<std::net::SocketAddr> {
        #[cfg(feature = "enabled")]
        return self
            .installed
            .as_ref()
            .and_then(crate::install::Installed::prometheus_addr);
        #[cfg(not(feature = "enabled"))]
        return None;
    }

    /// Exports every finished span, log record and the current metrics now.
    pub fn flush(&self) -> Result<(), Error> {
        #[cfg(feature = "enabled")]
        if let Some(installed) = &self.installed {
            return installed.flush();
        }
        Ok(())
    }

    /// Flushes and shuts down now, reporting the outcome (dropping does the same silently).
    pub fn shutdown(mut self) -> Result<(), Error> {
        self.close()
    }

    fn close(&mut self) -> Result<(), Error> {
        #[cfg(feature = "enabled")]
        if let Some(installed) = self.installed.take() {
            return installed.close();
        }
        Ok(())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            #[cfg(feature = "enabled")]
            if let Error::InternalFailure(what) = &e {
                eprintln!("traced: shutdown did not complete: {what}");
                return;
            }
            eprintln!("traced: shutdown did not complete: {e}");
        }
    }
}
