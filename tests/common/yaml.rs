//! Reading the repository's YAML recipes (deploy/, ci/) in tests.

use std::path::Path;

use yaml_rust2::Yaml;

/// Every document of the YAML file at `path` (relative to the crate).
pub fn yaml_docs(path: &str) -> Vec<Yaml> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
    yaml_rust2::YamlLoader::load_from_str(&text).unwrap()
}

/// A list of strings (numbers written as they are).
pub fn strs(y: &Yaml) -> Vec<String> {
    y.as_vec()
        .unwrap()
        .iter()
        .map(|x| match x {
            Yaml::Integer(i) => i.to_string(),
            other => other.as_str().unwrap().to_string(),
        })
        .collect()
}

/// The documents of a kind (`Deployment`, `Secret`, …).
pub fn of_kind<'a>(docs: &'a [Yaml], kind: &str) -> Vec<&'a Yaml> {
    docs.iter()
        .filter(|d| d["kind"].as_str() == Some(kind))
        .collect()
}
