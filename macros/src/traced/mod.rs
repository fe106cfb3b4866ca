//! `#[traced]`: parse the options and the item, check them together, then expand.

mod expand;
mod item;
mod parse;

use crate::ctx::Ctx;
use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
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
        return quote!(#errors #func);
    }
    if cfg!(feature = "enabled") {
        expand::function(&opts, func)
    } else {
        quote!(#func)
    }
}
