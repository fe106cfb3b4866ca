//! `#[traced(...)]` options: tokens -> raw options -> a checked [`Options`] model.

use crate::ctx::{closest, Ctx};
use crate::fields::{self, Field};
use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Lit, LitStr, Token};

pub(crate) const OPTIONS: &[&str] = &[
    "name", "kind", "attrs", "args", "err", "ret", "parent", "links", "root", "metrics",
];

/// What `metrics(..)` takes.
const METRICS_OPTIONS: &[&str] = &["objective", "track_concurrency"];

/// The attributes every span gets (see `traced::__private::start`).
const RESERVED: &[&str] = &["code.function.name", "code.file.path", "code.line.number"];

/// The attribute `ret` records (`traced::__private::RETURN_KEY`).
const RETURN_KEY: &str = "return";

const KINDS: &[&str] = &["internal", "client", "server", "producer", "consumer"];

/// How `err` / `ret` format a value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Format {
    /// `ret` alone: the value itself when it is an `AttrValue` (a `u64` is an
    /// integer attribute), else its `Debug` form.
    Value,
    Display,
    Debug,
}

pub(crate) struct Options {
    pub(crate) name: Option<LitStr>,
    /// The `SpanKind` variant, e.g. `Server`.
    pub(crate) kind: Option<Ident>,
    pub(crate) attrs: Vec<Field>,
    pub(crate) args: Vec<Ident>,
    pub(crate) err: Option<(Span, Format)>,
    pub(crate) ret: Option<(Span, Format)>,
    pub(crate) parent: Option<Expr>,
    pub(crate) links: Vec<Expr>,
    pub(crate) root: Option<Span>,
    pub(crate) metrics: Option<Span>,
    /// `metrics(objective = PATH)`: a `const traced::Objective`.
    pub(crate) objective: Option<Expr>,
    /// `metrics(track_concurrency)`: also `function.calls.concurrent`.
    pub(crate) track_concurrency: Option<Span>,
}

/// One option as written: `word`, `word = expr` or `word(tokens)`.
struct Raw {
    word: Ident,
    value: RawValue,
}

enum RawValue {
    Flag,
    Assign(Expr),
    List(Span, TokenStream),
}

impl Parse for Raw {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let word = Ident::parse_any(input).map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected an option, one of: {}", OPTIONS.join(", ")),
            )
        })?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            RawValue::Assign(input.parse()?)
        } else if input.peek(syn::token::Paren) {
            let content;
            let paren = syn::parenthesized!(content in input);
            RawValue::List(paren.span.join(), content.parse()?)
        } else {
            RawValue::Flag
        };
        Ok(Raw { word, value })
    }
}

impl Options {
    /// Parses the attribute's arguments; problems go to `ctx` and leave the option out.
    pub(crate) fn parse(tokens: TokenStream, ctx: &mut Ctx) -> Options {
        let mut opts = Options {
            name: None,
            kind: None,
            attrs: Vec::new(),
            args: Vec::new(),
            err: None,
            ret: None,
            parent: None,
            links: Vec::new(),
            root: None,
            metrics: None,
            objective: None,
            track_concurrency: None,
        };
        let raws = match Punctuated::<Raw, Token![,]>::parse_terminated.parse2(tokens) {
            Ok(r) => r,
            Err(e) => {
                ctx.push(e);
                return opts;
            }
        };
        let mut seen: Vec<String> = Vec::new();
        for raw in raws {
            let word = fields::unraw(&raw.word);
            if seen.contains(&word) {
                ctx.error(
                    &raw.word,
                    format!("duplicate option `{word}`; give it once"),
                );
                continue;
            }
            seen.push(word.clone());
            opts.take(word.as_str(), raw, ctx);
        }
        opts.check_keys(&seen, ctx);
        if let (Some(root), Some(parent)) = (opts.root, &opts.parent) {
            ctx.error(
                parent,
                "`parent` and `root` contradict each other: `root` starts a new trace; keep one",
            );
            let _ = root;
        }
        opts
    }

