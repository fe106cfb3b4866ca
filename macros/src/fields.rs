//! `key = value` lists: `attrs(..)` in `#[traced]`, and the `event!` / `attr!` macros.
//!
//! A key is a dotted path of identifiers (`user.id`, keywords allowed: `exception.type`)
//! or a string literal (`"http.request.method"`). A value is an expression, recorded as
//! an attribute value; `%expr` records its `Display` form and `?expr` its `Debug` form.
//! `name` alone is short for `name = name` (also `%name`, `?name`).

use crate::ctx::Ctx;
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Ident, LitStr, Token};

/// How a value is turned into an attribute.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Sigil {
    /// `expr`: through `AttrValue`.
    Value,
    /// `%expr`: `Display`.
    Display,
    /// `?expr`: `Debug`.
    Debug,
}

pub(crate) struct Field {
    pub(crate) key: String,
    /// The key as written (`a.b` or `"a.b"`), for errors.
    pub(crate) key_tokens: TokenStream,
    pub(crate) sigil: Sigil,
    pub(crate) value: Expr,
}

impl Parse for Field {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let sigil = parse_sigil(input)?;
        let (key, key_tokens, shorthand) = if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            if lit.value().is_empty() {
                return Err(syn::Error::new(
                    lit.span(),
                    "an attribute key cannot be empty",
                ));
            }
            (lit.value(), lit.to_token_stream(), None)
        } else {
            let first = Ident::parse_any(input).map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected an attribute: `key = value`, `\"dotted.key\" = value`, or a variable name",
                )
            })?;
            let mut key = unraw(&first);
            let mut tokens = first.to_token_stream();
            let mut parts = 1;
            while input.peek(Token![.]) {
                let dot: Token![.] = input.parse()?;
                let part = Ident::parse_any(input)?;
                key.push('.');
                key.push_str(&unraw(&part));
                dot.to_tokens(&mut tokens);
                part.to_tokens(&mut tokens);
                parts += 1;
            }
            let shorthand = (parts == 1).then_some(first);
            (key, tokens, shorthand)
        };
        if input.peek(Token![=]) {
            if sigil != Sigil::Value {
                return Err(syn::Error::new_spanned(
                    &key_tokens,
                    "put `%` or `?` before the value, not the key: `key = %value`",
                ));
            }
            input.parse::<Token![=]>()?;
            let sigil = parse_sigil(input)?;
            let value: Expr = input.parse()?;
            return Ok(Field {
                key,
                key_tokens,
                sigil,
                value,
            });
        }
        match shorthand {
            Some(ident) => Ok(Field {
                key,
                key_tokens,
                sigil,
                value: syn::parse_quote_spanned!(ident.span()=> #ident),
            }),
            None => Err(syn::Error::new_spanned(
                &key_tokens,
                format!("expected `= value` after `{key}`: a dotted key needs a value"),
            )),
        }
    }
}

fn parse_sigil(input: ParseStream<'_>) -> syn::Result<Sigil> {
    if input.peek(Token![%]) {
        input.parse::<Token![%]>()?;
        Ok(Sigil::Display)
    } else if input.peek(Token![?]) {
        input.parse::<Token![?]>()?;
        Ok(Sigil::Debug)
    } else {
        Ok(Sigil::Value)
    }
}

pub(crate) fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
}

/// Parses `a = 1, b.c = %x, ...` (a trailing comma is allowed).
pub(crate) fn parse_list(tokens: TokenStream) -> syn::Result<Vec<Field>> {
    let list = Punctuated::<Field, Token![,]>::parse_terminated.parse2(tokens)?;
    Ok(list.into_iter().collect())
}

/// Reports a key given twice, on its second occurrence, in a list of fields in
/// the order written. Each comes with the option it is in (`args` or `attrs`), or
/// `None` in `event!`, `attr!` and `link!`.
pub(crate) fn check_duplicates<'a>(
    ctx: &mut Ctx,
    fields: impl IntoIterator<Item = (&'a Field, Option<&'static str>)>,
) {
    let mut seen: Vec<(&Field, Option<&str>)> = Vec::new();
    for (f, option) in fields {
        let Some((first, first_option)) = seen.iter().find(|(s, _)| s.key == f.key) else {
            seen.push((f, option));
            continue;
        };
        let key = &f.key;
        let (written_first, written) = (first.key_tokens.to_string(), f.key_tokens.to_string());
        let message = match (*first_option, option) {
            (Some("args"), Some("attrs")) => format!(
                "attribute `{key}` is already recorded by `args({key})`; keep it in one of `args(..)` and `attrs(..)`"
            ),
            (Some("attrs"), Some("args")) => format!(
                "attribute `{key}` is already recorded by `attrs({key} = ..)`; keep it in one of `args(..)` and `attrs(..)`"
            ),
            _ if written_first != written => format!(
                "attribute `{key}` is given twice, as `{written_first}` and as `{written}`: both name the same key; keep one"
            ),
            _ => format!("attribute `{key}` is given twice; keep one"),
        };
        ctx.error(&f.key_tokens, message);
    }
}

