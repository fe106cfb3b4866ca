//! What the application's build knew of itself, for the `build_info` metric.

/// What the application's build knew of itself, read by `init!()` where the
/// application is compiled: the fallbacks of the `build_info` metric's `commit`,
/// `branch` and `repository.url` labels (the `AUTOMETRICS_*` variables at run
/// time win over them).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrateBuild {
    /// `AUTOMETRICS_COMMIT`, else `VERGEN_GIT_SHA`, at compile time.
    pub commit: Option<&'static str>,
    /// `AUTOMETRICS_BRANCH`, else `VERGEN_GIT_BRANCH`, at compile time.
    pub branch: Option<&'static str>,
    /// `AUTOMETRICS_REPOSITORY_URL`, else the package's `repository`, at compile time.
    pub repository_url: Option<&'static str>,
    /// `AUTOMETRICS_REPOSITORY_PROVIDER` at compile time.
    pub repository_provider: Option<&'static str>,
}
