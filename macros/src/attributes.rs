//! `#[derive(Attributes)]`: a struct of labels whose keys cannot be misspelled.

use crate::ctx::Ctx;
use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr};

pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let mut ctx = Ctx::default();
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(f) => f.named.iter().collect::<Vec<_>>(),
            other => {
                ctx.error(
                    other,
                    "#[derive(Attributes)] needs named fields: each is an attribute",
                );
                Vec::new()
            }
        },
        _ => {
            ctx.error_at(
                input.ident.span(),
                "#[derive(Attributes)] goes on a struct of attribute fields",
            );
            Vec::new()
        }
    };
    let mut entries = Vec::new();
    let mut keys = std::collections::HashSet::new();
    for f in fields {
        let ident = f.ident.clone().expect("named");
        let mut key = crate::fields::unraw(&ident);
        for attr in f.attrs.iter().filter(|a| a.path().is_ident("attr")) {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("name") {
                    let lit: LitStr = meta.value()?.parse()?;
                    if lit.value().is_empty() {
                        ctx.error(&lit, "an attribute key cannot be empty");
                    }
                    key = lit.value();
                    Ok(())
                } else {
                    let word = meta
                        .path
                        .get_ident()
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    Err(meta.error(format!(
                        "unknown option `{word}` in #[attr(..)]; expected `name = \"dotted.key\"`"
                    )))
                }
            });
            if let Err(e) = result {
                ctx.push(e);
            }
        }
        if !keys.insert(key.clone()) {
            ctx.error(
                &ident,
                format!(
                    "attribute key `{key}` is already taken by another field; give this one its own: `#[attr(name = \"...\")]`"
                ),
            );
        }
        entries.push((ident, key));
    }
    let ty = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    if ctx.has_errors() {
        // With the errors, `attributes()` still exists: code calling it adds no
        // "no method" error.
        let errors = ctx.into_compile_errors();
        return quote! {
            #errors
            #[allow(dead_code, unreachable_code, clippy::all)]
            impl #impl_generics #ty #ty_generics #where_clause {
                pub fn attributes(&self) -> [::traced::opentelemetry::KeyValue; 0] {
                    ::core::unreachable!()
                }
            }
        };
    }
    let n = entries.len();
    let values = entries.iter().map(|(ident, key)| {
        quote! {
            ::traced::opentelemetry::KeyValue::new(
                #key,
                ::traced::AttrValue::to_attr_value(&self.#ident)
                    .unwrap_or_else(|| ::traced::opentelemetry::Value::from("")),
            )
        }
    });
    quote! {
        impl #impl_generics #ty #ty_generics #where_clause {
            /// The attributes, to pass to an instrument: `counter.add(1, &labels.attributes())`.
            pub fn attributes(&self) -> [::traced::opentelemetry::KeyValue; #n] {
                [#(#values),*]
            }
        }
    }
}
