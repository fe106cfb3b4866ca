//! The instrumented item: what it is, what it returns, and the checks that need it.

use super::parse::Options;
use crate::ctx::{closest, Ctx};
use crate::fields::unraw;
use syn::visit::Visit;
use syn::{FnArg, GenericArgument, ItemFn, Pat, PathArguments, ReturnType, Type, TypeParamBound};

/// Parses the item under the attribute; anything but a function with a body is an
/// error that says what was found.
pub(crate) fn parse(tokens: proc_macro2::TokenStream) -> syn::Result<ItemFn> {
    let err = match syn::parse2::<ItemFn>(tokens.clone()) {
        Ok(f) => return Ok(f),
        Err(e) => e,
    };
    if let Ok(f) = syn::parse2::<syn::TraitItemFn>(tokens.clone()) {
        return Err(syn::Error::new_spanned(
            &f.sig,
            "#[traced] needs a function body: put it on the implementations of this trait \
             method, or give the method a default body",
        ));
    }
    if let Ok(item) = syn::parse2::<syn::Item>(tokens) {
        let what = match &item {
            syn::Item::Struct(_) => "a struct",
            syn::Item::Enum(_) => "an enum",
            syn::Item::Union(_) => "a union",
            syn::Item::Impl(_) => "an impl block",
            syn::Item::Trait(_) => "a trait",
            syn::Item::Mod(_) => "a module",
            syn::Item::Const(_) => "a const",
            syn::Item::Static(_) => "a static",
            syn::Item::Type(_) => "a type alias",
            syn::Item::Use(_) => "a use declaration",
            syn::Item::ForeignMod(_) => "an extern block",
            _ => "an item that is not a function",
        };
        let hint = match &item {
            syn::Item::Impl(_) | syn::Item::Trait(_) => {
                "; put it on each method you want a span for"
            }
            syn::Item::Struct(_) => "; for metrics on a struct, derive `Metrics`",
            _ => "",
        };
        return Err(syn::Error::new_spanned(
            item_head(&item),
            format!("#[traced] goes on a function, not on {what}{hint}"),
        ));
    }
    Err(err)
}

