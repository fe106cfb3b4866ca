//! The OTLP exporter blocks of all three signals: endpoint, protocol,
//! headers, TLS, compression, timeout.

use super::*;
use crate::choices::Protocol;
use crate::settings::{Compression, Endpoint, OtlpTarget, Setting};

impl Cx<'_> {
    /// An OTLP exporter: `otlp_http`, `otlp_grpc`, or the 0.3 format's `otlp`.
    pub(super) fn otlp(
        &mut self,
        key: &Key,
        node: &Node,
        path: String,
        signal: Signal,
    ) -> Result<(Exporter, Temporality)> {
        let legacy = key.name == "otlp";
        let mut keys = vec![
            "endpoint",
            "tls",
            "headers",
            "headers_list",
            "compression",
            "max_request_size",
            "max_response_size",
            "timeout",
        ];
        if key.name != "otlp_grpc" {
            keys.push("encoding");
        }
        if legacy {
            keys.extend([
                "protocol",
                "certificate",
                "client_key",
                "client_certificate",
                "insecure",
            ]);
        }
        if signal == Signal::Metrics {
            keys.extend(["temporality_preference", "default_histogram_aggregation"]);
        }
        let o = self.obj(node, path, &keys)?;
        let exporter = match key.name.as_str() {
            "otlp_http" => Exporter::OtlpHttp,
            "otlp_grpc" => Exporter::OtlpGrpc,
            _ => {
                let protocol = self.require(&o, "protocol")?;
                match self
                    .enumerated(
                        protocol,
                        "protocol",
                        &["http/protobuf", "grpc", "http/json"],
                    )?
                    .as_str()
                {
                    "grpc" => Exporter::OtlpGrpc,
                    "http/protobuf" => Exporter::OtlpHttp,
                    _ => {
                        let (k, _) = o.entry("protocol").expect("it was read");
                        return Err(self.not_supported(
                            &o,
                            k,
                            "protocol: http/json",
                            "traced sends OTLP as protobuf",
                        ));
                    }
                }
            }
        };
        self.once(
            &format!("OTLP {}", signal.exporter()),
            key.pos,
            "traced sends each signal to one OTLP endpoint",
        )?;
        let var = |suffix: &str| format!("OTEL_EXPORTER_OTLP_{}_{suffix}", signal.var());
        let grpc = exporter == Exporter::OtlpGrpc;
        let protocol = if grpc {
            Protocol::Grpc
        } else {
            Protocol::HttpProtobuf
        };
        let endpoint = match self.string(&o, "endpoint")? {
            Some(e) if !e.trim().is_empty() => e.trim().to_owned(),
            _ if grpc => "http://localhost:4317".to_owned(),
            _ => format!("http://localhost:4318/v1/{}", signal.path()),
        };
        let timeout = self.bounded_millis(&o, "timeout", 10_000)?;
        let headers = self.headers(&o)?;

        let mut compression = Compression::None;
        if let Some((_, n)) = o.set("compression") {
            let written = self.as_string(n, "compression")?.unwrap_or_default();
            match crate::settings::named(&crate::settings::COMPRESSIONS, &written) {
                Some(c) => compression = c,
                None => {
                    return Err(self.err(
                        n.pos,
                        format!(
                            "unknown value `{written}` for `compression` at {}; expected `none` or `gzip`",
                            self.at(n.pos)
                        ),
                    ))
                }
            }
        }
        if let Some((k, n)) = o.set("encoding") {
            if self.enumerated(n, "encoding", &["protobuf", "json"])? == "json" {
                return Err(self.not_supported(
                    &o,
                    k,
                    "encoding: json",
                    "traced sends OTLP as protobuf",
                ));
            }
        }
        // TLS: `tls {ca_file, key_file, cert_file, insecure}` (1.x, 0.4), or the
        // 0.3 format's `certificate`, `client_key`, `client_certificate`,
        // `insecure`, each as the signal's OTEL_EXPORTER_OTLP_* setting.
        let tls_block;
        let (tls, names) = match o.entry("tls") {
            Some((_, n)) => {
                tls_block = self.obj(
                    n,
                    o.child("tls"),
                    &["ca_file", "key_file", "cert_file", "insecure"],
                )?;
                (&tls_block, ["ca_file", "key_file", "cert_file"])
            }
            None => (&o, ["certificate", "client_key", "client_certificate"]),
        };
        let mut files: [Option<Setting>; 3] = [None, None, None];
        for ((key, suffix), file) in names
            .into_iter()
            .zip(["CERTIFICATE", "CLIENT_KEY", "CLIENT_CERTIFICATE"])
            .zip(&mut files)
        {
            if let Some(value) = self.string(tls, key)?.filter(|f| !f.trim().is_empty()) {
                *file = Some(Setting {
                    name: var(suffix),
                    value: value.trim().to_owned(),
                });
            }
        }
        let mut insecure = false;
        for obj in [tls, &o] {
            if grpc {
                insecure |= self.boolean(obj, "insecure")? == Some(true);
            } else {
                self.default_bool(
                    obj,
                    "insecure",
                    false,
                    "`insecure` is for gRPC; give the endpoint with `http://` for a plain-text connection",
                )?;
            }
        }
        let [certificate, client_key, client_certificate] = files;
        let endpoint = Endpoint::given(protocol, var("ENDPOINT"), endpoint, insecure);
        let mut named = vec!["ENDPOINT", "PROTOCOL", "TIMEOUT"];
        named.extend(
            [
                ("HEADERS", !headers.is_empty()),
                ("COMPRESSION", compression == Compression::Gzip),
                ("CERTIFICATE", certificate.is_some()),
                ("CLIENT_KEY", client_key.is_some()),
                ("CLIENT_CERTIFICATE", client_certificate.is_some()),
                ("INSECURE", insecure),
            ]
            .into_iter()
            .filter_map(|(suffix, set)| set.then_some(suffix)),
        );
        for suffix in named {
            self.name(&var(suffix));
        }
        *self.settings.otlp_mut(signal.var()) = OtlpTarget {
            protocol,
            endpoint: endpoint.url,
            endpoint_from: endpoint.from,
            endpoint_written: endpoint.written,
            insecure,
            headers,
            timeout: std::time::Duration::from_millis(timeout),
            certificate,
            client_key,
            client_certificate,
            compression,
        };
        const SIZES: &str = "the OTLP exporters' size limits cannot be set";
        self.default_only(&o, "max_request_size", 67_108_864, SIZES)?;
        self.default_only(&o, "max_response_size", 4_194_304, SIZES)?;

        let mut temporality = Temporality::Cumulative;
        if signal == Signal::Metrics {
            self.histogram_aggregation(&o)?;
            temporality = self.temporality(&o)?;
            self.metrics_temporality(&o, temporality)?;
        }
        Ok((exporter, temporality))
    }

    /// `headers` over `headers_list` (which is written as
    /// `OTEL_EXPORTER_OTLP_HEADERS` is, percent-escapes and all).
    pub(super) fn headers(&self, o: &Obj<'_>) -> Result<Vec<(String, String)>> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some((_, n)) = o.set("headers_list") {
            let list = self.as_string(n, "headers_list")?.unwrap_or_default();
            for pair in list.split(',').filter(|p| !p.trim().is_empty()) {
                let Some((name, value)) = pair.split_once('=') else {
                    return Err(self.err(
                        n.pos,
                        format!(
                            "invalid entry `{}` in `headers_list` at {}: expected name=value",
                            pair.trim(),
                            self.at(n.pos)
                        ),
                    ));
                };
                self.header_name(name.trim(), n)?;
                let value = value.trim();
                let value =
                    crate::settings::percent_decode(value).unwrap_or_else(|| value.to_owned());
                pairs.push((name.trim().to_owned(), value));
            }
        }
        for (i, item) in self.list(o, "headers")?.iter().enumerate() {
            let h = self.obj(
                item,
                format!("{}[{i}]", o.child("headers")),
                &["name", "value"],
            )?;
            let name = self.required_string(&h, "name")?;
            self.header_name(&name, h.get("name").expect("it was read"))?;
            let Some((_, value)) = h.entry("value") else {
                return Err(self.err(
                    h.pos,
                    format!("missing `value` {} at {}", h.place(), self.at(h.pos)),
                ));
            };
            // A null value leaves the entry out, as the schema says.
            let Some(value) = self.as_string(value, "value")? else {
                continue;
            };
            pairs.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
            pairs.push((name, value.trim().to_owned()));
        }
        // As for the variable: a header with an empty value is not sent.
        pairs.retain(|(_, v)| !v.is_empty());
        Ok(pairs)
    }

    pub(super) fn header_name(&self, name: &str, node: &Node) -> Result<()> {
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.is_empty() || !name.chars().all(token) {
            return Err(self.err(
                node.pos,
                format!(
                    "invalid header name `{name}` at {}: use letters, digits and -",
                    self.at(node.pos)
                ),
            ));
        }
        Ok(())
    }
}