    /// The options of `metrics(..)`: `objective = NAME`, `track_concurrency`,
    /// each at most once.
    fn take_metrics(&mut self, metrics: &Ident, tokens: TokenStream, ctx: &mut Ctx) {
        const USAGE: &str = "`metrics` takes `metrics` or `metrics(objective = NAME, track_concurrency)`, NAME a `const traced::Objective`";
        let raws = match Punctuated::<Raw, Token![,]>::parse_terminated.parse2(tokens) {
            Ok(raws) if !raws.is_empty() => raws,
            Ok(_) => return ctx.error(metrics, USAGE),
            Err(e) => return ctx.error_at(e.span(), USAGE),
        };
        let mut seen: Vec<String> = Vec::new();
        for Raw { word, value } in raws {
            let name = fields::unraw(&word);
            if seen.contains(&name) {
                ctx.error(
                    &word,
                    format!("duplicate `metrics` option `{name}`; give it once"),
                );
                continue;
            }
            seen.push(name.clone());
            match (name.as_str(), value) {
                ("objective", RawValue::Assign(e)) => self.objective = Some(e),
                ("track_concurrency", RawValue::Flag) => self.track_concurrency = Some(word.span()),
                ("objective", _) => ctx.error(
                    &word,
                    "`objective` takes a value: `metrics(objective = NAME)`, NAME a `const traced::Objective`",
                ),
                ("track_concurrency", _) => ctx.error(
                    &word,
                    "`track_concurrency` takes no value: `metrics(track_concurrency)` (it records `function.calls.concurrent`)",
                ),
                (other, _) => {
                    let hint = match closest(other, METRICS_OPTIONS) {
                        Some(c) => format!("did you mean `{c}`?"),
                        None => format!("expected one of: {}", METRICS_OPTIONS.join(", ")),
                    };
                    ctx.error(&word, format!("unknown `metrics` option `{other}`; {hint}"));
                }
            }
        }
    }

