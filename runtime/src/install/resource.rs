//! The resource every signal carries.

use crate::builder::Builder;
use crate::settings::Settings;
use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;

/// Built from [`Settings`] (code over environment), not by the SDK's
/// environment detectors, so that `setting(..)` and `ignore_env()` apply.
pub(crate) fn build(builder: &Builder, settings: &Settings) -> Resource {
    use opentelemetry_sdk::resource::TelemetryResourceDetector;
    let mut resource = Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_attributes(
            settings
                .resource
                .attributes
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        );
    let name = settings
        .resource
        .service_name
        .clone()
        .or_else(|| builder.service_name.clone())
        .unwrap_or_else(default_service_name);
    resource = resource.with_service_name(name);
    let version = builder.service_version.clone().or_else(|| {
        std::env::var("CARGO_PKG_VERSION")
            .ok()
            .filter(|v| !v.is_empty())
    });
    if let Some(version) = version {
        resource = resource.with_attribute(KeyValue::new(
            opentelemetry_semantic_conventions::resource::SERVICE_VERSION,
            version,
        ));
    }
    resource.with_attributes(builder.resource.clone()).build()
}

/// The crate being run by cargo, else the executable's file name.
fn default_service_name() -> String {
    std::env::var("CARGO_PKG_NAME")
        .ok()
        .filter(|n| !n.is_empty())
        .or_else(|| {
            std::env::current_exe()
                .ok()?
                .file_stem()?
                .to_str()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown_service".to_owned())
}
