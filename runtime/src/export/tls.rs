//! TLS for the OTLP exporters (the `tls` feature): the files the settings name,
//! read and checked when an exporter is built, and the client configurations
//! made from them, for OTLP/HTTP (rustls through hyper-rustls) and OTLP/gRPC
//! (tonic's rustls). Both use rustls with the `ring` crypto provider.
//!
//! Without a CA file the Mozilla root certificates (webpki-roots) are trusted;
//! with one (`OTEL_EXPORTER_OTLP_(<SIGNAL>_)CERTIFICATE`), only the certificates
//! it holds. A client key and certificate chain (`..._CLIENT_KEY`,
//! `..._CLIENT_CERTIFICATE`) are presented to a server that asks for one
//! (mutual TLS). Every problem with a file is an error naming the setting and
//! the file, at `init`.

use crate::settings::{OtlpTarget, Setting};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// The TLS material of one exporter, read and checked.
pub(crate) struct TlsFiles {
    /// The CA file as read (for tonic) and its certificates (for rustls).
    ca: Option<(Vec<u8>, Vec<CertificateDer<'static>>)>,
    identity: Option<ClientIdentity>,
}

/// A client certificate chain and its private key.
struct ClientIdentity {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    /// `OTEL_..._CLIENT_KEY="..." and OTEL_..._CLIENT_CERTIFICATE="..."`, for
    /// messages.
    named: String,
}

fn named(s: &Setting) -> String {
    format!("{}={:?}", s.name, s.value)
}

fn read(s: &Setting) -> Result<Vec<u8>, String> {
    std::fs::read(&s.value).map_err(|e| format!("{}: cannot read the file: {e}", named(s)))
}

fn pem_error(s: &Setting, what: &str, e: &pem::Error) -> String {
    match e {
        pem::Error::NoItemsFound => format!(
            "{}: the file holds no {what} (expected PEM: -----BEGIN ...-----)",
            named(s)
        ),
        other => format!("{}: the file is not valid PEM: {other}", named(s)),
    }
}

fn certificates(s: &Setting, bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(s, "certificate", &e))?;
    if certs.is_empty() {
        return Err(pem_error(s, "certificate", &pem::Error::NoItemsFound));
    }
    Ok(certs)
}

/// The TLS files `target` names, read and parsed. The client key and the client
/// certificate come together or not at all.
pub(crate) fn files(target: &OtlpTarget) -> Result<TlsFiles, String> {
    let ca = match &target.certificate {
        Some(s) => {
            let bytes = read(s)?;
            let certs = certificates(s, &bytes)?;
            Some((bytes, certs))
        }
        None => None,
    };
    let identity = match (&target.client_key, &target.client_certificate) {
        (None, None) => None,
        (Some(given), None) | (None, Some(given)) => {
            let missing = if target.client_key.is_some() {
                given.name.replace("CLIENT_KEY", "CLIENT_CERTIFICATE")
            } else {
                given.name.replace("CLIENT_CERTIFICATE", "CLIENT_KEY")
            };
            return Err(format!(
                "{} is set but {missing} is not: a client certificate (mutual TLS) needs both \
                 the private key and the certificate chain",
                named(given)
            ));
        }
        (Some(key_setting), Some(cert_setting)) => {
            let key_pem = read(key_setting)?;
            let cert_pem = read(cert_setting)?;
            let chain = certificates(cert_setting, &cert_pem)?;
            let key = PrivateKeyDer::from_pem_slice(&key_pem)
                .map_err(|e| pem_error(key_setting, "private key", &e))?;
            Some(ClientIdentity {
                cert_pem,
                key_pem,
                chain,
                key,
                named: format!("{} and {}", named(key_setting), named(cert_setting)),
            })
        }
    };
    let files = TlsFiles { ca, identity };
    // Every check rustls makes (a CA certificate it cannot use, a key that does
    // not match the certificate), at init rather than at the first export.
    rustls_config(&files, target)?;
    Ok(files)
}

