//! The OTLP exporter blocks of all three signals: endpoint, protocol,
//! headers, TLS, compression, timeout.

use super::*;

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

        let endpoint = match self.string(&o, "endpoint")? {
            Some(e) if !e.trim().is_empty() => e,
            _ if exporter == Exporter::OtlpGrpc => "http://localhost:4317".to_owned(),
            _ => format!("http://localhost:4318/v1/{}", signal.path()),
        };
        self.settings.insert(var("ENDPOINT"), endpoint);
        self.settings.insert(
            var("PROTOCOL"),
            if exporter == Exporter::OtlpGrpc {
                "grpc"
            } else {
                "http/protobuf"
            }
            .to_owned(),
        );
        let timeout = self.bounded_millis(&o, "timeout", 10_000)?;
        self.settings.insert(var("TIMEOUT"), timeout.to_string());
        if let Some(headers) = self.headers(&o)? {
            self.settings.insert(var("HEADERS"), headers);
        }

        if let Some((_, n)) = o.set("compression") {
            match self
                .as_string(n, "compression")?
                .unwrap_or_default()
                .as_str()
            {
                "none" => {}
                "gzip" => {
                    self.settings.insert(var("COMPRESSION"), "gzip".to_owned());
                }
                other => {
                    return Err(self.err(
                        n.pos,
                        format!(
                            "unknown value `{other}` for `compression` at {}; expected `none` or `gzip`",
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
        let grpc = exporter == Exporter::OtlpGrpc;
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
        for (key, suffix) in
            names
                .into_iter()
                .zip(["CERTIFICATE", "CLIENT_KEY", "CLIENT_CERTIFICATE"])
        {
            if let Some(file) = self.string(tls, key)?.filter(|f| !f.trim().is_empty()) {
                self.settings.insert(var(suffix), file);
            }
        }
        for obj in [tls, &o] {
            if grpc {
                if self.boolean(obj, "insecure")? == Some(true) {
                    self.settings.insert(var("INSECURE"), "true".to_owned());
                }
            } else {
                self.default_bool(
                    obj,
                    "insecure",
                    false,
                    "`insecure` is for gRPC; give the endpoint with `http://` for a plain-text connection",
                )?;
            }
        }
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

    /// `headers` over `headers_list`, as `OTEL_EXPORTER_OTLP_HEADERS` writes them.
    pub(super) fn headers(&self, o: &Obj<'_>) -> Result<Option<String>> {
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
                pairs.push((name.trim().to_owned(), value.trim().to_owned()));
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
            pairs.push((name, value.replace('%', "%25").replace(',', "%2C")));
        }
        Ok((!pairs.is_empty()).then(|| {
            pairs
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        }))
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
