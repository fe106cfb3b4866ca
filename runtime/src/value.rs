//! Conversion of Rust values into OpenTelemetry attribute values.

use opentelemetry::{Array, StringValue, Value};
use std::borrow::Cow;
#[cfg(feature = "enabled")]
use std::fmt;

/// A value that can be recorded as an OpenTelemetry attribute.
///
/// Implemented for `bool`, the integer and float types, strings, [`Value`] itself,
/// `Option<T>` (where `None` records nothing) and slices, arrays and `Vec`s of these
/// scalars. Anything else can be recorded through its `Display` (`%expr`) or
/// `Debug` (`?expr`) form in `attrs(..)`, `event!` and `attr!`.
///
/// ```
/// # use traced_runtime as traced;
/// use traced::AttrValue;
/// assert_eq!(42u8.to_attr_value(), Some(opentelemetry::Value::I64(42)));
/// assert_eq!(None::<u8>.to_attr_value(), None);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded as an OpenTelemetry attribute value",
    label = "not a bool, integer, float, string, or a slice of these",
    note = "record it through its Display form with `%expr` or its Debug form with `?expr`"
)]
pub trait AttrValue {
    /// The attribute value, or `None` to record nothing.
    fn to_attr_value(&self) -> Option<Value>;
}

impl<T: AttrValue + ?Sized> AttrValue for &T {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        (**self).to_attr_value()
    }
}

impl<T: AttrValue + ?Sized> AttrValue for &mut T {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        (**self).to_attr_value()
    }
}

impl<T: AttrValue + ?Sized> AttrValue for Box<T> {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        (**self).to_attr_value()
    }
}

impl<T: AttrValue> AttrValue for Option<T> {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        self.as_ref().and_then(AttrValue::to_attr_value)
    }
}

impl AttrValue for bool {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::Bool(*self))
    }
}

macro_rules! lossless_int {
    ($($t:ty),*) => {$(
        impl AttrValue for $t {
            #[inline]
            fn to_attr_value(&self) -> Option<Value> {
                Some(Value::I64(i64::from(*self)))
            }
        }
    )*};
}
lossless_int!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! wide_int {
    ($($t:ty),*) => {$(
        impl AttrValue for $t {
            /// Values beyond the `i64` range are recorded as their decimal string.
            #[inline]
            fn to_attr_value(&self) -> Option<Value> {
                Some(match i64::try_from(*self) {
                    Ok(v) => Value::I64(v),
                    Err(_) => Value::String(self.to_string().into()),
                })
            }
        }
    )*};
}
wide_int!(u64, usize, isize, i128, u128);

impl AttrValue for f64 {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::F64(*self))
    }
}

impl AttrValue for f32 {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::F64(f64::from(*self)))
    }
}

impl AttrValue for str {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::String(self.to_owned().into()))
    }
}

impl AttrValue for String {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::String(self.clone().into()))
    }
}

impl AttrValue for Cow<'_, str> {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        self.as_ref().to_attr_value()
    }
}

impl AttrValue for char {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::String(self.to_string().into()))
    }
}

impl AttrValue for Value {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        Some(self.clone())
    }
}

impl AttrValue for StringValue {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::String(self.clone()))
    }
}

/// Scalars that may appear in an attribute array.
pub trait ArrayElement {
    #[doc(hidden)]
    fn into_array(items: &[Self]) -> Array
    where
        Self: Sized;
}

macro_rules! array_elem {
    ($variant:ident, |$x:ident| $conv:expr, $($t:ty),*) => {$(
        impl ArrayElement for $t {
            #[allow(clippy::useless_conversion)]
            fn into_array(items: &[Self]) -> Array {
                Array::$variant(items.iter().map(|$x| $conv).collect())
            }
        }
    )*};
}
array_elem!(Bool, |x| *x, bool);
array_elem!(I64, |x| i64::from(*x), i8, i16, i32, i64, u8, u16, u32);
array_elem!(F64, |x| f64::from(*x), f32, f64);
array_elem!(String, |x| StringValue::from(x.to_string()), String, &str);
array_elem!(
    I64,
    |x| i64::try_from(*x).unwrap_or(i64::MAX),
    u64,
    usize,
    isize
);

impl<T: ArrayElement> AttrValue for [T] {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::Array(T::into_array(self)))
    }
}

impl<T: ArrayElement, const N: usize> AttrValue for [T; N] {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::Array(T::into_array(self)))
    }
}

impl<T: ArrayElement> AttrValue for Vec<T> {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::Array(T::into_array(self)))
    }
}

/// Records a value through its `Display` form (`%expr`).
#[cfg(feature = "enabled")]
#[doc(hidden)]
pub struct DisplayValue<T>(pub T);

#[cfg(feature = "enabled")]
impl<T: fmt::Display> AttrValue for DisplayValue<T> {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::String(self.0.to_string().into()))
    }
}

/// Records a value through its `Debug` form (`?expr`).
#[cfg(feature = "enabled")]
#[doc(hidden)]
pub struct DebugValue<T>(pub T);

#[cfg(feature = "enabled")]
impl<T: fmt::Debug> AttrValue for DebugValue<T> {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::String(format!("{:?}", self.0).into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_convert() {
        assert_eq!(true.to_attr_value(), Some(Value::Bool(true)));
        assert_eq!((-3i32).to_attr_value(), Some(Value::I64(-3)));
        assert_eq!(1.5f32.to_attr_value(), Some(Value::F64(1.5)));
        assert_eq!("a".to_attr_value(), Some(Value::String("a".into())));
    }

    #[test]
    fn u64_beyond_i64_becomes_a_string() {
        assert_eq!(
            u64::MAX.to_attr_value(),
            Some(Value::String(u64::MAX.to_string().into()))
        );
    }

    #[test]
    fn slices_become_arrays() {
        assert_eq!(
            [1u8, 2].to_attr_value(),
            Some(Value::Array(Array::I64(vec![1, 2])))
        );
        assert_eq!(
            vec!["x", "y"].to_attr_value(),
            Some(Value::Array(Array::String(vec!["x".into(), "y".into()])))
        );
    }

    #[test]
    fn none_records_nothing() {
        assert_eq!(None::<&str>.to_attr_value(), None);
        assert_eq!(Some(2u8).to_attr_value(), Some(Value::I64(2)));
    }

    #[test]
    #[cfg(feature = "enabled")]
    fn display_and_debug() {
        assert_eq!(
            DisplayValue(std::net::Ipv4Addr::LOCALHOST).to_attr_value(),
            Some(Value::String("127.0.0.1".into()))
        );
        assert_eq!(
            DebugValue(Some("x")).to_attr_value(),
            Some(Value::String("Some(\"x\")".into()))
        );
    }
}
