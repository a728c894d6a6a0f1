//! `#[derive(FromRaw)]`: a struct read from a row of Khidmat's own SQLite connection
//! (`khidmat::platform::sqlite`), each field from the column of its name, as `sqlx::FromRow`
//! reads it from sqlx's rows. A field marked `#[sqlx(flatten)]` is read from the same row as a
//! whole, as sqlx does. No other attribute changes how a field is read: one that would (a
//! rename, a default) is refused at compile time rather than read differently on one backend.

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, Data, DeriveInput, Fields};

#[proc_macro_derive(FromRaw, attributes(sqlx))]
pub fn derive_from_raw(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let name = &input.ident;
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(f) => &f.named,
            _ => {
                return Err(syn::Error::new_spanned(
                    name,
                    "FromRaw reads structs with named fields",
                ))
            }
        },
        _ => return Err(syn::Error::new_spanned(name, "FromRaw reads structs")),
    };
    let mut reads = Vec::new();
    for f in fields {
        let ident = f.ident.as_ref().expect("named field");
        let ty = &f.ty;
        let mut flatten = false;
        for a in f.attrs.iter().filter(|a| a.path().is_ident("sqlx")) {
            a.parse_nested_meta(|m| {
                if m.path.is_ident("flatten") {
                    flatten = true;
                    Ok(())
                } else {
                    Err(m.error("FromRaw knows only #[sqlx(flatten)]"))
                }
            })?;
        }
        let column = ident.to_string();
        let column = column.strip_prefix("r#").unwrap_or(&column).to_owned();
        reads.push(if flatten {
            quote! { #ident: <#ty as ::khidmat::platform::sqlite::FromRaw>::from_raw(row)? }
        } else {
            quote! { #ident: row.get::<#ty>(#column)? }
        });
    }
    let (imp, ty, wher) = input.generics.split_for_impl();
    Ok(quote! {
        impl #imp ::khidmat::platform::sqlite::FromRaw for #name #ty #wher {
            fn from_raw(row: &::khidmat::platform::sqlite::RawRow<'_>) -> ::std::result::Result<Self, ::sqlx::Error> {
                ::std::result::Result::Ok(Self { #(#reads),* })
            }
        }
    })
}
