//! Doubles as the protobuf JSON mapping writes them, for the OTLP/JSON lines
//! of the file exporter.
//!
//! The OTLP/JSON encoding is the protobuf JSON mapping (with hex ids), and that
//! mapping writes a `double` that is not a number as the JSON *string*
//! `"NaN"`, `"Infinity"` or `"-Infinity"`: JSON has no literal for them. Serde
//! has no such notion, and `serde_json` writes a non-finite `f64` as `null`,
//! which would lose the value (and which the OTLP/JSON line then leaves out as
//! an absent field). `opentelemetry-proto`'s serde mapping only spells those
//! strings out for a summary's quantiles; an attribute's `doubleValue`, a
//! gauge's or sum's `asDouble`, a histogram's `sum`, `min`, `max` and
//! `explicitBounds`, an exemplar's `asDouble` would all become `null`.
//!
//! [`to_value`] serializes through [`Doubles`], a serializer adaptor that hands
//! every value on to `serde_json`'s value serializer unchanged, except that a
//! non-finite `f64` (or `f32`) becomes the mapping's string, wherever it sits
//! (a field, an `Option`, a list, a map, a flattened `oneof`).

use serde::ser::{self, Serialize, Serializer};
use serde_json::Value;

/// `value` as JSON, with every non-finite double written as the protobuf JSON
/// mapping's string.
pub(crate) fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, serde_json::Error> {
    Doubles(value).serialize(serde_json::value::Serializer)
}

/// The string the protobuf JSON mapping writes for a non-finite double.
fn special(value: f64) -> Option<&'static str> {
    if value.is_nan() {
        Some("NaN")
    } else if value == f64::INFINITY {
        Some("Infinity")
    } else if value == f64::NEG_INFINITY {
        Some("-Infinity")
    } else {
        None
    }
}

/// A value whose doubles are written as the mapping writes them.
struct Doubles<'a, T: ?Sized>(&'a T);

impl<T: Serialize + ?Sized> Serialize for Doubles<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(Adaptor(serializer))
    }
}

/// Hands every call on to `S`, wrapping nested values in [`Doubles`].
struct Adaptor<S>(S);

/// Forwards the scalar methods unchanged.
macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $method(self, $($arg: $ty),*) -> Result<S::Ok, S::Error> {
            self.0.$method($($arg),*)
        })*
    };
}

impl<S: Serializer> Serializer for Adaptor<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Adaptor<S::SerializeSeq>;
    type SerializeTuple = Adaptor<S::SerializeTuple>;
    type SerializeTupleStruct = Adaptor<S::SerializeTupleStruct>;
    type SerializeTupleVariant = Adaptor<S::SerializeTupleVariant>;
    type SerializeMap = Adaptor<S::SerializeMap>;
    type SerializeStruct = Adaptor<S::SerializeStruct>;
    type SerializeStructVariant = Adaptor<S::SerializeStructVariant>;

    forward! {
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_i128(v: i128);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_u128(v: u128);
        serialize_char(v: char);
        serialize_str(v: &str);
        serialize_bytes(v: &[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }

    fn serialize_f32(self, v: f32) -> Result<S::Ok, S::Error> {
        match special(f64::from(v)) {
            Some(text) => self.0.serialize_str(text),
            None => self.0.serialize_f32(v),
        }
    }

    fn serialize_f64(self, v: f64) -> Result<S::Ok, S::Error> {
        match special(v) {
            Some(text) => self.0.serialize_str(text),
            None => self.0.serialize_f64(v),
        }
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.0.serialize_some(&Doubles(value))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_newtype_struct(name, &Doubles(value))
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0
            .serialize_newtype_variant(name, index, variant, &Doubles(value))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        self.0.serialize_seq(len).map(Adaptor)
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.0.serialize_tuple(len).map(Adaptor)
    }

    fn serialize_tuple_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.0.serialize_tuple_struct(name, len).map(Adaptor)
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        self.0
            .serialize_tuple_variant(name, index, variant, len)
            .map(Adaptor)
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.0.serialize_map(len).map(Adaptor)
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        self.0.serialize_struct(name, len).map(Adaptor)
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.0
            .serialize_struct_variant(name, index, variant, len)
            .map(Adaptor)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

impl<S: ser::SerializeSeq> ser::SerializeSeq for Adaptor<S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        self.0.serialize_element(&Doubles(value))
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

impl<S: ser::SerializeTuple> ser::SerializeTuple for Adaptor<S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        self.0.serialize_element(&Doubles(value))
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

impl<S: ser::SerializeTupleStruct> ser::SerializeTupleStruct for Adaptor<S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        self.0.serialize_field(&Doubles(value))
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

impl<S: ser::SerializeTupleVariant> ser::SerializeTupleVariant for Adaptor<S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        self.0.serialize_field(&Doubles(value))
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

impl<S: ser::SerializeMap> ser::SerializeMap for Adaptor<S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), S::Error> {
        self.0.serialize_key(&Doubles(key))
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), S::Error> {
        self.0.serialize_value(&Doubles(value))
    }

    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), S::Error> {
        self.0.serialize_entry(&Doubles(key), &Doubles(value))
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

impl<S: ser::SerializeStruct> ser::SerializeStruct for Adaptor<S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), S::Error> {
        self.0.serialize_field(key, &Doubles(value))
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
        self.0.skip_field(key)
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

impl<S: ser::SerializeStructVariant> ser::SerializeStructVariant for Adaptor<S> {
    type Ok = S::Ok;
    type Error = S::Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), S::Error> {
        self.0.serialize_field(key, &Doubles(value))
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), S::Error> {
        self.0.skip_field(key)
    }

