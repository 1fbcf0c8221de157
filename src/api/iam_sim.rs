//! The IAM harness actions (`Sim.CreateUser`, `Sim.CreateRole`, ..., `Sim.SetCaller`,
//! `Sim.SimulatePrincipalPolicy`, `Sim.SimulateCustomPolicy`): IAM's request and response
//! members (PascalCase, as the IAM API and boto3 name them), IAM's error codes. Policy
//! documents are JSON strings as IAM takes them (a JSON object is accepted too); dates are
//! epoch seconds of the logical clock, as every timestamp the runner prints. Errors carry IAM's
//! exception shape names (`NoSuchEntityException`, `EntityAlreadyExistsException`,
//! `MalformedPolicyDocumentException`, `LimitExceededException`, `InvalidInputException`),
//! like every error of the API layer; IAM's error code is the name without `Exception`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::ApiError;
use crate::control::Ecs;
use crate::control::iam::{
    ContextEntry, Entity, EntityKind, IamError, IamTag, ManagedPolicy, NewEntity, Simulation,
};

/// The harness actions this module answers.
pub(super) const ACTIONS: &[&str] = &[
    "CreateUser",
    "CreateRole",
    "CreatePolicy",
    "PutUserPolicy",
    "PutRolePolicy",
    "AttachUserPolicy",
    "AttachRolePolicy",
    "TagUser",
    "TagRole",
    "CreateAccessKey",
    "SetCaller",
    "SimulatePrincipalPolicy",
    "SimulateCustomPolicy",
];

impl From<IamError> for ApiError {
    fn from(err: IamError) -> Self {
        ApiError::new(&err.exception_name(), err.to_string())
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new("InvalidInputException", message)
}

fn required<'a>(request: &'a Value, member: &str) -> Result<&'a str, ApiError> {
    request
        .get(member)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid(format!("{member} is required and must be a string.")))
}

fn optional<'a>(request: &'a Value, member: &str) -> Option<&'a str> {
    request.get(member).and_then(Value::as_str)
}

/// A policy document member: a JSON string (IAM's form) or an object (serialised as given).
fn document(request: &Value, member: &str) -> Result<String, ApiError> {
    match request.get(member) {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(object @ Value::Object(_)) => Ok(object.to_string()),
        _ => Err(invalid(format!(
            "{member} is required: a policy document as a JSON string."
        ))),
    }
}

fn strings(request: &Value, member: &str) -> Result<Vec<String>, ApiError> {
    match request.get(member) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                Value::Object(_) => Ok(item.to_string()),
                _ => Err(invalid(format!("{member} must be a list of strings."))),
            })
            .collect(),
        Some(_) => Err(invalid(format!("{member} must be a list of strings."))),
    }
}

fn tags(request: &Value) -> Result<Vec<IamTag>, ApiError> {
    match request.get("Tags") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|tag| {
                Ok(IamTag {
                    key: required(tag, "Key")?.to_string(),
                    value: optional(tag, "Value").unwrap_or_default().to_string(),
                })
            })
            .collect(),
        Some(_) => Err(invalid("Tags must be a list of {Key, Value}.")),
    }
}

fn tags_json(tags: &[IamTag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| json!({"Key": t.key, "Value": t.value}))
            .collect(),
    )
}

