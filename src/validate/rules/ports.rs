//! Port mappings and the network-related container settings (catalogue §3.4–§3.5).
//!
//! Port accounting works on [`PortClaim`]s: the ports (or port ranges) a mapping takes on the
//! container, and the static host ports it books on the host or ENI. Overlaps are found with
//! one sorted sweep, so a task with thousands of mappings stays linear-logarithmic.

use std::collections::{BTreeMap, BTreeSet};

use super::container::display_name;
use super::task::{is_name_chars, written};
use crate::model::{ContainerDefinition, NetworkMode, PortMapping, TransportProtocol};
use crate::validate::Context;

/// TD-PORT-RANGE: port ranges per container.
const MAX_PORT_RANGES: usize = 100;
/// TD-PORT-NAME: the longest port-mapping name.
const MAX_PORT_NAME_LEN: usize = 64;
/// TD-PORT-WINDOWS-3150: the container port Windows on Fargate reserves.
const WINDOWS_FARGATE_RESERVED_PORT: u32 = 3150;
/// TD-LINKS-BRIDGE-ONLY: the longest container name or alias in a link.
const MAX_LINK_PART_LEN: usize = 255;

/// A port or port range one mapping takes, for overlap checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PortClaim {
    /// Index of the container in `containerDefinitions`.
    pub container: usize,
    /// Index of the mapping in the container's `portMappings`.
    pub mapping: usize,
    /// `tcp` or `udp` (any other protocol counts as tcp, TD-PORT-PROTOCOL).
    pub protocol: &'static str,
    /// First port of the claim.
    pub first: u32,
    /// Last port of the claim (equal to `first` for a single port).
    pub last: u32,
    /// Whether the claim comes from `containerPortRange`.
    pub range: bool,
}

/// Two claims that share at least one port: `later` comes after `earlier` in the document.
#[derive(Clone, Debug)]
pub(super) struct Overlap<'c> {
    /// The claim that appears first in the document.
    pub earlier: &'c PortClaim,
    /// The claim that appears later in the document (where the finding is reported).
    pub later: &'c PortClaim,
}

impl Overlap<'_> {
    /// The first port both claims take.
    pub fn port(&self) -> u32 {
        self.earlier.first.max(self.later.first)
    }
}

/// The protocol a mapping counts as: `udp` when it says so, else `tcp`.
pub(super) fn protocol_of(mapping: &PortMapping) -> &'static str {
    match mapping.protocol {
        Some(TransportProtocol::Udp) => "udp",
        _ => "tcp",
    }
}

/// Parses a `containerPortRange` ("first-last", 1–65535, first < last).
pub(super) fn parse_port_range(text: &str) -> Option<(u32, u32)> {
    let (first, last) = text.trim().split_once('-')?;
    let parse = |part: &str| {
        let part = part.trim();
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) || part.len() > 5 {
            return None;
        }
        part.parse::<u32>()
            .ok()
            .filter(|port| (1..=65_535).contains(port))
    };
    let (first, last) = (parse(first)?, parse(last)?);
    (first < last).then_some((first, last))
}

/// The container ports each mapping of `container` takes (valid single ports and ranges).
pub(super) fn container_port_claims(
    index: usize,
    container: &ContainerDefinition,
) -> Vec<PortClaim> {
    let mut claims = Vec::new();
    for (mapping_idx, mapping) in container.port_mappings.iter().flatten().enumerate() {
        let protocol = protocol_of(mapping);
        if let Some(port) = mapping.container_port.and_then(valid_port) {
            claims.push(PortClaim {
                container: index,
                mapping: mapping_idx,
                protocol,
                first: port,
                last: port,
                range: false,
            });
        } else if let Some((first, last)) = mapping
            .container_port_range
            .as_deref()
            .and_then(parse_port_range)
        {
            claims.push(PortClaim {
                container: index,
                mapping: mapping_idx,
                protocol,
                first,
                last,
                range: true,
            });
        }
    }
    claims
}

