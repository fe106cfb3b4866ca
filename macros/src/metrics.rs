//! `#[derive(Metrics)]`: a struct of instruments, built from a `Meter`.
//!
//! Parsed into a model (instrument kind, value type, name, unit, description,
//! buckets, callback), checked against the OpenTelemetry rules with every error
//! collected and spanned, then expanded.

use crate::ctx::{closest, Ctx};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Expr, ExprArray, ExprLit, Fields, Lit, LitStr, Meta, Type};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Counter,
    UpDownCounter,
    Gauge,
    Histogram,
    ObservableCounter,
    ObservableUpDownCounter,
    ObservableGauge,
}

impl Kind {
    fn from_ident(name: &str) -> Option<Kind> {
        Some(match name {
            "Counter" => Kind::Counter,
            "UpDownCounter" => Kind::UpDownCounter,
            "Gauge" => Kind::Gauge,
            "Histogram" => Kind::Histogram,
            "ObservableCounter" => Kind::ObservableCounter,
            "ObservableUpDownCounter" => Kind::ObservableUpDownCounter,
            "ObservableGauge" => Kind::ObservableGauge,
            _ => return None,
        })
    }

    /// The value types OpenTelemetry offers for the kind.
    fn value_types(self) -> &'static [&'static str] {
        match self {
            Kind::Counter | Kind::ObservableCounter | Kind::Histogram => &["u64", "f64"],
            Kind::UpDownCounter | Kind::ObservableUpDownCounter => &["i64", "f64"],
            Kind::Gauge | Kind::ObservableGauge => &["u64", "i64", "f64"],
        }
    }

    /// The `Meter` method's suffix, e.g. `counter` in `u64_counter`.
    fn method(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::UpDownCounter => "up_down_counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::ObservableCounter => "observable_counter",
            Kind::ObservableUpDownCounter => "observable_up_down_counter",
            Kind::ObservableGauge => "observable_gauge",
        }
    }

    fn observable(self) -> bool {
        matches!(
            self,
            Kind::ObservableCounter | Kind::ObservableUpDownCounter | Kind::ObservableGauge
        )
    }
}

const KINDS: &[&str] = &[
    "Counter",
    "UpDownCounter",
    "Gauge",
    "Histogram",
    "ObservableCounter",
    "ObservableUpDownCounter",
    "ObservableGauge",
];

const FIELD_OPTIONS: &[&str] = &["name", "unit", "description", "buckets", "callback"];

struct Instrument {
    field: syn::Ident,
    kind: Kind,
    value: &'static str,
    name: String,
    unit: Option<String>,
    description: Option<String>,
    buckets: Option<Vec<f64>>,
    callback: Option<Expr>,
}

pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let mut ctx = Ctx::default();
    let prefix = struct_prefix(&input, &mut ctx);
    if !input.generics.params.is_empty() {
        ctx.error(
            &input.generics,
            "#[derive(Metrics)] needs a struct without generic parameters (its global instance is a static)",
        );
    }
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(f) => f.named.iter().collect::<Vec<_>>(),
            other => {
                ctx.error(
                    other,
                    "#[derive(Metrics)] needs named fields, one per instrument",
                );
                Vec::new()
            }
        },
        _ => {
            ctx.error_at(
                input.ident.span(),
                "#[derive(Metrics)] goes on a struct whose fields are instruments",
            );
            Vec::new()
        }
    };
    let instruments: Vec<Instrument> = fields
        .into_iter()
        .filter_map(|f| instrument(f, prefix.as_deref(), &mut ctx))
        .collect();
    if ctx.has_errors() {
        let errors = ctx.into_compile_errors();
        let stub = stub(&input);
        return quote!(#errors #stub);
    }
    expand(&input.ident, &instruments)
}

fn struct_prefix(input: &DeriveInput, ctx: &mut Ctx) -> Option<String> {
    let mut prefix = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("metrics")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("prefix") {
                let lit: LitStr = meta.value()?.parse()?;
                let value = lit.value();
                if !valid_name(&value) {
                    ctx.error(
                        &lit,
                        format!("metric prefix `{value}` breaks the OpenTelemetry name rules: {NAME_RULES}"),
                    );
                } else if prefix.replace(value).is_some() {
                    ctx.error(&lit, "duplicate `prefix`; give it once");
                }
                Ok(())
            } else {
                let word = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
                Err(meta.error(format!("unknown option `{word}` in #[metrics(..)]; expected `prefix = \"...\"`")))
            }
        });
        if let Err(e) = result {
            ctx.push(e);
        }
    }
    prefix
}

const NAME_RULES: &str =
    "start with a letter, then up to 254 letters, digits, `_`, `.`, `-` or `/`";

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && name.len() <= 255
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'))
}

fn valid_unit(unit: &str) -> bool {
    unit.len() <= 63 && unit.is_ascii() && !unit.chars().any(|c| c.is_ascii_control())
}

