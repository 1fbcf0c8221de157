//! The two macros the generated model is written in.

/// Declares an AWS string enum: known variants with their AWS spelling, plus `Unknown(String)`
/// for values newer than this model, which are kept and written back unchanged.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $($variant:ident => $wire:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $(
                #[doc = concat!("`", $wire, "`")]
                $variant,
            )*
            /// A value this version of the model does not know, kept as written.
            Unknown(String),
        }

        impl $name {
            /// Every value this model knows, in the AWS model's order.
            pub const VALUES: &'static [&'static str] = &[$($wire),*];

            /// The AWS spelling of the value.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)*
                    $name::Unknown(other) => other.as_str(),
                }
            }

            /// Whether the value is one this model knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Unknown(_))
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $($wire => $name::$variant,)*
                    other => $name::Unknown(other.to_string()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Ok($name::from(text.as_ref()))
            }
        }

        impl $crate::model::FromJson for $name {
            fn from_json(
                value: &serde_json::Value,
                context: &mut $crate::model::ReadContext,
            ) -> Option<Self> {
                match value {
                    serde_json::Value::String(text) => Some($name::from(text.as_str())),
                    other => {
                        context.mismatch("a string", other);
                        None
                    }
                }
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "description": concat!(
                        "The AWS `", stringify!($name), "` enum. Values newer than this model are ",
                        "accepted and kept as written."
                    ),
                    "anyOf": [
                        {"type": "string", "enum": [$($wire),*]},
                        {"type": "string"}
                    ]
                })
            }
        }
    };
}

/// Declares an AWS structure: every member optional, plus `extra` for members this model does
/// not know (kept in input order and written back), with its [`FromJson`](super::FromJson)
/// reader and a serde `Deserialize` built on it.
macro_rules! shape {
    (
        $(#[$meta:meta])*
        $name:ident {
            $(
                #[doc = $doc:literal]
                $field:ident : $wire:literal => $ty:ty,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, serde::Serialize, schemars::JsonSchema)]
        pub struct $name {
            $(
                #[doc = $doc]
                #[serde(rename = $wire, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
            /// Members this version of the model does not know, and known members whose JSON
            /// type was wrong, kept as written and in input order.
            #[serde(flatten)]
            #[schemars(skip)]
            pub extra: $crate::model::Extra,
        }

        impl $crate::model::FromJson for $name {
            fn from_json(
                value: &serde_json::Value,
                context: &mut $crate::model::ReadContext,
            ) -> Option<Self> {
                let serde_json::Value::Object(map) = value else {
                    context.mismatch("an object", value);
                    return None;
                };
                #[allow(unused_mut)]
                let mut out = $name::default();
                for (key, member) in map {
                    match key.as_str() {
                        $(
                            $wire if !member.is_null() => {
                                context.enter(key);
                                let parsed = <$ty as $crate::model::FromJson>::from_json(member, context);
                                context.leave();
                                match parsed {
                                    Some(parsed) => out.$field = Some(parsed),
                                    None => {
                                        out.extra.insert(key.clone(), member.clone());
                                    }
                                }
                            }
                        )*
                        _ => {
                            out.extra.insert(key.clone(), member.clone());
                        }
                    }
                }
                Some(out)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = serde_json::Value::deserialize(deserializer)?;
                <$name as $crate::model::FromJson>::from_value(&value)
                    .map_err(serde::de::Error::custom)
            }
        }
    };
}