/// The statements that add `fields` to an `Attrs` named `sink`.
pub(crate) fn adds(sink: &Ident, fields: &[Field]) -> TokenStream {
    let adds = fields.iter().map(|f| {
        let key = &f.key;
        let value = &f.value;
        let span = value.span();
        // Converted here, spanned on the value: a value that cannot be recorded is
        // an error on the user's expression.
        let literal = matches!(
            value,
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(_),
                ..
            })
        );
        let value = match f.sigil {
            // A string literal is kept as the `&'static str` it is: no copy.
            Sigil::Value if literal => quote_spanned! {span=>
                ::traced::__private::static_str(#value)
            },
            Sigil::Value => quote_spanned! {span=>
                {
                    #[allow(unused_imports)]
                    use ::traced::__private::{AttrViaRef as _, AttrViaValue as _};
                    ::traced::__private::AttrValue::to_attr_value(
                        (&::traced::__private::AttrProbe(&(#value))).traced_attr(),
                    )
                }
            },
            Sigil::Display => quote_spanned! {span=>
                ::traced::__private::string_value(::std::format!("{}", #value))
            },
            Sigil::Debug => quote_spanned! {span=>
                ::traced::__private::string_value(::std::format!("{:?}", #value))
            },
        };
        // Whether the built-in secret-key rules mask this key: decided at
        // compile time, so that a call site without one pays nothing for them.
        quote!(#sink.add_site::<{ ::traced::__private::is_secret_key(#key) }>(#key, #value);)
    });
    quote!(#(#adds)*)
}

/// With instrumentation compiled out: the values are type-checked and borrowed
/// (so no variable becomes unused) but never evaluated.
pub(crate) fn inert(fields: &[Field]) -> TokenStream {
    let values = fields.iter().map(|f| &f.value);
    quote! {
        #[allow(unreachable_code, clippy::diverging_sub_expression)]
        if false {
            #( let _ = &(#values); )*
        }
    }
}

struct EventInput {
    name: Expr,
    fields: Vec<Field>,
}

impl Parse for EventInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(input
                .error("expected an event name: `traced::event!(\"cache.miss\", key = value)`"));
        }
        let name: Expr = input.parse()?;
        let fields = if input.is_empty() {
            Vec::new()
        } else {
            input.parse::<Token![,]>()?;
            Punctuated::<Field, Token![,]>::parse_terminated(input)?
                .into_iter()
                .collect()
        };
        Ok(EventInput { name, fields })
    }
}

pub(crate) fn expand_event(input: TokenStream, enabled: bool) -> TokenStream {
    let input = match syn::parse2::<EventInput>(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let mut ctx = Ctx::default();
    check_duplicates(&mut ctx, input.fields.iter().map(|f| (f, None)));
    if ctx.has_errors() {
        return ctx.into_compile_errors();
    }
    let name = &input.name;
    if !enabled {
        let inert = inert(&input.fields);
        return quote!({ let _ = &(#name); #inert });
    }
    let sink = Ident::new("__traced_attrs", Span::mixed_site());
    let adds = adds(&sink, &input.fields);
    quote! {
        ::traced::__private::event(#name, |#sink: &mut ::traced::__private::Attrs| { #adds })
    }
}

pub(crate) fn expand_attr(input: TokenStream, enabled: bool) -> TokenStream {
    let fields = match parse_list(input) {
        Ok(f) => f,
        Err(e) => return e.to_compile_error(),
    };
    let mut ctx = Ctx::default();
    if fields.is_empty() {
        ctx.error_at(
            Span::call_site(),
            "expected at least one attribute: `traced::attr!(key = value)`",
        );
    }
    check_duplicates(&mut ctx, fields.iter().map(|f| (f, None)));
    if ctx.has_errors() {
        return ctx.into_compile_errors();
    }
    if !enabled {
        let inert = inert(&fields);
        return quote!({ #inert });
    }
    let sink = Ident::new("__traced_attrs", Span::mixed_site());
    let adds = adds(&sink, &fields);
    quote! {
        ::traced::__private::attrs(|#sink: &mut ::traced::__private::Attrs| { #adds })
    }
}

pub(crate) fn expand_link(input: TokenStream, enabled: bool) -> TokenStream {
    // Same shape as `event!`: the first argument is the link target.
    let input =
        match syn::parse2::<EventInput>(input) {
            Ok(i) => i,
            Err(e) => return syn::Error::new(
                e.span(),
                "expected a link target and attributes: `traced::link!(span_context, key = value)`",
            )
            .to_compile_error(),
        };
    let mut ctx = Ctx::default();
    check_duplicates(&mut ctx, input.fields.iter().map(|f| (f, None)));
    if ctx.has_errors() {
        return ctx.into_compile_errors();
    }
    let target = &input.name;
    if !enabled {
        let inert = inert(&input.fields);
        return quote!({ let _ = &(#target); #inert });
    }
    let sink = Ident::new("__traced_attrs", Span::mixed_site());
    let adds = adds(&sink, &input.fields);
    quote! {
        ::traced::__private::link(#target, |#sink: &mut ::traced::__private::Attrs| { #adds })
    }
}