/// The instrument's kind and value type, from the field's type.
fn kind_of(ty: &Type, ctx: &mut Ctx) -> Option<(Kind, &'static str)> {
    let Type::Path(p) = ty else {
        ctx.error(
            ty,
            format!(
                "a metrics field must be an instrument: one of {}",
                KINDS.join(", ")
            ),
        );
        return None;
    };
    let seg = p.path.segments.last()?;
    let name = seg.ident.to_string();
    let Some(kind) = Kind::from_ident(&name) else {
        let hint = closest(&name, KINDS)
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_else(|| format!("; expected one of {}", KINDS.join(", ")));
        ctx.error(
            &seg.ident,
            format!("`{name}` is not an OpenTelemetry instrument{hint}"),
        );
        return None;
    };
    let arg = match &seg.arguments {
        syn::PathArguments::AngleBracketed(a) if a.args.len() == 1 => a.args.first(),
        _ => None,
    };
    let value = match arg {
        Some(syn::GenericArgument::Type(Type::Path(t))) => {
            t.path.get_ident().map(ToString::to_string)
        }
        _ => None,
    };
    let allowed = kind.value_types();
    match value {
        Some(v) if allowed.contains(&v.as_str()) => {
            let v = *allowed.iter().find(|a| **a == v).expect("checked");
            Some((kind, v))
        }
        Some(v) => {
            ctx.error(
                arg,
                format!(
                    "`{name}<{v}>` does not exist: a {name} records {}",
                    allowed.join(" or ")
                ),
            );
            None
        }
        None => {
            ctx.error(
                &seg.ident,
                format!(
                    "`{name}` needs its value type: `{name}<{}>`",
                    allowed.join(">` or `{name}<")
                ),
            );
            None
        }
    }
}

fn instrument(field: &syn::Field, prefix: Option<&str>, ctx: &mut Ctx) -> Option<Instrument> {
    let ident = field.ident.clone()?;
    let kind = kind_of(&field.ty, ctx);
    let mut name: Option<(String, Span)> = None;
    let mut unit = None;
    let mut description = None;
    let mut buckets: Option<(Vec<f64>, Span)> = None;
    let mut callback: Option<Expr> = None;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("metric")) {
        let result = attr.parse_nested_meta(|meta| {
            let word = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
            match word.as_str() {
                "name" | "unit" | "description" => {
                    let lit: LitStr = meta.value()?.parse()?;
                    let v = lit.value();
                    match word.as_str() {
                        "name" => {
                            if !valid_name(&v) {
                                ctx.error(&lit, format!("metric name `{v}` breaks the OpenTelemetry name rules: {NAME_RULES}"));
                            }
                            name = Some((v, lit.span()));
                        }
                        "unit" => {
                            if !valid_unit(&v) {
                                ctx.error(&lit, format!("unit `{v}` is not valid: at most 63 printable ASCII characters, such as \"s\", \"By\" or \"{{request}}\""));
                            }
                            unit = Some(v);
                        }
                        _ => description = Some(v),
                    }
                }
                "buckets" => {
                    let array: ExprArray = meta.value()?.parse()?;
                    let mut values = Vec::new();
                    for e in &array.elems {
                        match number(e) {
                            Some(v) if v.is_finite() => values.push(v),
                            _ => ctx.error(e, "bucket boundaries are number literals, such as 0.005 or 10"),
                        }
                    }
                    if values.windows(2).any(|w| w[0] >= w[1]) {
                        ctx.error(&array, "bucket boundaries must be strictly increasing");
                    }
                    buckets = Some((values, array.span()));
                }
                "callback" => {
                    callback = Some(meta.value()?.parse()?);
                }
                _ => {
                    let hint = closest(&word, FIELD_OPTIONS)
                        .map(|c| format!("did you mean `{c}`?"))
                        .unwrap_or_else(|| format!("expected one of: {}", FIELD_OPTIONS.join(", ")));
                    return Err(meta.error(format!("unknown option `{word}` in #[metric(..)]; {hint}")));
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            ctx.push(e);
        }
    }
    let (kind, value) = kind?;
    if kind.observable() && callback.is_none() {
        ctx.error(
            &field.ty,
            format!(
                "an observable instrument needs its callback: #[metric(callback = path::to::fn)], a `fn(&dyn AsyncInstrument<{value}>)`"
            ),
        );
    }
    if let (false, Some(cb)) = (kind.observable(), &callback) {
        ctx.error(
            cb,
            "only observable instruments (ObservableCounter, ObservableUpDownCounter, ObservableGauge) take a callback",
        );
    }
    if let (true, Some((_, span))) = (kind != Kind::Histogram, &buckets) {
        ctx.error_at(*span, "only a Histogram takes `buckets`");
    }
    let explicit_ok = name.as_ref().is_none_or(|(n, _)| valid_name(n));
    let base = name.map_or_else(|| crate::fields::unraw(&ident), |(n, _)| n);
    let full = match prefix {
        Some(p) => format!("{p}.{base}"),
        None => base,
    };
    if explicit_ok && !valid_name(&full) {
        ctx.error(
            &ident,
            format!("metric name `{full}` breaks the OpenTelemetry name rules: {NAME_RULES}"),
        );
    }
    let description = description.or_else(|| doc_comment(&field.attrs));
    Some(Instrument {
        field: ident,
        kind,
        value,
        name: full,
        unit,
        description,
        buckets: buckets.map(|(b, _)| b),
        callback,
    })
}

fn number(e: &Expr) -> Option<f64> {
    match e {
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse().ok(),
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse::<u64>().ok().map(|v| v as f64),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => number(&u.expr).map(|v| -v),
        _ => None,
    }
}

/// A field's doc comment, joined into one line.
pub(crate) fn doc_comment(attrs: &[syn::Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .filter(|l| !l.is_empty())
        .collect();
    (!lines.is_empty()).then(|| lines.join(" "))
}

/// With the errors: `new` and `global` as the derive would write them, so that the
/// errors are the only ones and code calling them does not add "no function" errors.
fn stub(input: &DeriveInput) -> TokenStream {
    let ty = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[allow(dead_code, unreachable_code, clippy::all)]
        impl #impl_generics #ty #ty_generics #where_clause {
            pub fn new(_: &::traced::opentelemetry::metrics::Meter) -> Self {
                ::core::unreachable!()
            }
            pub fn global() -> &'static Self {
                ::core::unreachable!()
            }
        }
    }
}