    /// `args(..)` as attributes: each argument under its own name.
    pub(crate) fn arg_fields(&self) -> Vec<Field> {
        self.args
            .iter()
            .map(|a| Field {
                key: fields::unraw(a),
                key_tokens: quote::ToTokens::to_token_stream(a),
                sigil: fields::Sigil::Value,
                value: syn::parse_quote_spanned!(a.span()=> #a),
            })
            .collect()
    }

    /// Every attribute key once, and none of those `#[traced]` sets itself.
    /// `order`: the options in the order written.
    fn check_keys(&self, order: &[String], ctx: &mut Ctx) {
        let args = self.arg_fields();
        let position = |word: &str| order.iter().position(|w| w == word);
        let args = args.iter().map(|f| (f, Some("args")));
        let attrs = self.attrs.iter().map(|f| (f, Some("attrs")));
        let all: Vec<(&Field, Option<&'static str>)> = if position("args") < position("attrs") {
            args.chain(attrs).collect()
        } else {
            attrs.chain(args).collect()
        };
        for (f, _) in &all {
            if RESERVED.contains(&f.key.as_str()) {
                ctx.error(
                    &f.key_tokens,
                    format!(
                        "attribute `{}` is set by #[traced] on every span; use another key",
                        f.key
                    ),
                );
            } else if f.key == RETURN_KEY && self.ret.is_some() {
                ctx.error(
                    &f.key_tokens,
                    format!("attribute `{RETURN_KEY}` is where `ret` records the return value; use another key"),
                );
            }
        }
        fields::check_duplicates(ctx, all);
    }

    fn take(&mut self, word: &str, raw: Raw, ctx: &mut Ctx) {
        let Raw { word: ident, value } = raw;
        match word {
            "name" => match value {
                RawValue::Assign(Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(s), ..
                })) => {
                    if s.value().is_empty() {
                        ctx.error(&s, "a span name cannot be empty");
                    } else {
                        self.name = Some(s);
                    }
                }
                RawValue::Assign(other) => ctx.error(
                    other,
                    "`name` takes a string literal: `name = \"GET /cart\"`",
                ),
                _ => ctx.error(&ident, "`name` takes a value: `name = \"GET /cart\"`"),
            },
            "kind" => match value {
                RawValue::Assign(Expr::Path(p)) if p.path.get_ident().is_some() => {
                    let k = p.path.get_ident().unwrap();
                    let text = k.to_string();
                    if KINDS.contains(&text.as_str()) {
                        let mut variant = text[..1].to_uppercase();
                        variant.push_str(&text[1..]);
                        self.kind = Some(Ident::new(&variant, k.span()));
                    } else {
                        let hint = closest(&text.to_lowercase(), KINDS)
                            .map(|c| format!("; did you mean `{c}`?"))
                            .unwrap_or_default();
                        ctx.error(
                            k,
                            format!(
                                "unknown span kind `{text}`: expected internal, client, server, producer or consumer{hint}"
                            ),
                        );
                    }
                }
                RawValue::Assign(other) => ctx.error(
                    other,
                    "`kind` takes one of: internal, client, server, producer, consumer",
                ),
                _ => ctx.error(
                    &ident,
                    "`kind` takes a value: `kind = server` (internal, client, server, producer, consumer)",
                ),
            },
            "attrs" => match value {
                RawValue::List(_, tokens) => match fields::parse_list(tokens) {
                    Ok(list) => self.attrs = list,
                    Err(e) => ctx.push(e),
                },
                _ => ctx.error(&ident, "`attrs` takes a list: `attrs(user.id = id, \"http.route\" = \"/cart\")`"),
            },
            "args" => match value {
                RawValue::List(_, tokens) => {
                    match Punctuated::<Ident, Token![,]>::parse_terminated
                        .parse2(tokens)
                        .map_err(|e| syn::Error::new(e.span(), "`args` takes argument names: `args(id, count)`"))
                    {
                        Ok(list) => self.args = list.into_iter().collect(),
                        Err(e) => ctx.push(e),
                    }
                }
                _ => ctx.error(&ident, "`args` takes a list of argument names: `args(id, count)`"),
            },
            "err" | "ret" => {
                let format = match value {
                    RawValue::Flag => Some(if word == "err" { Format::Display } else { Format::Value }),
                    RawValue::List(span, tokens) => match syn::parse2::<Ident>(tokens) {
                        Ok(f) if f == "display" || f == "Display" => Some(Format::Display),
                        Ok(f) if f == "debug" || f == "Debug" => Some(Format::Debug),
                        _ => {
                            ctx.error_at(span, format!("`{word}` takes `({word})`, `{word}(display)` or `{word}(debug)`"));
                            None
                        }
                    },
                    RawValue::Assign(e) => {
                        ctx.error(e, format!("`{word}` takes no value: write `{word}`, `{word}(display)` or `{word}(debug)`"));
                        None
                    }
                };
                if let Some(format) = format {
                    if word == "err" {
                        self.err = Some((ident.span(), format));
                    } else {
                        self.ret = Some((ident.span(), format));
                    }
                }
            }
            "parent" => match value {
                RawValue::Assign(e) => self.parent = Some(e),
                _ => ctx.error(&ident, "`parent` takes a value: `parent = cx` (an opentelemetry `Context` or `SpanContext`)"),
            },
            "links" => match value {
                RawValue::List(_, tokens) => {
                    match Punctuated::<Expr, Token![,]>::parse_terminated.parse2(tokens) {
                        Ok(list) => self.links = list.into_iter().collect(),
                        Err(e) => ctx.push(e),
                    }
                }
                _ => ctx.error(&ident, "`links` takes a list: `links(span_context, other_cx)`"),
            },
            "root" => match value {
                RawValue::Flag => self.root = Some(ident.span()),
                _ => ctx.error(&ident, "`root` takes no value: write `root`"),
            },
            "metrics" => match value {
                RawValue::Flag => self.metrics = Some(ident.span()),
                RawValue::List(_, tokens) => {
                    self.metrics = Some(ident.span());
                    self.take_metrics(&ident, tokens, ctx);
                }
                RawValue::Assign(_) => ctx.error(
                    &ident,
                    "`metrics` takes `metrics` or `metrics(objective = NAME, track_concurrency)` (it records `function.calls` and `function.calls.duration`)",
                ),
            },
            _ => {
                let hint = match closest(word, OPTIONS) {
                    Some(c) => format!("did you mean `{c}`?"),
                    None => format!("expected one of: {}", OPTIONS.join(", ")),
                };
                ctx.error(&ident, format!("unknown option `{word}`; {hint}"));
            }
        }
    }
}
