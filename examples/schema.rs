//! Prints the JSON Schema of one AWS shape by its AWS name.
//!
//! ```text
//! cargo run -q --example schema -- ContainerDefinition > ContainerDefinition.schema.json
//! cargo run -q --example schema -- --list
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag] if flag == "--list" => {
            for name in stowplan::schema::shape_names() {
                println!("{name}");
            }
            ExitCode::SUCCESS
        }
        [name] => match stowplan::schema::schema_for(name) {
            Some(schema) => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&schema).expect("a Value serialises")
                );
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("schema: no AWS shape named '{name}' (try --list)");
                ExitCode::from(2)
            }
        },
        _ => {
            eprintln!("usage: schema <AwsShapeName> | --list");
            ExitCode::from(2)
        }
    }
}
