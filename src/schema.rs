//! JSON Schema for every model type, by AWS shape name.
//!
//! ```
//! let schema = stowplan::schema::schema_for("ContainerDefinition").unwrap();
//! let def = &schema["$defs"]["ContainerDefinition"];
//! assert!(def["properties"]["memoryReservation"].is_object());
//! assert!(stowplan::schema::schema_for("NoSuchShape").is_none());
//! ```

use serde_json::Value;

use crate::model;

/// Every AWS shape name [`schema_for`] knows (structures and string enums), in name order.
pub fn shape_names() -> &'static [&'static str] {
    model::SHAPE_NAMES
}

/// The JSON Schema (draft 2020-12) of one AWS shape: a document whose root refers to
/// `#/$defs/<name>`, with every shape it reaches under `$defs`. `None` for an unknown name.
pub fn schema_for(name: &str) -> Option<Value> {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let root = model::schema_for_shape(name, &mut generator)?;
    let definitions = generator.take_definitions(true);
    let mut document = serde_json::Map::new();
    document.insert(
        "$schema".to_string(),
        Value::from("https://json-schema.org/draft/2020-12/schema"),
    );
    document.insert("title".to_string(), Value::from(name));
    match root.as_value() {
        Value::Object(map) => {
            for (key, value) in map {
                document.insert(key.clone(), value.clone());
            }
        }
        other => {
            document.insert("allOf".to_string(), Value::Array(vec![other.clone()]));
        }
    }
    document.insert("$defs".to_string(), Value::Object(definitions));
    Some(Value::Object(document))
}