/// Every claim that overlaps an earlier-starting one, as (earlier, later) in document order.
/// When `same_protocol`, only claims of one protocol are compared; otherwise only claims of
/// different protocols.
pub(super) fn overlaps(claims: &[PortClaim], same_protocol: bool) -> Vec<Overlap<'_>> {
    let mut found = Vec::new();
    if same_protocol {
        for protocol in ["tcp", "udp"] {
            let mut group: Vec<&PortClaim> =
                claims.iter().filter(|c| c.protocol == protocol).collect();
            group.sort_by_key(|c| (c.first, c.container, c.mapping));
            let mut reach: Option<&PortClaim> = None;
            for claim in group {
                if let Some(widest) = reach {
                    if widest.last >= claim.first {
                        found.push(in_document_order(widest, claim));
                    }
                    if claim.last > widest.last {
                        reach = Some(claim);
                    }
                } else {
                    reach = Some(claim);
                }
            }
        }
    } else {
        // Merge the tcp claims into disjoint intervals; look each udp claim up in them.
        let mut tcp: Vec<&PortClaim> = claims.iter().filter(|c| c.protocol == "tcp").collect();
        tcp.sort_by_key(|c| (c.first, c.container, c.mapping));
        let mut merged: Vec<(u32, u32, &PortClaim)> = Vec::new();
        for claim in tcp {
            match merged.last_mut() {
                Some((_, last, _)) if claim.first <= *last => *last = (*last).max(claim.last),
                _ => merged.push((claim.first, claim.last, claim)),
            }
        }
        for claim in claims.iter().filter(|c| c.protocol == "udp") {
            let after = merged.partition_point(|(first, _, _)| *first <= claim.last);
            if after == 0 {
                continue;
            }
            let (_, last, owner) = merged[after - 1];
            if last >= claim.first {
                // The owner of the merged interval may not itself reach this port; the report
                // names the udp claim's first port, which the interval covers.
                found.push(in_document_order(owner, claim));
            }
        }
    }
    found
}

fn in_document_order<'c>(a: &'c PortClaim, b: &'c PortClaim) -> Overlap<'c> {
    if (a.container, a.mapping) <= (b.container, b.mapping) {
        Overlap {
            earlier: a,
            later: b,
        }
    } else {
        Overlap {
            earlier: b,
            later: a,
        }
    }
}

fn valid_port(port: i32) -> Option<u32> {
    u32::try_from(port)
        .ok()
        .filter(|port| (1..=65_535).contains(port))
}

/// Runs this area's rules.
pub(super) fn check(context: &mut Context<'_>) {
    let mode = context.network_mode().cloned();
    let mut host_claims = Vec::new();
    let mut names: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (index, container) in context.containers() {
        let idx = index.to_string();
        check_mappings(context, &idx, container, mode.as_ref());
        check_container_port_overlaps(context, index, container);
        host_claims.extend(host_port_claims(index, container, mode.as_ref()));
        for (mapping_idx, mapping) in container.port_mappings.iter().flatten().enumerate() {
            if let Some(name) = mapping.name.as_deref() {
                if let Some((first_container, first_mapping)) = names.get(name) {
                    // Uniqueness is not documented (TD-PORT-NAME): a warning.
                    let message = format!(
                        "Port mapping name '{name}' is also used by containerDefinitions/{first_container}/portMappings/{first_mapping}."
                    );
                    context.warning(
                        "TD-PORT-NAME",
                        &[
                            "containerDefinitions",
                            &idx,
                            "portMappings",
                            &mapping_idx.to_string(),
                            "name",
                        ],
                        message,
                    );
                } else {
                    names.insert(name, (index, mapping_idx));
                }
            }
        }
        check_network_settings(context, &idx, container, mode.as_ref());
    }
    check_duplicate_host_ports(context, &host_claims, mode.as_ref());
}

