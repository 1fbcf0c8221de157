//! What every rule needs: the request, the raw input, and facts derived once.

use serde_json::Value;

use super::{Diagnostic, Severity};
use crate::json::Pointer;
use crate::model::{
    Compatibility, ContainerDefinition, NetworkMode, OSFamily, RegisterTaskDefinitionRequest,
    parse_task_cpu, parse_task_memory,
};

/// The state a validation pass threads through every rule.
///
/// Rules read the typed request through [`Context::request`] and report with
/// [`Context::error`] / [`Context::warning`], naming the member by its path below the request
/// body (`&["containerDefinitions", "0", "memory"]`); the context prefixes the pointer of the
/// request in the input.
#[derive(Debug)]
pub struct Context<'a> {
    request: &'a RegisterTaskDefinitionRequest,
    raw: &'a Value,
    base: Pointer,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Context<'a> {
    /// A context for `request`, read from `raw`, which sits at `base` in the input document.
    pub fn new(request: &'a RegisterTaskDefinitionRequest, raw: &'a Value, base: Pointer) -> Self {
        Context {
            request,
            raw,
            base,
            diagnostics: Vec::new(),
        }
    }

    /// The request as the model read it.
    pub fn request(&self) -> &'a RegisterTaskDefinitionRequest {
        self.request
    }

    /// The request body as written in the input (to see members the model kept in `extra`).
    pub fn raw(&self) -> &'a Value {
        self.raw
    }

    /// The container definitions with their indexes (empty when absent).
    pub fn containers(&self) -> impl Iterator<Item = (usize, &'a ContainerDefinition)> + use<'a> {
        self.request
            .container_definitions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .enumerate()
    }

    /// Whether `requiresCompatibilities` lists `target` (TD-COMPAT-VALIDATE).
    pub fn requires(&self, target: Compatibility) -> bool {
        self.request
            .requires_compatibilities
            .as_deref()
            .is_some_and(|list| list.contains(&target))
    }

    /// Whether the definition declares FARGATE.
    pub fn fargate(&self) -> bool {
        self.requires(Compatibility::Fargate)
    }

    /// The network mode as written (`None` when absent, which means bridge on Linux EC2 and NAT
    /// on Windows, TD-NETMODE-DEFAULT). `"default"` (Windows NAT, TD-NETMODE-VALUES) reads as
    /// `None` too.
    pub fn network_mode(&self) -> Option<&'a NetworkMode> {
        match self.request.network_mode.as_ref() {
            Some(NetworkMode::Unknown(mode)) if mode == "default" => None,
            other => other,
        }
    }

    /// Whether tasks get Docker's bridge (or Windows NAT) network: mode `bridge` or absent.
    pub fn bridge_like(&self) -> bool {
        matches!(self.network_mode(), None | Some(NetworkMode::Bridge))
    }

    /// Whether the network mode is `awsvpc`.
    pub fn awsvpc(&self) -> bool {
        self.network_mode() == Some(&NetworkMode::Awsvpc)
    }

    /// Whether `runtimePlatform.operatingSystemFamily` names a Windows family.
    pub fn windows(&self) -> bool {
        self.request
            .runtime_platform
            .as_ref()
            .and_then(|platform| platform.operating_system_family.as_ref())
            .is_some_and(|family| {
                !matches!(family, OSFamily::Linux) && family.as_str().starts_with("WINDOWS")
            })
    }

    /// Task-level cpu in CPU units, when given and readable.
    pub fn task_cpu(&self) -> Option<u32> {
        self.request
            .cpu
            .as_deref()
            .and_then(|cpu| parse_task_cpu(cpu).ok())
    }

    /// Task-level memory in MiB, when given and readable.
    pub fn task_memory(&self) -> Option<u32> {
        self.request
            .memory
            .as_deref()
            .and_then(|memory| parse_task_memory(memory).ok())
    }

    /// The input pointer of a member given by its path below the request body.
    pub fn pointer(&self, path: &[&str]) -> Pointer {
        let mut pointer = self.base.clone();
        for token in path {
            pointer.push(token);
        }
        pointer
    }

    /// Reports that ECS would reject the member at `path`.
    pub fn error(&mut self, rule: &'static str, path: &[&str], message: impl Into<String>) {
        self.report(rule, Severity::Error, path, message.into());
    }

    /// Reports that the member at `path` is accepted by ECS but likely a mistake.
    pub fn warning(&mut self, rule: &'static str, path: &[&str], message: impl Into<String>) {
        self.report(rule, Severity::Warning, path, message.into());
    }

    fn report(&mut self, rule: &'static str, severity: Severity, path: &[&str], message: String) {
        let path = self.pointer(path);
        self.diagnostics.push(Diagnostic {
            rule,
            severity,
            path,
            message,
        });
    }

    /// The diagnostics reported so far.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Consumes the context, giving its diagnostics.
    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }
}
