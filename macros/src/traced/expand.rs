//! Code generation for `#[traced]`. Every path is absolute (`::traced::__private`,
//! `::core`) and every local is hygienic, so nothing in the user's scope changes it.

use super::item::{self, Shape};
use super::parse::{Format, Options};
use crate::fields::{self, unraw};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ItemFn;

fn local(name: &str) -> syn::Ident {
    syn::Ident::new(name, Span::mixed_site())
}

pub(crate) fn function(opts: &Options, func: ItemFn) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func.clone();
    let braces = block.brace_token.span.join();
    let shape = item::shape(&func);
    let span = local("__traced_span");
    let enter = local("__traced_enter");
    let ret = local("__traced_ret");
    let fut = local("__traced_fut");

    let site = call_site(opts, &func);
    let start = start(opts, &func, &span);
    // `metrics(track_concurrency)`: the call is in flight from here until the
    // body (or, for a function returning a future, the future) is done.
    let in_flight = local("__traced_in_flight");
    let fn_name = func.sig.ident.to_string();
    let concurrent = opts.track_concurrency.map(|at| {
        quote_spanned! {at=>
            static __TRACED_CONCURRENT: ::traced::__private::ConcurrentCalls =
                ::traced::__private::ConcurrentCalls::new(#fn_name, ::core::module_path!());
        }
    });
    let site = match &concurrent {
        // Declared before the span, so dropped after it: the span ends and
        // the call is counted before the call leaves the gauge.
        Some(concurrent) if !matches!(shape, Shape::FutureImpl | Shape::FutureBoxed) => quote! {
            #site
            #concurrent
            let #in_flight = __TRACED_CONCURRENT.enter();
        },
        Some(concurrent) => quote!(#site #concurrent),
        None => site,
    };
    // The result's type, written out when it can be: it guides inference of `?`
    // in the body and lets `Probe` resolve on the concrete type.
    let annot = match &func.sig.output {
        syn::ReturnType::Default => Some(quote!(: ())),
        syn::ReturnType::Type(_, ty) if item::nameable(ty) => Some(quote!(: #ty)),
        syn::ReturnType::Type(..) => None,
    };

    // A function that never returns has no value to record: `err` and `ret` are
    // errors (see `item::check`) and call metrics count it when it unwinds.
    let plain = opts.err.is_none() && opts.ret.is_none() && opts.metrics.is_none();
    let body = match shape {
        Shape::Sync if item::never_returns(&func) => {
            // The body's statements follow ours in the same block: nested in braces
            // of its own, a body such as `{ id }` would be taken by `unused_braces`
            // for braces the user wrote around a tail expression. (A panic message
            // here comes from the panic hook alone: a closure cannot return `!`.)
            let stmts = &block.stmts;
            quote! {
                #site
                #start
                let #enter = #span.enter();
                #(#stmts)*
            }
        }
        Shape::Sync if plain => {
            // `catching` sees a panic's payload whatever panic hook is installed,
            // and resumes it unchanged. A closure body is not a block in a
            // position `unused_braces` looks at.
            quote! {
                #site
                #start
                let #enter = #span.enter();
                ::traced::__private::catching(move || #block)
            }
        }
        Shape::Sync => {
            let records = records(opts, &span, &ret, annot.is_some());
            quote! {
                #site
                #start
                let #enter = #span.enter();
                let #ret #annot = ::traced::__private::catching(move || #block);
                #records
                ::core::mem::drop(#enter);
                #ret
            }
        }
        Shape::Async => {
            let unit: syn::Type = syn::parse_quote!(());
            let output = match &func.sig.output {
                syn::ReturnType::Default => Some(&unit),
                syn::ReturnType::Type(_, ty) => Some(&**ty),
            };
            let finish = finish(opts, output);
            quote! {
                #site
                #start
                let #ret #annot = ::traced::__private::instrument(
                    async move #block,
                    #span,
                    #finish,
                ).await;
                #ret
            }
        }
        Shape::FutureImpl | Shape::FutureBoxed => {
            let finish = finish(opts, item::future_output(&func).as_ref());
            let wrapped = quote!(::traced::__private::instrument(#fut, #span, #finish));
            let wrapped = if concurrent.is_some() {
                quote!(::traced::__private::in_flight(#wrapped, __TRACED_CONCURRENT.enter()))
            } else {
                wrapped
            };
            let wrapped = if shape == Shape::FutureBoxed {
                quote!(::std::boxed::Box::pin(#wrapped))
            } else {
                wrapped
            };
            quote! {
                #site
                #start
                let #enter = #span.enter();
                let #fut = ::traced::__private::catching(move || #block);
                ::core::mem::drop(#enter);
                #wrapped
            }
        }
    };
    // The function's own braces are the user's: its span, and so where lints such
    // as `dead_code` point (and whether they fire at all), is that of the item written.
    let mut outer = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, body);
    outer.set_span(braces);
    quote! {
        #(#attrs)*
        #vis #sig #outer
    }
}

/// The static that describes the function, built at compile time.
fn call_site(opts: &Options, func: &ItemFn) -> TokenStream {
    let ident = &func.sig.ident;
    let fn_name = unraw(ident);
    let name = opts
        .name
        .as_ref()
        .map(syn::LitStr::value)
        .unwrap_or_else(|| fn_name.clone());
    let kind = opts
        .kind
        .clone()
        .unwrap_or_else(|| format_ident!("Internal"));
    // Evaluated where the static is: an objective without a target fails to compile.
    let objective = match &opts.objective {
        Some(e) => quote_spanned! {syn::spanned::Spanned::span(e)=>
            ::core::option::Option::Some(::traced::Objective::checked(&#e))
        },
        None => quote!(::core::option::Option::None),
    };
    quote_spanned! {ident.span()=>
        static __TRACED_SITE: ::traced::__private::CallSite = ::traced::__private::CallSite {
            name: #name,
            kind: ::traced::__private::Kind::#kind,
            function: ::core::concat!(::core::module_path!(), "::", #fn_name),
            fn_name: #fn_name,
            module: ::core::module_path!(),
            file: ::core::file!(),
            line: ::core::line!(),
            objective: #objective,
        };
    }
}

/// `let __traced_span = start(..)`: parent, links and the attributes recorded at entry.
fn start(opts: &Options, func: &ItemFn, span: &syn::Ident) -> TokenStream {
    let parent = if opts.root.is_some() {
        quote!(::traced::__private::Parent::Root)
    } else if let Some(p) = &opts.parent {
        quote_spanned!(syn::spanned::Spanned::span(p)=> ::traced::__private::IntoParent::into_parent(#p))
    } else {
        quote!(::traced::__private::Parent::Current)
    };
    let links = if opts.links.is_empty() {
        quote!(::std::vec::Vec::new())
    } else {
        let list = local("__traced_links");
        let pushes = opts.links.iter().map(|l| {
            quote_spanned!(syn::spanned::Spanned::span(l)=> ::traced::__private::push_link(&mut #list, #l);)
        });
        quote!({
            let mut #list = ::std::vec::Vec::new();
            #(#pushes)*
            #list
        })
    };
    let sink = local("__traced_attrs");
    let arg_fields = opts.arg_fields();
    let adds = fields::adds(&sink, &arg_fields);
    let attr_adds = fields::adds(&sink, &opts.attrs);
    let fill = if arg_fields.is_empty() && opts.attrs.is_empty() {
        quote!(|_: &mut ::traced::__private::Attrs| {})
    } else {
        quote!(|#sink: &mut ::traced::__private::Attrs| { #adds #attr_adds })
    };
    let _ = func;
    let metrics = opts.metrics.is_some();
    quote! {
        let #span = ::traced::__private::start(&__TRACED_SITE, #parent, #links, #metrics, #fill);
    }
}

/// `result="error"` in call metrics when the value in hand is an `Err`, whatever
/// its type (method resolution picks `ViaResult` for `Result`s, `ViaAny` otherwise).
fn result_label(span: TokenStream, value_ref: TokenStream) -> TokenStream {
    quote! {
        ::traced::__private::mark_result(#span, {
            #[allow(unused_imports)]
            use ::traced::__private::{ViaAny as _, ViaResult as _};
            (&::traced::__private::Probe(#value_ref)).traced_is_err()
        });
    }
}

/// `err` / `ret` for a value in hand (sync functions). `typed`: the value's type is
/// written out, so `ret` can record it as what it is.
fn records(opts: &Options, span: &syn::Ident, ret: &syn::Ident, typed: bool) -> TokenStream {
    let mut out = TokenStream::new();
    if opts.metrics.is_some() {
        out.extend(result_label(quote!(&#span), quote!(&#ret)));
    }
    if let Some((at, format)) = opts.err {
        let f = match format {
            Format::Value | Format::Display => quote_spanned!(at=> ::traced::__private::record_err),
            Format::Debug => quote_spanned!(at=> ::traced::__private::record_err_debug),
        };
        out.extend(quote_spanned!(at=> #f(&#span, &#ret);));
    }
    if let Some((at, _)) = opts.ret {
        out.extend(if typed {
            record_ret(opts, quote!(&#span), quote!(&#ret))
        } else {
            let f = ret_fn(opts);
            quote_spanned!(at=> #f(&#span, &#ret);)
        });
    }
    out
}

/// `ret` on a value of a known type: with `Format::Value`, method resolution on
/// `RetProbe` picks the value itself for an `AttrValue` and its `Debug` form
/// otherwise; `span` and `value` are expressions of type `&Active` and `&T`.
fn record_ret(opts: &Options, span: TokenStream, value: TokenStream) -> TokenStream {
    let (at, format) = opts.ret.expect("ret is set");
    if format != Format::Value {
        let f = ret_fn(opts);
        return quote_spanned!(at=> #f(#span, #value););
    }
    let ok = local("__traced_ok");
    // Spanned on the option: a type that is neither recordable nor `Debug` is
    // reported there.
    let record = quote_spanned!(at=> record);
    let probe = |v: &TokenStream| {
        quote! {
            #[allow(unused_imports)]
            use ::traced::__private::{RetViaDebug as _, RetViaValue as _};
            (&::traced::__private::RetProbe(#v)).traced_ret().#record(#span, #v);
        }
    };
    if opts.err.is_some() {
        let body = probe(&quote!(#ok));
        quote! {
            if let ::core::option::Option::Some(#ok) = ::traced::__private::ok_of(#value) {
                #body
            }
        }
    } else {
        let body = probe(&value);
        quote!({ #body })
    }
}

/// `ret` as a function of `(&Active, &T)`, for values whose type is not written out
/// (`Format::Value` falls back to the `Debug` form).
fn ret_fn(opts: &Options) -> TokenStream {
    let (at, format) = opts.ret.expect("ret is set");
    match (opts.err.is_some(), format) {
        (false, Format::Value | Format::Debug) => {
            quote_spanned!(at=> ::traced::__private::record_ret)
        }
        (false, Format::Display) => quote_spanned!(at=> ::traced::__private::record_ret_display),
        (true, Format::Value | Format::Debug) => {
            quote_spanned!(at=> ::traced::__private::record_ret_ok)
        }
        (true, Format::Display) => {
            quote_spanned!(at=> ::traced::__private::record_ret_ok_display)
        }
    }
}

/// `err`, `ret` and the metrics `result` for a future's output: three functions the
/// future calls with it. The third needs the output's type written out (so that
/// `Probe` resolves on the concrete type); without one the result label stays "ok"
/// unless `err` sees an `Err`.
fn finish(opts: &Options, output: Option<&syn::Type>) -> TokenStream {
    let err = match opts.err {
        Some((at, Format::Value | Format::Display)) => {
            quote_spanned!(at=> ::traced::__private::record_err)
        }
        Some((at, Format::Debug)) => quote_spanned!(at=> ::traced::__private::record_err_debug),
        None => quote!(::traced::__private::nothing),
    };
    let output = output.filter(|ty| item::nameable(ty));
    let ret = match (opts.ret, output) {
        (Some((_, Format::Value)), Some(ty)) => {
            let span = local("__traced_span");
            let out = local("__traced_out");
            let record = record_ret(opts, quote!(#span), quote!(#out));
            quote!(|#span: &::traced::__private::Active, #out: &#ty| { #record })
        }
        (Some(_), _) => ret_fn(opts),
        (None, _) => quote!(::traced::__private::nothing),
    };
    let result = match output {
        Some(ty) if opts.metrics.is_some() => {
            let span = local("__traced_span");
            let out = local("__traced_out");
            let label = result_label(quote!(#span), quote!(#out));
            quote!(|#span: &::traced::__private::Active, #out: &#ty| { #label })
        }
        _ => quote!(::traced::__private::nothing),
    };
    quote!((#err, #ret, #result))
}