/// The tokens to point at for a wrong item: its keyword and name.
fn item_head(item: &syn::Item) -> proc_macro2::TokenStream {
    use quote::quote;
    match item {
        syn::Item::Struct(s) => {
            let (k, i) = (&s.struct_token, &s.ident);
            quote!(#k #i)
        }
        syn::Item::Enum(e) => {
            let (k, i) = (&e.enum_token, &e.ident);
            quote!(#k #i)
        }
        syn::Item::Impl(i) => {
            let (k, t) = (&i.impl_token, &i.self_ty);
            quote!(#k #t)
        }
        syn::Item::Trait(t) => {
            let (k, i) = (&t.trait_token, &t.ident);
            quote!(#k #i)
        }
        syn::Item::Const(c) => {
            let (k, i) = (&c.const_token, &c.ident);
            quote!(#k #i)
        }
        other => quote!(#other),
    }
}

/// What the function gives back, as far as instrumentation cares.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Shape {
    /// A plain function: the span covers the call.
    Sync,
    /// `async fn`: the span covers the future.
    Async,
    /// `-> impl Future`: the span covers the call and the returned future.
    FutureImpl,
    /// `-> Pin<Box<dyn Future>>` (as `#[async_trait]` writes it) or `BoxFuture`.
    FutureBoxed,
}

pub(crate) fn shape(func: &ItemFn) -> Shape {
    if func.sig.asyncness.is_some() {
        return Shape::Async;
    }
    match &func.sig.output {
        ReturnType::Type(_, ty) if is_impl_future(ty) => Shape::FutureImpl,
        ReturnType::Type(_, ty) if is_boxed_future(ty) => Shape::FutureBoxed,
        _ => Shape::Sync,
    }
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Group(g) => last_segment(&g.elem),
        Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}

fn has_future_bound<'a>(bounds: impl IntoIterator<Item = &'a TypeParamBound>) -> bool {
    bounds.into_iter().any(|b| match b {
        TypeParamBound::Trait(t) => t.path.segments.last().is_some_and(|s| s.ident == "Future"),
        _ => false,
    })
}

fn is_impl_future(ty: &Type) -> bool {
    match ty {
        Type::ImplTrait(t) => has_future_bound(&t.bounds),
        Type::Group(g) => is_impl_future(&g.elem),
        Type::Paren(p) => is_impl_future(&p.elem),
        _ => false,
    }
}

fn first_type_arg(seg: &syn::PathSegment) -> Option<&Type> {
    match &seg.arguments {
        PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| match g {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    }
}

fn is_boxed_future(ty: &Type) -> bool {
    let Some(seg) = last_segment(ty) else {
        return false;
    };
    if seg.ident == "BoxFuture" || seg.ident == "LocalBoxFuture" {
        return true;
    }
    if seg.ident != "Pin" {
        return false;
    }
    let Some(inner) = first_type_arg(seg).and_then(last_segment) else {
        return false;
    };
    if inner.ident != "Box" {
        return false;
    }
    match first_type_arg(inner) {
        Some(Type::TraitObject(o)) => has_future_bound(&o.bounds),
        _ => false,
    }
}

/// The declared return type, if it is not `()`.
pub(crate) fn return_type(func: &ItemFn) -> Option<&Type> {
    match &func.sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => match &**ty {
            Type::Tuple(t) if t.elems.is_empty() => None,
            ty => Some(ty),
        },
    }
}

/// Whether the function is declared `-> !`.
pub(crate) fn never_returns(func: &ItemFn) -> bool {
    matches!(&func.sig.output, ReturnType::Type(_, ty) if matches!(strip(ty), Type::Never(_)))
}

fn strip(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => strip(&g.elem),
        Type::Paren(p) => strip(&p.elem),
        ty => ty,
    }
}

/// Whether a type can be written in a `let` (it has no `impl Trait`).
pub(crate) fn nameable(ty: &Type) -> bool {
    struct FindImpl(bool);
    impl Visit<'_> for FindImpl {
        fn visit_type_impl_trait(&mut self, _: &syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut v = FindImpl(false);
    v.visit_type(ty);
    !v.0
}

/// The names the arguments bind (`self` included), for `args(..)`.
fn bound_names(func: &ItemFn) -> Vec<String> {
    fn walk(pat: &Pat, out: &mut Vec<String>) {
        match pat {
            Pat::Ident(p) => {
                out.push(unraw(&p.ident));
                if let Some((_, sub)) = &p.subpat {
                    walk(sub, out);
                }
            }
            Pat::Tuple(t) => t.elems.iter().for_each(|p| walk(p, out)),
            Pat::TupleStruct(t) => t.elems.iter().for_each(|p| walk(p, out)),
            Pat::Struct(s) => s.fields.iter().for_each(|f| walk(&f.pat, out)),
            Pat::Reference(r) => walk(&r.pat, out),
            Pat::Slice(s) => s.elems.iter().for_each(|p| walk(p, out)),
            Pat::Type(t) => walk(&t.pat, out),
            Pat::Paren(p) => walk(&p.pat, out),
            Pat::Or(o) => {
                if let Some(first) = o.cases.first() {
                    walk(first, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for input in &func.sig.inputs {
        match input {
            FnArg::Receiver(_) => out.push("self".to_owned()),
            FnArg::Typed(t) => walk(&t.pat, &mut out),
        }
    }
    out
}

/// Checks that need both the options and the function.
pub(crate) fn check(opts: &Options, func: &ItemFn, ctx: &mut Ctx) {
    let sig = &func.sig;
    if let Some(constness) = &sig.constness {
        ctx.error(
            constness,
            "a `const fn` cannot be traced: spans start at run time; remove `const` or the attribute",
        );
    }
    let names = bound_names(func);
    for arg in &opts.args {
        let name = unraw(arg);
        if !names.contains(&name) {
            let candidates: Vec<&str> = names.iter().map(String::as_str).collect();
            let hint = match closest(&name, &candidates) {
                Some(c) => format!("; did you mean `{c}`?"),
                None if names.is_empty() => "; it takes no arguments".to_owned(),
                None => format!("; its arguments are: {}", names.join(", ")),
            };
            ctx.error(
                arg,
                format!("`{name}` is not an argument of `{}`{hint}", sig.ident),
            );
        }
    }
    let returns_value = match shape(func) {
        Shape::Sync | Shape::Async => return_type(func).is_some(),
        // The future's output is checked by the type system.
        Shape::FutureImpl | Shape::FutureBoxed => true,
    };
    if never_returns(func) {
        let options = [
            ("err", "the `Err` of a `Result`", opts.err),
            ("ret", "the return value", opts.ret),
        ];
        for (option, what, given) in options {
            if let Some((span, _)) = given {
                ctx.error_at(
                    span,
                    format!(
                        "`{option}` records {what}, but `{}` never returns (`-> !`); remove `{option}`",
                        sig.ident
                    ),
                );
            }
        }
    } else if !returns_value {
        if let Some((span, _)) = opts.err {
            ctx.error_at(
                span,
                format!(
                    "`err` records the `Err` of a `Result`, but `{}` returns `()`; remove `err`",
                    sig.ident
                ),
            );
        }
        if let Some((span, _)) = opts.ret {
            ctx.error_at(
                span,
                format!(
                    "`ret` records the return value, but `{}` returns `()`; remove `ret`",
                    sig.ident
                ),
            );
        }
    }
}

/// The `Output` of a future-returning function, when written as
/// `impl Future<Output = T>` or `Pin<Box<dyn Future<Output = T>>>`.
pub(crate) fn future_output(func: &ItemFn) -> Option<Type> {
    fn from_bounds<'a>(bounds: impl IntoIterator<Item = &'a TypeParamBound>) -> Option<Type> {
        bounds.into_iter().find_map(|b| match b {
            TypeParamBound::Trait(t) => {
                let seg = t.path.segments.last()?;
                if seg.ident != "Future" {
                    return None;
                }
                match &seg.arguments {
                    PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| match g {
                        GenericArgument::AssocType(at) if at.ident == "Output" => {
                            Some(at.ty.clone())
                        }
                        _ => None,
                    }),
                    _ => None,
                }
            }
            _ => None,
        })
    }
    let ReturnType::Type(_, ty) = &func.sig.output else {
        return None;
    };
    match &**ty {
        Type::ImplTrait(t) => from_bounds(&t.bounds),
        ty => {
            let pin = last_segment(ty)?;
            let boxed = first_type_arg(pin).and_then(last_segment)?;
            match first_type_arg(boxed)? {
                Type::TraitObject(o) => from_bounds(&o.bounds),
                _ => None,
            }
        }
    }
}