/// The rustls client configuration of the OTLP/HTTP exporter.
pub(crate) fn rustls_config(
    files: &TlsFiles,
    target: &OtlpTarget,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    match (&files.ca, &target.certificate) {
        (Some((_, certs)), Some(s)) => {
            for (i, cert) in certs.iter().enumerate() {
                roots.add(cert.clone()).map_err(|e| {
                    format!(
                        "{}: certificate {} of the file cannot be trusted: {e}",
                        named(s),
                        i + 1
                    )
                })?;
            }
        }
        _ => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_root_certificates(roots);
    Ok(match &files.identity {
        Some(id) => builder
            .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
            .map_err(|e| format!("{}: not a usable client certificate: {e}", id.named))?,
        None => builder.with_no_client_auth(),
    })
}

/// The HTTP client of an OTLP/HTTP exporter sending to an `https` endpoint.
pub(crate) fn https_client(
    target: &OtlpTarget,
) -> Result<Box<dyn opentelemetry_http::HttpClient>, String> {
    let config = rustls_config(&files(target)?, target)?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .build();
    Ok(Box::new(opentelemetry_http::hyper::HyperClient::new(
        connector,
        target.timeout,
        None,
    )))
}

/// The tonic TLS configuration of an OTLP/gRPC exporter sending to an `https`
/// endpoint.
pub(crate) fn tonic_config(
    target: &OtlpTarget,
) -> Result<tonic::transport::ClientTlsConfig, String> {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity};
    let files = files(target)?;
    let mut config = ClientTlsConfig::new();
    config = match &files.ca {
        Some((pem, _)) => config.ca_certificate(Certificate::from_pem(pem)),
        None => config.with_webpki_roots(),
    };
    if let Some(id) = &files.identity {
        config = config.identity(Identity::from_pem(&id.cert_pem, &id.key_pem));
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn target(pairs: &[(&str, &str)]) -> OtlpTarget {
        let setting = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| n.ends_with(name))
                .map(|(n, v)| Setting {
                    name: (*n).to_owned(),
                    value: (*v).to_owned(),
                })
        };
        OtlpTarget {
            protocol: crate::choices::Protocol::HttpProtobuf,
            endpoint: "https://127.0.0.1:4318/v1/traces".to_owned(),
            endpoint_from: "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(),
            endpoint_written: "https://127.0.0.1:4318".to_owned(),
            insecure: false,
            headers: Vec::new(),
            timeout: Duration::from_secs(1),
            certificate: setting("_CERTIFICATE").filter(|s| !s.name.contains("CLIENT")),
            client_key: setting("_CLIENT_KEY"),
            client_certificate: setting("_CLIENT_CERTIFICATE"),
            compression: crate::settings::Compression::None,
        }
    }

    fn temp(name: &str, contents: &str) -> String {
        let dir = std::env::temp_dir().join(format!("traced-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_string_lossy().into_owned()
    }

    fn error(pairs: &[(&str, &str)]) -> String {
        match files(&target(pairs)) {
            Ok(_) => panic!("{pairs:?} should be refused"),
            Err(e) => e,
        }
    }

    #[test]
    fn the_default_roots_need_no_file() {
        assert!(files(&target(&[])).is_ok());
        assert!(tonic_config(&target(&[])).is_ok());
    }

    #[test]
    fn file_problems_name_the_setting_and_the_file() {
        let e = error(&[("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem")]);
        assert!(
            e.starts_with(
                "OTEL_EXPORTER_OTLP_CERTIFICATE=\"/nonexistent/ca.pem\": cannot read the file"
            ),
            "{e}"
        );
        let empty = temp("empty.pem", "not a certificate\n");
        let e = error(&[("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", &empty)]);
        assert!(
            e.starts_with(&format!("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE={empty:?}"))
                && e.contains("holds no certificate"),
            "{e}"
        );
        let garbled = temp(
            "garbled.pem",
            "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
        );
        let e = error(&[("OTEL_EXPORTER_OTLP_CERTIFICATE", &garbled)]);
        assert!(e.contains("not valid PEM"), "{e}");
        let e = error(&[("OTEL_EXPORTER_OTLP_CLIENT_KEY", &empty)]);
        assert!(
            e.contains("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE is not") && e.contains("needs both"),
            "{e}"
        );
        let e = error(&[("OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE", &empty)]);
        assert!(
            e.contains("OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY is not"),
            "{e}"
        );
    }
}