    fn end(self) -> Result<S::Ok, S::Error> {
        self.0.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, ArrayValue, KeyValue};
    use opentelemetry_proto::tonic::metrics::v1::{
        number_data_point, HistogramDataPoint, NumberDataPoint,
    };
    use serde_json::json;

    fn double(key: &str, value: f64) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::DoubleValue(value)),
            }),
            ..Default::default()
        }
    }

    /// A point with a non-finite double in each kind of place: a `oneof`
    /// (flattened), an attribute's value, a list.
    fn number_point(value: f64) -> NumberDataPoint {
        NumberDataPoint {
            attributes: vec![
                double("nan", f64::NAN),
                KeyValue {
                    key: "list".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::ArrayValue(ArrayValue {
                            values: vec![AnyValue {
                                value: Some(any_value::Value::DoubleValue(f64::NEG_INFINITY)),
                            }],
                        })),
                    }),
                    ..Default::default()
                },
            ],
            value: Some(number_data_point::Value::AsDouble(value)),
            ..Default::default()
        }
    }

    #[test]
    fn non_finite_doubles_become_the_mapping_strings_wherever_they_are() {
        let point = to_value(&number_point(f64::INFINITY)).unwrap();
        assert_eq!(point["asDouble"], "Infinity", "{point}");
        assert_eq!(
            point["attributes"][0]["value"],
            json!({"doubleValue": "NaN"})
        );
        assert_eq!(
            point["attributes"][1]["value"]["arrayValue"]["values"][0],
            json!({"doubleValue": "-Infinity"})
        );

        // Options and repeated fields.
        let histogram = HistogramDataPoint {
            sum: Some(f64::NAN),
            min: Some(f64::NEG_INFINITY),
            max: Some(f64::INFINITY),
            explicit_bounds: vec![f64::NEG_INFINITY, 0.5],
            ..Default::default()
        };
        let histogram = to_value(&histogram).unwrap();
        assert_eq!(histogram["sum"], "NaN", "{histogram}");
        assert_eq!(histogram["min"], "-Infinity", "{histogram}");
        assert_eq!(histogram["max"], "Infinity", "{histogram}");
        assert_eq!(histogram["explicitBounds"], json!(["-Infinity", 0.5]));
    }

    #[test]
    fn everything_else_is_what_serde_json_writes() {
        let histogram = HistogramDataPoint {
            attributes: vec![double("x", -0.0)],
            count: 3,
            sum: Some(1e300),
            bucket_counts: vec![1, 2],
            explicit_bounds: vec![2.5],
            ..Default::default()
        };
        assert_eq!(
            to_value(&histogram).unwrap(),
            serde_json::to_value(&histogram).unwrap()
        );
        let point = number_point(0.25);
        let mut expected = serde_json::to_value(&point).unwrap();
        expected["attributes"][0]["value"]["doubleValue"] = json!("NaN");
        expected["attributes"][1]["value"]["arrayValue"]["values"][0]["doubleValue"] =
            json!("-Infinity");
        assert_eq!(to_value(&point).unwrap(), expected);
    }
}
