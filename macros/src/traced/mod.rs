//! `#[traced]`: parse the options and the item, check them together, then expand.

mod expand;
mod item;
mod parse;

use crate::ctx::Ctx;
use proc_macro2::TokenStream;
use quote::quote;

/// Expands `#[traced(args)] item`; with `enabled` false the item comes back untouched
/// (after the same checks, so a mistake is an error in every build).
pub(crate) fn expand(args: TokenStream, item: TokenStream, enabled: bool) -> TokenStream {
    let mut ctx = Ctx::default();
    let opts = parse::Options::parse(args, &mut ctx);
    let func = match item::parse(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            ctx.push(e);
            let errors = ctx.into_compile_errors();
            // Keep the user's item so that one mistake does not cascade into
            // "cannot find function" errors everywhere it is called.
            return quote!(#errors #item);
        }
    };
    item::check(&opts, &func, &mut ctx);
    if ctx.has_errors() {
        let errors = ctx.into_compile_errors();
        // The function without its instrumentation: an argument named in the
        // options is not unused, whatever the compiler would say after the error.
        return quote!(#errors #[allow(unused_variables)] #func);
    }
    if enabled {
        expand::function(&opts, func)
    } else {
        compiled_out(&opts, func)
    }
}

/// The function as written, plus, when the options name expressions, a block
/// that never runs and only mentions them: what `attrs(..)`, `args(..)`,
/// `parent` and `links(..)` read stays "used" (no `dead_code` on a field only
/// recorded, no `unused_variables` on an argument only named), and they still
/// type-check, while nothing is evaluated.
fn compiled_out(opts: &parse::Options, mut func: syn::ItemFn) -> TokenStream {
    let args = opts.args.iter().map(|a| quote!(#a));
    let attrs = opts.attrs.iter().map(|f| {
        let v = &f.value;
        quote!(#v)
    });
    let others = opts
        .parent
        .iter()
        .chain(&opts.links)
        .map(|e| quote!(#e))
        .chain(
            opts.objective
                .iter()
                .map(|e| quote!(::traced::Objective::checked(&#e))),
        );
    let mentioned: Vec<TokenStream> = args.chain(attrs).chain(others).collect();
    if !mentioned.is_empty() {
        let block: syn::Stmt = syn::parse_quote! {
            #[allow(unreachable_code, clippy::all, clippy::pedantic)]
            if false {
                let _ = (#(&(#mentioned),)*);
            }
        };
        func.block.stmts.insert(0, block);
    }
    quote!(#func)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_expansion_is_the_item_and_a_block_that_never_runs() {
        let item = quote! {
            /// Docs.
            #[inline]
            pub async fn load<T: Clone>(&self, id: u64) -> Result<T, Error> where T: Send {
                let x = id + 1;
                helper(x).await?
            }
        };
        let args = quote!(kind = server, err);
        let out = expand(args, item.clone(), false);
        assert_eq!(
            out.to_string(),
            item.to_string(),
            "nothing named: the item itself"
        );
        let args = quote!(kind = server, err, attrs(user.id = id));
        let out = expand(args, item, false).to_string();
        assert!(
            out.contains("if false { let _ = (& (id) ,) ; } let x = id + 1 ;"),
            "{out}"
        );
    }

    #[test]
    fn enabled_expansion_wraps_the_body() {
        let item = quote!(
            fn load(id: u64) -> u64 {
                id
            }
        );
        let out = expand(quote!(), item, true).to_string();
        assert!(out.contains(":: traced :: __private :: start"), "{out}");
        assert!(out.contains("fn load (id : u64) -> u64"), "{out}");
    }

    #[test]
    fn errors_are_reported_in_disabled_builds_too() {
        let out = expand(
            quote!(kind = sever),
            quote!(
                fn f() {}
            ),
            false,
        )
        .to_string();
        assert!(out.contains("compile_error"), "{out}");
    }
}