/// `{"User": ...}` / `{"Role": ...}` as IAM returns it.
pub(super) fn entity_json(entity: &Entity) -> Value {
    let mut out = Map::new();
    out.insert("Path".into(), json!(entity.path));
    let (name, id) = match entity.kind {
        EntityKind::User => ("UserName", "UserId"),
        EntityKind::Role => ("RoleName", "RoleId"),
    };
    out.insert(name.into(), json!(entity.name));
    out.insert(id.into(), json!(entity.id));
    out.insert("Arn".into(), json!(entity.arn));
    out.insert("CreateDate".into(), json!(entity.create_date));
    if let Some(trust) = &entity.trust {
        out.insert(
            "AssumeRolePolicyDocument".into(),
            serde_json::from_str(trust).unwrap_or_else(|_| json!(trust)),
        );
        out.insert("MaxSessionDuration".into(), json!(3600));
    }
    if let Some(description) = &entity.description {
        out.insert("Description".into(), json!(description));
    }
    if let Some(boundary) = &entity.boundary {
        out.insert(
            "PermissionsBoundary".into(),
            json!({"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}),
        );
    }
    if !entity.tags.is_empty() {
        out.insert("Tags".into(), tags_json(&entity.tags));
    }
    Value::Object(out)
}

fn policy_json(policy: &ManagedPolicy, attachments: usize) -> Value {
    let mut out = json!({
        "PolicyName": policy.name,
        "PolicyId": policy.id,
        "Arn": policy.arn,
        "Path": policy.path,
        "DefaultVersionId": "v1",
        "AttachmentCount": attachments,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": true,
        "CreateDate": policy.create_date,
        "UpdateDate": policy.create_date,
    });
    if let Some(description) = &policy.description {
        out["Description"] = json!(description);
    }
    out
}

fn context_entries(request: &Value) -> Result<Vec<ContextEntry>, ApiError> {
    let Some(items) = request.get("ContextEntries") else {
        return Ok(Vec::new());
    };
    let items = items
        .as_array()
        .ok_or_else(|| invalid("ContextEntries must be a list."))?;
    items
        .iter()
        .map(|item| {
            let values = match item.get("ContextKeyValues") {
                Some(Value::Array(values)) => values
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect(),
                Some(Value::String(s)) => vec![s.clone()],
                _ => Vec::new(),
            };
            Ok(ContextEntry {
                name: required(item, "ContextKeyName")?.to_string(),
                values,
                key_type: optional(item, "ContextKeyType")
                    .unwrap_or("string")
                    .to_string(),
            })
        })
        .collect()
}

fn simulate(ecs: &Ecs, request: &Value, principal: bool) -> Result<Value, ApiError> {
    let simulation = Simulation {
        policy_source_arn: if principal {
            Some(required(request, "PolicySourceArn")?.to_string())
        } else {
            None
        },
        policy_input_list: strings(request, "PolicyInputList")?,
        boundary_input_list: strings(request, "PermissionsBoundaryPolicyInputList")?,
        action_names: strings(request, "ActionNames")?,
        resource_arns: strings(request, "ResourceArns")?,
        context_entries: context_entries(request)?,
        caller_arn: optional(request, "CallerArn").map(str::to_string),
    };
    let results = ecs.simulate(&simulation)?;
    let results: Vec<Value> = results
        .into_iter()
        .map(|r| {
            let mut out = json!({
                "EvalActionName": r.action,
                "EvalResourceName": r.resource,
                "EvalDecision": r.decision.as_str(),
                "MatchedStatements": r.matched.iter().map(|(id, kind)| json!({
                    "SourcePolicyId": id,
                    "SourcePolicyType": kind,
                })).collect::<Vec<_>>(),
                "MissingContextValues": r.missing_context,
            });
            if let Some(allowed) = r.allowed_by_boundary {
                out["PermissionsBoundaryDecisionDetail"] =
                    json!({"AllowedByPermissionsBoundary": allowed});
            }
            out
        })
        .collect();
    Ok(json!({"EvaluationResults": results, "IsTruncated": false}))
}

fn kind_of(action: &str) -> (EntityKind, &'static str) {
    if action.contains("User") {
        (EntityKind::User, "UserName")
    } else {
        (EntityKind::Role, "RoleName")
    }
}

/// Runs one IAM harness action (the name after `Sim.`).
pub(super) fn call(ecs: &mut Ecs, action: &str, request: &Value) -> Result<Value, ApiError> {
    match action {
        "CreateUser" | "CreateRole" => {
            let (kind, name_member) = kind_of(action);
            let trust = if kind == EntityKind::Role {
                Some(document(request, "AssumeRolePolicyDocument")?)
            } else {
                None
            };
            let entity = ecs.create_iam_entity(
                kind,
                required(request, name_member)?,
                NewEntity {
                    path: optional(request, "Path").map(str::to_string),
                    trust,
                    boundary: optional(request, "PermissionsBoundary").map(str::to_string),
                    tags: tags(request)?,
                    description: optional(request, "Description").map(str::to_string),
                },
            )?;
            let member = if kind == EntityKind::User {
                "User"
            } else {
                "Role"
            };
            Ok(json!({ member: entity_json(&entity) }))
        }
        "CreatePolicy" => {
            let policy = ecs.create_managed_policy(
                required(request, "PolicyName")?,
                optional(request, "Path"),
                &document(request, "PolicyDocument")?,
                optional(request, "Description"),
            )?;
            Ok(json!({"Policy": policy_json(&policy, 0)}))
        }
        "PutUserPolicy" | "PutRolePolicy" => {
            let (kind, name_member) = kind_of(action);
            ecs.put_inline_policy(
                kind,
                required(request, name_member)?,
                required(request, "PolicyName")?,
                &document(request, "PolicyDocument")?,
            )?;
            Ok(json!({}))
        }
        "AttachUserPolicy" | "AttachRolePolicy" => {
            let (kind, name_member) = kind_of(action);
            ecs.attach_managed_policy(
                kind,
                required(request, name_member)?,
                required(request, "PolicyArn")?,
            )?;
            Ok(json!({}))
        }
        "TagUser" | "TagRole" => {
            let (kind, name_member) = kind_of(action);
            ecs.tag_iam_entity(kind, required(request, name_member)?, &tags(request)?)?;
            Ok(json!({}))
        }
        "CreateAccessKey" => {
            let (id, key) = ecs.create_access_key(required(request, "UserName")?)?;
            Ok(json!({"AccessKey": {
                "UserName": key.user_name,
                "AccessKeyId": id,
                "Status": "Active",
                "SecretAccessKey": key.secret,
                "CreateDate": key.create_date,
            }}))
        }
        "SetCaller" => {
            let context: BTreeMap<String, Value> = match request.get("context") {
                None | Some(Value::Null) => BTreeMap::new(),
                Some(Value::Object(members)) => members
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                Some(_) => return Err(invalid("context must be an object of condition keys.")),
            };
            let caller = ecs.set_harness_caller(
                optional(request, "principalArn"),
                optional(request, "sessionName"),
                context,
            )?;
            Ok(json!({"principalArn": caller.principal_arn}))
        }
        "SimulatePrincipalPolicy" => simulate(ecs, request, true),
        "SimulateCustomPolicy" => simulate(ecs, request, false),
        other => Err(ApiError::new(
            "ScenarioError",
            format!("unknown harness action Sim.{other}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::EcsConfig;

    #[test]
    fn create_role_answers_with_iam_members() {
        let mut ecs = Ecs::new(EcsConfig::default());
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let out = call(
            &mut ecs,
            "CreateRole",
            &json!({"RoleName": "exec", "AssumeRolePolicyDocument": trust}),
        )
        .expect("created");
        assert_eq!(out["Role"]["Arn"], "arn:aws:iam::123456789012:role/exec");
        assert!(out["Role"]["RoleId"].as_str().unwrap().starts_with("AROA"));
        let again = call(
            &mut ecs,
            "CreateRole",
            &json!({"RoleName": "EXEC", "AssumeRolePolicyDocument": trust}),
        )
        .unwrap_err();
        assert_eq!(again.error_type, "EntityAlreadyExistsException");
    }
}
