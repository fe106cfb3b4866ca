//! Families to text: the exposition format 0.0.4 and OpenMetrics 1.0 lines,
//! label escaping and number forms.

use super::*;

pub(super) fn write_family(out: &mut String, family: &Family, format: Format) {
    let name = family.exposed_name(format);
    match format {
        Format::Text => {
            if !family.help.is_empty() {
                out.push_str("# HELP ");
                out.push_str(&name);
                out.push(' ');
                escape(out, &family.help, false);
                out.push('\n');
            }
            let kind = match family.kind {
                Kind::Gauge | Kind::Info => "gauge",
                Kind::Counter => "counter",
                Kind::Histogram => "histogram",
            };
            let _ = writeln!(out, "# TYPE {name} {kind}");
        }
        Format::OpenMetrics => {
            let kind = match family.kind {
                Kind::Gauge => "gauge",
                Kind::Counter => "counter",
                Kind::Histogram => "histogram",
                Kind::Info => "info",
            };
            let _ = writeln!(out, "# TYPE {name} {kind}");
            // OpenMetrics requires the unit to be the name's suffix.
            if !family.unit.is_empty() && name.ends_with(&format!("_{}", family.unit)) {
                let _ = writeln!(out, "# UNIT {name} {}", family.unit);
            }
            if !family.help.is_empty() {
                out.push_str("# HELP ");
                out.push_str(&name);
                out.push(' ');
                escape(out, &family.help, true);
                out.push('\n');
            }
        }
    }

    let exemplars = format == Format::OpenMetrics;
    for series in &family.series {
        match &series.points {
            Points::Value { value, exemplar } => {
                let suffix = match family.kind {
                    Kind::Counter => "_total",
                    Kind::Info => "_info",
                    Kind::Gauge | Kind::Histogram => "",
                };
                write_sample(
                    out,
                    &family.name,
                    suffix,
                    &series.labels,
                    None,
                    *value,
                    exemplar.as_ref().filter(|_| exemplars),
                );
            }
            Points::Histogram {
                buckets,
                sum_and_count,
            } => {
                for bucket in buckets {
                    let le = match format {
                        Format::OpenMetrics => canonical_float(bucket.le),
                        Format::Text => text_le(bucket.le),
                    };
                    write_sample(
                        out,
                        &family.name,
                        "_bucket",
                        &series.labels,
                        Some((BUCKET_LABEL, &le)),
                        Number::U64(bucket.count),
                        bucket.exemplar.as_ref().filter(|_| exemplars),
                    );
                }
                if let Some((sum, count)) = sum_and_count {
                    let labels = &series.labels;
                    write_sample(out, &family.name, "_sum", labels, None, *sum, None);
                    let count = Number::U64(*count);
                    write_sample(out, &family.name, "_count", labels, None, count, None);
                }
            }
        }
    }
}

/// One sample line: `name{labels} value`, then the exemplar if any.
pub(super) fn write_sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &[(String, String)],
    extra: Option<(&str, &str)>,
    value: Number,
    exemplar: Option<&Exemplar>,
) {
    out.push_str(name);
    out.push_str(suffix);
    let all = labels
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .chain(extra);
    write_labels(out, all);
    let _ = write!(out, " {value}");
    if let Some(exemplar) = exemplar {
        out.push_str(" # ");
        let trace_id = exemplar.trace_id.to_string();
        let span_id = exemplar.span_id.to_string();
        write_labels(
            out,
            [
                ("trace_id", trace_id.as_str()),
                ("span_id", span_id.as_str()),
            ]
            .into_iter(),
        );
        let _ = write!(
            out,
            " {} {}",
            float(exemplar.value),
            timestamp(exemplar.time)
        );
    }
    out.push('\n');
}

/// `{a="x",b="y"}`, nothing for no labels.
pub(super) fn write_labels<'a>(out: &mut String, labels: impl Iterator<Item = (&'a str, &'a str)>) {
    let mut first = true;
    for (name, value) in labels {
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(name);
        out.push_str("=\"");
        escape(out, value, true);
        out.push('"');
    }
    if !first {
        out.push('}');
    }
}

/// Escapes `\` and line feeds, and `"` when `quotes` (label values, OpenMetrics `HELP`).
pub(super) fn escape(out: &mut String, text: &str, quotes: bool) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quotes => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// A float value: Rust's shortest round-trip form (always with a `.` or an
/// exponent, so it reads as a float), and `+Inf`, `-Inf`, `NaN`.
pub(super) fn float(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        format!("{value:?}")
    }
}

/// An `le` value in the Prometheus text format: Go's `%g` of the shortest
/// round-trip digits, as the Go client writes it (`0.25`, `1`, `10`, `1e+06`).
/// The autometrics rules compare `le` with `objective_latency_threshold` as
/// strings, and that label is written the same way (`1`, not `1.0`).
pub(super) fn text_le(value: f64) -> String {
    let mut out = canonical_float(value);
    if value.is_finite() && out.ends_with(".0") {
        out.truncate(out.len() - 2);
    }
    out
}

/// The canonical form OpenMetrics wants for `le` values: Go's `%g` of the
/// shortest round-trip digits, with `.0` when it has no `.` or exponent
/// (`0.005`, `1.0`, `100000.0`, `1e+06`, `1e-05`).
pub(super) fn canonical_float(value: f64) -> String {
    if !value.is_finite() {
        return float(value);
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .to_owned();
    }
    // `{:e}` gives the shortest round-trip digits: `-1.2345e-6`.
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` of a finite float has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` writes a decimal exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(mantissa) => ("-", mantissa),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = sign.to_owned();
    if !(-4..6).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{exponent_sign}{:02}", exponent.unsigned_abs());
    } else if exponent < 0 {
        out.push_str("0.");
        for _ in 0..(-exponent - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        // 0 <= exponent < 6: at most six integer digits.
        let integer_digits = usize::try_from(exponent).unwrap_or_default() + 1;
        if digits.len() > integer_digits {
            out.push_str(&digits[..integer_digits]);
            out.push('.');
            out.push_str(&digits[integer_digits..]);
        } else {
            out.push_str(&digits);
            for _ in digits.len()..integer_digits {
                out.push('0');
            }
            out.push_str(".0");
        }
    }
    out
}

/// Unix seconds with up to nine fractional digits, at least one: `1700000000.5`.
pub(super) fn timestamp(time: SystemTime) -> String {
    let (sign, since) = match time.duration_since(UNIX_EPOCH) {
        Ok(since) => ("", since),
        Err(before) => ("-", before.duration()),
    };
    let mut out = format!("{sign}{}.{:09}", since.as_secs(), since.subsec_nanos());
    while out.ends_with('0') && !out.ends_with(".0") {
        out.pop();
    }
    out
}