fn expand(ty: &syn::Ident, instruments: &[Instrument]) -> TokenStream {
    let inits = instruments.iter().map(|i| {
        let field = &i.field;
        let method = format_ident!("{}_{}", i.value, i.kind.method());
        let name = &i.name;
        let unit = i.unit.as_ref().map(|u| quote!(.with_unit(#u)));
        let description = i
            .description
            .as_ref()
            .map(|d| quote!(.with_description(#d)));
        let buckets = i
            .buckets
            .as_ref()
            .map(|b| quote!(.with_boundaries(::std::vec![#(#b),*])));
        let callback = i
            .callback
            .as_ref()
            .map(|c| quote_spanned!(c.span()=> .with_callback(#c)));
        let bounds = match &i.buckets {
            Some(b) => quote!(::core::option::Option::Some(::std::vec![#(#b),*])),
            None if i.kind == Kind::Histogram => quote!(::core::option::Option::Some(
                ::traced::__private::DEFAULT_HISTOGRAM_BOUNDS.to_vec()
            )),
            None => quote!(::core::option::Option::None),
        };
        quote! {
            #field: ::traced::__private::FromInstrument::from_instrument(
                meter.#method(#name) #unit #description #buckets #callback .build(),
                #name,
                #bounds,
            )
        }
    });
    let fields = instruments.iter().map(|i| &i.field);
    let doc_new = format!("Builds every instrument of `{ty}` from `meter`.");
    let doc_global = format!(
        "The `{ty}` of the global meter provider, scoped to this crate (name and version). \
         Built on first use, and again after `traced::init()` installs a new provider."
    );
    quote! {
        impl #ty {
            #[doc = #doc_new]
            pub fn new(meter: &::traced::opentelemetry::metrics::Meter) -> Self {
                Self { #(#inits,)* }
            }

            #[doc = #doc_global]
            pub fn global() -> &'static Self {
                static INSTANCE: ::traced::__private::GlobalInstance<#ty> =
                    ::traced::__private::GlobalInstance::new();
                INSTANCE.get(|| {
                    Self::new(&::traced::__private::meter(
                        ::core::env!("CARGO_PKG_NAME"),
                        ::core::env!("CARGO_PKG_VERSION"),
                    ))
                })
            }

            /// Keeps the instruments (observable ones work through their callbacks,
            /// and need not be read) from counting as unused.
            #[doc(hidden)]
            #[allow(dead_code)]
            pub fn __traced_instruments(&self) {
                let _ = (#(&self.#fields,)*);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_unit_rules() {
        assert!(valid_name("shop.cart.items_added"));
        assert!(!valid_name("9lives"));
        assert!(!valid_name("with space"));
        assert!(valid_unit("{item}"));
        assert!(!valid_unit(&"x".repeat(64)));
        assert!(!valid_unit("µs"));
    }

    #[test]
    fn expands_every_kind() {
        let out = derive(quote! {
            #[metrics(prefix = "shop")]
            struct M {
                /// Things.
                #[metric(unit = "{thing}")]
                a: Counter<u64>,
                b: UpDownCounter<i64>,
                c: Gauge<f64>,
                #[metric(buckets = [0.1, 1, 10])]
                d: Histogram<f64>,
                #[metric(callback = cb)]
                e: ObservableGauge<u64>,
            }
        })
        .to_string();
        for needle in [
            "u64_counter (\"shop.a\")",
            "with_unit (\"{thing}\")",
            "with_description (\"Things.\")",
            "i64_up_down_counter (\"shop.b\")",
            "f64_gauge",
            "with_boundaries",
            "u64_observable_gauge",
            "with_callback (cb)",
        ] {
            assert!(out.contains(needle), "{needle} missing in {out}");
        }
    }
}