fn check_mappings(
    context: &mut Context<'_>,
    idx: &str,
    container: &ContainerDefinition,
    mode: Option<&NetworkMode>,
) {
    let Some(mappings) = container.port_mappings.as_deref() else {
        return;
    };
    let name = display_name(idx, container);
    if mode == Some(&NetworkMode::None) && !mappings.is_empty() {
        context.error(
            "TD-PORT-NONE-MODE",
            &["containerDefinitions", idx, "portMappings"],
            format!("Container '{name}' has port mappings, but network mode 'none' allows none."),
        );
    }
    let n_ranges = mappings
        .iter()
        .filter(|mapping| mapping.container_port_range.is_some())
        .count();
    if n_ranges > MAX_PORT_RANGES {
        context.error(
            "TD-PORT-RANGE",
            &["containerDefinitions", idx, "portMappings"],
            format!(
                "Container '{name}' has {n_ranges} port ranges; the limit is {MAX_PORT_RANGES}."
            ),
        );
    }
    let windows_fargate = context.windows() && context.fargate();
    for (mapping_idx, mapping) in mappings.iter().enumerate() {
        let m = mapping_idx.to_string();
        let container_port_tokens = [
            "containerDefinitions",
            idx,
            "portMappings",
            &m,
            "containerPort",
        ];
        let host_port_tokens = ["containerDefinitions", idx, "portMappings", &m, "hostPort"];
        let range_tokens = [
            "containerDefinitions",
            idx,
            "portMappings",
            &m,
            "containerPortRange",
        ];

        // TD-PORT-CONTAINERPORT and TD-PORT-RANGE.
        let range = mapping.container_port_range.as_deref();
        match (mapping.container_port, range) {
            (None, None)
                if !written(context, &container_port_tokens)
                    && !written(context, &range_tokens) =>
            {
                // Message from aws/aws-cli#7288 and aws/aws-cdk#8762.
                context.error(
                    "TD-PORT-CONTAINERPORT",
                    &container_port_tokens,
                    format!("Invalid 'containerPort' setting for container '{name}'."),
                );
            }
            (Some(port), _) if valid_port(port).is_none() => context.error(
                "TD-PORT-CONTAINERPORT",
                &container_port_tokens,
                format!("Invalid 'containerPort' setting for container '{name}'."),
            ),
            (Some(_), Some(_)) => context.warning(
                "TD-PORT-RANGE",
                &range_tokens,
                "A port mapping sets both containerPort and containerPortRange; use one.",
            ),
            _ => {}
        }
        if let Some(range) = range {
            if parse_port_range(range).is_none() {
                context.error(
                    "TD-PORT-RANGE",
                    &range_tokens,
                    format!(
                        "containerPortRange '{range}' is not 'first-last' with ports 1-65535 and first < last."
                    ),
                );
            }
            if matches!(mode, Some(NetworkMode::Host | NetworkMode::None)) {
                let mode_name = mode.map_or("", NetworkMode::as_str);
                context.error(
                    "TD-PORT-RANGE",
                    &range_tokens,
                    format!(
                        "containerPortRange needs network mode bridge or awsvpc; this definition uses '{mode_name}'."
                    ),
                );
            }
            if mapping.host_port.is_some() {
                context.error(
                    "TD-PORT-RANGE",
                    &host_port_tokens,
                    "A port mapping with containerPortRange may not set hostPort; ECS assigns the host ports.",
                );
            }
        }

        // TD-PORT-AWSVPC-MATCH, TD-PORT-HOST-MATCH, TD-PORT-BRIDGE-DYNAMIC.
        if let (Some(host_port), None) = (mapping.host_port, range) {
            let container_port = mapping.container_port;
            // hostPort 0 is read as "omitted" (turnerlabs/terraform-ecs-fargate#11).
            let mismatch = host_port != 0 && Some(host_port) != container_port;
            match mode {
                Some(NetworkMode::Awsvpc) if mismatch => context.error(
                    "TD-PORT-AWSVPC-MATCH",
                    &host_port_tokens,
                    "When networkMode=awsvpc, the host ports and container ports in port mappings must match.",
                ),
                Some(NetworkMode::Host) if mismatch => context.error(
                    "TD-PORT-HOST-MATCH",
                    &host_port_tokens,
                    "When networkMode=host, the host ports and container ports in port mappings must match.",
                ),
                None | Some(NetworkMode::Bridge) if !(0..=65_535).contains(&host_port) => {
                    context.error(
                        "TD-PORT-BRIDGE-DYNAMIC",
                        &host_port_tokens,
                        format!(
                            "hostPort {host_port} is not a port: use 1-65535 for a static host port, or 0 or nothing for a dynamic one."
                        ),
                    );
                }
                _ => {}
            }
        }

        // TD-PORT-PROTOCOL: ECS stores any other value and treats it as tcp.
        if let Some(TransportProtocol::Unknown(protocol)) = &mapping.protocol {
            context.warning(
                "TD-PORT-PROTOCOL",
                &["containerDefinitions", idx, "portMappings", &m, "protocol"],
                format!("Protocol '{protocol}' is not tcp or udp; ECS treats it as tcp."),
            );
        }

        // TD-PORT-NAME.
        if let Some(port_name) = mapping.name.as_deref() {
            let valid = !port_name.is_empty()
                && port_name.len() <= MAX_PORT_NAME_LEN
                && !port_name.starts_with('-')
                && port_name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            if !valid {
                context.error(
                    "TD-PORT-NAME",
                    &["containerDefinitions", idx, "portMappings", &m, "name"],
                    format!(
                        "Port mapping name '{port_name}' must be 1-{MAX_PORT_NAME_LEN} lowercase letters, digits, _ and -, not starting with -."
                    ),
                );
            }
        }

        // TD-PORT-WINDOWS-3150.
        if windows_fargate {
            let takes_3150 = match (mapping.container_port, range.and_then(parse_port_range)) {
                (Some(port), _) => valid_port(port) == Some(WINDOWS_FARGATE_RESERVED_PORT),
                (None, Some((first, last))) => {
                    (first..=last).contains(&WINDOWS_FARGATE_RESERVED_PORT)
                }
                _ => false,
            };
            if takes_3150 {
                let tokens = if mapping.container_port.is_some() {
                    container_port_tokens
                } else {
                    range_tokens
                };
                context.error(
                    "TD-PORT-WINDOWS-3150",
                    &tokens,
                    "Container port 3150 is reserved for Windows containers on Fargate.",
                );
            }
        }
    }
}

/// TD-PORT-DUP-CONTAINERPORT (single ports) and the overlap part of TD-PORT-RANGE, for one
/// protocol; tcp+udp on one port is TD-LINT-TCP-UDP-SAME-PORT (lint.rs).
fn check_container_port_overlaps(
    context: &mut Context<'_>,
    index: usize,
    container: &ContainerDefinition,
) {
    let claims = container_port_claims(index, container);
    if claims.len() < 2 {
        return;
    }
    let name = display_name(&index.to_string(), container);
    for overlap in overlaps(&claims, true) {
        let later = overlap.later;
        let (rule, member) = if later.range || overlap.earlier.range {
            (
                "TD-PORT-RANGE",
                if later.range {
                    "containerPortRange"
                } else {
                    "containerPort"
                },
            )
        } else {
            ("TD-PORT-DUP-CONTAINERPORT", "containerPort")
        };
        let message = if rule == "TD-PORT-RANGE" {
            format!(
                "Port {} of container '{name}' is in more than one port mapping; port ranges may not overlap.",
                overlap.port()
            )
        } else {
            // Message from terraform-aws-modules/terraform-aws-ecs#89.
            format!(
                "Container port {} is used in more than one port mapping for container {name}",
                overlap.port()
            )
        };
        context.error(
            rule,
            &[
                "containerDefinitions",
                &index.to_string(),
                "portMappings",
                &later.mapping.to_string(),
                member,
            ],
            message,
        );
    }
}

/// The static host ports a container books: on awsvpc and host every mapping (the host port
/// is the container port); on bridge only a non-zero `hostPort` (TD-PORT-BRIDGE-DYNAMIC).
fn host_port_claims(
    index: usize,
    container: &ContainerDefinition,
    mode: Option<&NetworkMode>,
) -> Vec<PortClaim> {
    match mode {
        Some(NetworkMode::Awsvpc | NetworkMode::Host) => container_port_claims(index, container),
        None | Some(NetworkMode::Bridge) => container
            .port_mappings
            .iter()
            .flatten()
            .enumerate()
            .filter(|(_, mapping)| mapping.container_port_range.is_none())
            .filter_map(|(mapping_idx, mapping)| {
                let port = valid_port(mapping.host_port?)?;
                Some(PortClaim {
                    container: index,
                    mapping: mapping_idx,
                    protocol: protocol_of(mapping),
                    first: port,
                    last: port,
                    range: false,
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// TD-PORT-DUP-HOSTPORT: one (protocol, static host port) per task.
fn check_duplicate_host_ports(
    context: &mut Context<'_>,
    claims: &[PortClaim],
    mode: Option<&NetworkMode>,
) {
    let static_mode = matches!(mode, Some(NetworkMode::Awsvpc | NetworkMode::Host));
    let mut reported = BTreeSet::new();
    for overlap in overlaps(claims, true) {
        let (earlier, later) = (overlap.earlier, overlap.later);
        // Within one container, the same container port twice is TD-PORT-DUP-CONTAINERPORT.
        if earlier.container == later.container && static_mode {
            continue;
        }
        if !reported.insert((later.container, later.mapping)) {
            continue;
        }
        let member = match context
            .request()
            .container_definitions
            .as_deref()
            .and_then(|containers| containers.get(later.container))
            .and_then(|container| container.port_mappings.as_deref())
            .and_then(|mappings| mappings.get(later.mapping))
        {
            Some(mapping) if mapping.host_port.is_some() => "hostPort",
            Some(mapping) if mapping.container_port_range.is_some() => "containerPortRange",
            _ => "containerPort",
        };
        // Message from aws/amazon-ecs-agent#1220.
        context.error(
            "TD-PORT-DUP-HOSTPORT",
            &[
                "containerDefinitions",
                &later.container.to_string(),
                "portMappings",
                &later.mapping.to_string(),
                member,
            ],
            format!(
                "{} host port '{}' is mapped multiple times in task.",
                later.protocol.to_ascii_uppercase(),
                overlap.port()
            ),
        );
    }
}

fn check_network_settings(
    context: &mut Context<'_>,
    idx: &str,
    container: &ContainerDefinition,
    mode: Option<&NetworkMode>,
) {
    let awsvpc = mode == Some(&NetworkMode::Awsvpc);
    let windows = context.windows();
    let fargate = context.fargate();

    // TD-LINKS-BRIDGE-ONLY.
    if let Some(links) = container.links.as_deref().filter(|links| !links.is_empty()) {
        let path = ["containerDefinitions", idx, "links"];
        if awsvpc {
            // Message from aws-observability/aws-otel-collector#1359.
            context.error(
                "TD-LINKS-BRIDGE-ONLY",
                &path,
                "Links are not supported when networkMode=awsvpc.",
            );
        } else if let Some(other) = mode.filter(|mode| **mode != NetworkMode::Bridge) {
            // Registration enforcement for host/none is not observed: a warning.
            context.warning(
                "TD-LINKS-BRIDGE-ONLY",
                &path,
                format!(
                    "Links are only supported in bridge network mode; this definition uses '{}'.",
                    other.as_str()
                ),
            );
        } else if windows {
            context.warning(
                "TD-LINKS-BRIDGE-ONLY",
                &path,
                "Links are not supported for Windows containers.",
            );
        }
        for (link_idx, link) in links.iter().enumerate() {
            let link_path = ["containerDefinitions", idx, "links", &link_idx.to_string()];
            let (target, alias) = match link.split_once(':') {
                Some((target, alias)) => (target, Some(alias)),
                None => (link.as_str(), None),
            };
            let part_ok = |part: &str| {
                !part.is_empty() && part.len() <= MAX_LINK_PART_LEN && is_name_chars(part)
            };
            if !part_ok(target) || alias.is_some_and(|alias| !part_ok(alias)) {
                context.warning(
                    "TD-LINKS-BRIDGE-ONLY",
                    &link_path,
                    format!(
                        "Link '{link}' is not 'name' or 'name:alias' with up to {MAX_LINK_PART_LEN} letters, digits, _ or - per part."
                    ),
                );
            } else if !context
                .containers()
                .any(|(_, other)| other.name.as_deref() == Some(target))
            {
                context.warning(
                    "TD-LINKS-BRIDGE-ONLY",
                    &link_path,
                    format!("Link '{link}' names no container of this task definition."),
                );
            }
        }
    }

    // TD-HOSTNAME-AWSVPC.
    if awsvpc && container.hostname.is_some() {
        // Message from labd/ecs-deplojo#26.
        context.error(
            "TD-HOSTNAME-AWSVPC",
            &["containerDefinitions", idx, "hostname"],
            "hostname is not supported on container when networkMode=awsvpc.",
        );
    }

    // TD-EXTRAHOSTS-AWSVPC.
    if let Some(entries) = container.extra_hosts.as_deref() {
        let path = ["containerDefinitions", idx, "extraHosts"];
        if awsvpc && !entries.is_empty() {
            context.error(
                "TD-EXTRAHOSTS-AWSVPC",
                &path,
                "extraHosts is not supported when networkMode=awsvpc.",
            );
        } else if windows && !entries.is_empty() {
            context.warning(
                "TD-EXTRAHOSTS-AWSVPC",
                &path,
                "extraHosts is not supported for Windows containers.",
            );
        }
        for (entry_idx, entry) in entries.iter().enumerate() {
            let entry_idx = entry_idx.to_string();
            for (member, value) in [
                ("hostname", entry.hostname.as_deref()),
                ("ipAddress", entry.ip_address.as_deref()),
            ] {
                let member_path = [
                    "containerDefinitions",
                    idx,
                    "extraHosts",
                    &entry_idx,
                    member,
                ];
                if value.is_none_or(str::is_empty)
                    && !(value.is_none() && written(context, &member_path))
                {
                    context.error(
                        "TD-EXTRAHOSTS-AWSVPC",
                        &member_path,
                        format!("Each extraHosts entry needs a '{member}'."),
                    );
                }
            }
        }
    }

    // TD-DNS-AWSVPC: on Fargate these are TD-FARGATE-UNSUPPORTED errors (another rule area).
    let dns_members: [(&str, bool); 3] = [
        (
            "dnsServers",
            container
                .dns_servers
                .as_ref()
                .is_some_and(|list| !list.is_empty()),
        ),
        (
            "dnsSearchDomains",
            container
                .dns_search_domains
                .as_ref()
                .is_some_and(|list| !list.is_empty()),
        ),
        (
            "disableNetworking",
            container.disable_networking == Some(true),
        ),
    ];
    for (member, used) in dns_members {
        if !used || fargate {
            continue;
        }
        let path = ["containerDefinitions", idx, member];
        if awsvpc {
            // Older docs refused these with awsvpc; the current model no longer says so.
            context.warning(
                "TD-DNS-AWSVPC",
                &path,
                format!("{member} was documented as unsupported when networkMode=awsvpc."),
            );
        } else if windows {
            context.warning(
                "TD-DNS-AWSVPC",
                &path,
                format!("{member} is not supported for Windows containers."),
            );
        }
    }
    for (domain_idx, domain) in container.dns_search_domains.iter().flatten().enumerate() {
        let valid = !domain.is_empty()
            && domain.len() <= 254
            && domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && domain
                .bytes()
                .last()
                .is_some_and(|b| b.is_ascii_alphanumeric());
        if !valid {
            context.warning(
                "TD-DNS-AWSVPC",
                &[
                    "containerDefinitions",
                    idx,
                    "dnsSearchDomains",
                    &domain_idx.to_string(),
                ],
                format!(
                    "DNS search domain '{domain}' is not up to 254 letters, digits, - and . ending in a letter or digit."
                ),
            );
        }
    }
}
