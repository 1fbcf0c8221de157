//! The wire server's request handling without sockets, and a few socket round trips
//! (issue 11: targets, SigV4 scope, per-Region ECS, AWS JSON errors and their statuses,
//! harness targets, moto's reset path, auto-advance, hostile HTTP).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::http::{self, Limits};
use super::*;

const ECS: &str = "AmazonEC2ContainerServiceV20141113.";

fn auth(key: &str, region: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={key}/20240101/{region}/ecs/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=00ff"
    )
}

fn body(response: &Response) -> Value {
    serde_json::from_slice(&response.body).expect("every response body is JSON")
}

fn header<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
    response
        .headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

fn call(server: &mut Server, operation: &str, request: Value) -> Response {
    server.handle(&Request::post(
        &format!("{ECS}{operation}"),
        request.to_string().as_bytes(),
    ))
}

fn error_of(response: &Response) -> (u16, String) {
    let body = body(response);
    assert!(
        body["message"].is_string(),
        "errors carry a message: {body}"
    );
    (
        response.status,
        body["__type"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn targets_name_an_ecs_operation_or_a_harness_action() {
    assert_eq!(
        parse_target("AmazonEC2ContainerServiceV20141113.RunTask"),
        Some(Target::Ecs("RunTask".to_string()))
    );
    assert_eq!(
        parse_target("Stowplan.Advance"),
        Some(Target::Harness("Advance".to_string()))
    );
    for junk in [
        "",
        "RunTask",
        "AmazonEC2ContainerServiceV20141113.",
        "AmazonEC2ContainerServiceV20141113.Run Task",
        "Stowplan.",
        "Stowplan.../etc",
        "DynamoDB_20120810.GetItem",
    ] {
        assert_eq!(parse_target(junk), None, "{junk:?}");
    }
}

#[test]
fn sigv4_credential_scope_is_parsed_not_verified() {
    let credential = parse_authorization(&auth("AKIDUSER", "eu-west-1")).unwrap();
    assert_eq!(credential.access_key_id, "AKIDUSER");
    assert_eq!(credential.region, "eu-west-1");
    assert_eq!(credential.service, "ecs");
    assert_eq!(credential.date, "20240101");
    assert!(parse_authorization("Basic dXNlcjpwYXNz").is_err());
    assert!(parse_authorization("AWS4-HMAC-SHA256 Signature=abc").is_err());
    assert!(
        parse_authorization("AWS4-HMAC-SHA256 Credential=AK/20240101/../ecs/aws4_request").is_err()
    );
    assert!(parse_authorization("AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/ecs").is_err());
    assert!(valid_region("us-gov-west-1") && valid_region("ap-southeast-2"));
    assert!(!valid_region("US-EAST-1") && !valid_region("us-east") && !valid_region(""));
}

#[test]
fn statuses_follow_ecs_common_errors() {
    assert_eq!(status_for("ServerException"), 500);
    assert_eq!(status_for("AccessDeniedException"), 400);
    assert_eq!(status_for("ClusterNotFoundException"), 400);
    assert_eq!(status_for("ServiceUnavailableException"), 503);
}

#[test]
fn an_ecs_request_gets_the_dynamic_api_body_with_aws_headers() {
    let mut server = Server::new(Options::default());
    let created = call(&mut server, "CreateCluster", json!({"clusterName": "prod"}));
    assert_eq!(created.status, 200);
    assert_eq!(
        header(&created, "content-type"),
        Some("application/x-amz-json-1.1")
    );
    assert_eq!(
        header(&created, "x-amzn-requestid"),
        Some("00000000-0000-4000-8000-000000000001")
    );
    let cluster = &body(&created)["cluster"];
    assert_eq!(cluster["clusterName"], "prod");
    assert!(
        cluster["clusterArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:ecs:us-east-1:123456789012:cluster/")
    );
    let listed = call(&mut server, "ListClusters", json!({}));
    assert_eq!(
        header(&listed, "x-amzn-requestid"),
        Some("00000000-0000-4000-8000-000000000002")
    );
    assert_eq!(body(&listed)["clusterArns"].as_array().unwrap().len(), 1);
}

#[test]
fn exceptions_are_aws_json_errors_with_ecs_statuses() {
    let mut server = Server::new(Options::default());
    let missing = call(
        &mut server,
        "RunTask",
        json!({"cluster": "nope", "taskDefinition": "x"}),
    );
    assert_eq!(
        error_of(&missing),
        (400, "ClusterNotFoundException".to_string())
    );
    assert_eq!(
        header(&missing, "x-amzn-errortype"),
        Some("ClusterNotFoundException")
    );
    let invalid = call(&mut server, "ListClusters", json!({"maxResults": "many"}));
    assert_eq!(error_of(&invalid).1, "InvalidParameterException");
    let unknown = server.handle(&Request::post(&format!("{ECS}MakeCoffee"), b"{}"));
    assert_eq!(
        error_of(&unknown),
        (400, "UnknownOperationException".to_string())
    );
    let unsupported = server.handle(&Request::post(&format!("{ECS}CreateTaskSet"), b"{}"));
    assert_eq!(
        error_of(&unsupported),
        (400, "UnsupportedOperation".to_string())
    );
    let junk_target = server.handle(&Request::post("Nope.Nope", b"{}"));
    assert_eq!(error_of(&junk_target).1, "UnknownOperationException");
    let mut no_target = Request::post("x", b"{}");
    no_target.headers.retain(|(name, _)| name != "x-amz-target");
    assert_eq!(
        error_of(&server.handle(&no_target)),
        (400, "UnknownOperationException".to_string())
    );
}

#[test]
fn bodies_that_are_not_json_objects_are_serialization_errors() {
    let mut server = Server::new(Options::default());
    let target = format!("{ECS}ListClusters");
    for bad in [&b"{"[..], b"[]", b"\"text\"", b"{\"a\": \xff}", b"\xc3\x28"] {
        let response = server.handle(&Request::post(&target, bad));
        assert_eq!(
            error_of(&response),
            (400, "SerializationException".to_string()),
            "{bad:?}"
        );
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let response = server.handle(&Request::post(&target, deep.as_bytes()));
    assert_eq!(error_of(&response).1, "SerializationException");
    // An empty body is `{}`.
    assert_eq!(server.handle(&Request::post(&target, b"")).status, 200);
    let mut bad_header = Request::post(&target, b"{}");
    bad_header.headers.push((
        "authorization".to_string(),
        b"AWS4-HMAC-SHA256 \xff".to_vec(),
    ));
    assert_eq!(
        error_of(&server.handle(&bad_header)).1,
        "IncompleteSignatureException"
    );
    let unsigned_junk = Request::post(&target, b"{}").with_header("Authorization", "Bearer x");
    assert_eq!(
        error_of(&server.handle(&unsigned_junk)),
        (400, "IncompleteSignatureException".to_string())
    );
}

#[test]
fn the_credential_scope_region_selects_the_ecs() {
    let mut server = Server::new(Options::default());
    let create = Request::post(
        &format!("{ECS}CreateCluster"),
        br#"{"clusterName": "dublin"}"#,
    )
    .with_header("Authorization", &auth("AKIDANY", "eu-west-1"));
    let created = server.handle(&create);
    assert!(
        body(&created)["cluster"]["clusterArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:ecs:eu-west-1:123456789012:cluster/")
    );
    // The default Region (unsigned requests) does not see it.
    let listed = call(&mut server, "ListClusters", json!({}));
    assert_eq!(body(&listed)["clusterArns"], json!([]));
    assert!(server.ecs("eu-west-1").is_some() && server.ecs("us-east-1").is_some());
    // Regions are bounded.
    for i in 0..MAX_REGIONS {
        let request = Request::post(&format!("{ECS}ListClusters"), b"{}")
            .with_header("Authorization", &auth("K", &format!("xx-test-{i}")));
        server.handle(&request);
    }
    let over = Request::post(&format!("{ECS}ListClusters"), b"{}")
        .with_header("Authorization", &auth("K", "xx-test-999"));
    assert_eq!(error_of(&server.handle(&over)).1, "LimitExceededException");
}

#[test]
fn harness_targets_run_sim_actions_and_moto_reset_clears_everything() {
    let mut server = Server::new(Options::default());
    let advanced = server.handle(&Request::post("Stowplan.Advance", br#"{"seconds": 30}"#));
    assert_eq!(body(&advanced), json!({"now": 1_704_067_230}));
    let snapshot = server.handle(&Request::post("Stowplan.Snapshot", b"{}"));
    assert_eq!(snapshot.status, 200);
    let missing = server.handle(&Request::post("Stowplan.NoSuchAction", b"{}"));
    assert_eq!(
        error_of(&missing),
        (400, "UnknownOperationException".to_string())
    );
    let malformed = server.handle(&Request::post("Stowplan.Advance", b"{}"));
    assert_eq!(error_of(&malformed), (400, "ScenarioError".to_string()));

    call(&mut server, "CreateCluster", json!({"clusterName": "a"}));
    let mut reset = Request::post("", b"");
    reset.path = MOTO_RESET_PATH.to_string();
    let answered = server.handle(&reset);
    assert_eq!(
        (answered.status, body(&answered)),
        (200, json!({"status": "ok"}))
    );
    let listed = call(&mut server, "ListClusters", json!({}));
    assert_eq!(body(&listed)["clusterArns"], json!([]));
    let stowplan_reset = server.handle(&Request::post("Stowplan.Reset", b"{}"));
    assert_eq!(stowplan_reset.status, 200);
}

#[test]
fn other_methods_and_paths_are_refused() {
    let mut server = Server::new(Options::default());
    let mut get = Request::post(&format!("{ECS}ListClusters"), b"");
    get.method = "GET".to_string();
    let response = server.handle(&get);
    assert_eq!(response.status, 405);
    assert_eq!(header(&response, "allow"), Some("POST"));
    let mut elsewhere = Request::post(&format!("{ECS}ListClusters"), b"");
    elsewhere.path = "/admin".to_string();
    assert_eq!(server.handle(&elsewhere).status, 404);
}

#[test]
fn auto_advance_moves_the_clock_before_each_ecs_request_only() {
    let mut server = Server::new(Options {
        auto_advance: Some(30),
        ..Options::default()
    });
    call(&mut server, "ListClusters", json!({}));
    call(&mut server, "ListClusters", json!({}));
    // Neither unknown operations nor harness actions advance it.
    server.handle(&Request::post(&format!("{ECS}MakeCoffee"), b"{}"));
    let now = server.handle(&Request::post("Stowplan.Advance", br#"{"seconds": 1}"#));
    assert_eq!(body(&now)["now"], 1_704_067_200 + 60 + 1);
}

#[test]
fn the_same_requests_give_the_same_bytes() {
    let run = || {
        let mut server = Server::new(Options {
            seed: 9,
            ..Options::default()
        });
        let mut out = Vec::new();
        for (operation, request) in [
            ("CreateCluster", json!({"clusterName": "c"})),
            (
                "RegisterTaskDefinition",
                json!({"family": "web", "containerDefinitions": [{"name": "w", "image": "nginx", "memory": 64}]}),
            ),
            ("ListTaskDefinitions", json!({})),
        ] {
            let response = call(&mut server, operation, request);
            out.push(http::encode_response(&response, true));
        }
        out
    };
    assert_eq!(run(), run());
}

fn start(limits: Limits) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = Arc::new(Mutex::new(Server::new(Options::default())));
    std::thread::spawn(move || http::serve(listener, server, limits));
    address
}

fn exchange(stream: &mut TcpStream, bytes: &[u8]) -> String {
    stream.write_all(bytes).unwrap();
    read_response(stream)
}

/// Reads one response (head + Content-Length body), or what arrived before the close.
fn read_response(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|n| n.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                return text;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return text,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
        }
    }
}

fn post(target: &str, body: &str) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {target}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn a_kept_alive_connection_serves_requests_in_order_including_pipelined_ones() {
    let address = start(Limits::default());
    let mut stream = TcpStream::connect(address).unwrap();
    let first = exchange(
        &mut stream,
        &post(&format!("{ECS}CreateCluster"), r#"{"clusterName":"k"}"#),
    );
    assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{first}");
    assert!(first.contains("Connection: keep-alive"));
    // Two requests in one write: both answered, in order.
    let mut both = post(&format!("{ECS}ListClusters"), "{}");
    both.extend(post(
        &format!("{ECS}DescribeClusters"),
        r#"{"clusters":["k"]}"#,
    ));
    stream.write_all(&both).unwrap();
    // Both answers may arrive in one read: read until the second one is whole.
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut got = String::new();
    let mut chunk = [0u8; 4096];
    while !got.contains("\"clusterName\":\"k\"") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.push_str(&String::from_utf8_lossy(&chunk[..n])),
        }
    }
    let list = got.find("clusterArns").expect("the ListClusters answer");
    let describe = got
        .find("\"clusterName\":\"k\"")
        .expect("the DescribeClusters answer");
    assert!(list < describe, "answered in order: {got}");
    assert_eq!(got.matches("HTTP/1.1 200 OK").count(), 2, "{got}");
}

#[test]
fn hostile_http_gets_an_error_or_a_close_and_the_server_keeps_serving() {
    let address = start(Limits {
        read_timeout: Duration::from_secs(1),
        ..Limits::default()
    });
    let attempt = |bytes: &[u8]| {
        let mut stream = TcpStream::connect(address).unwrap();
        exchange(&mut stream, bytes)
    };
    assert!(attempt(b"\x16\x03\x01\x02\x00garbage\r\n\r\n").starts_with("HTTP/1.1 400 "));
    let huge = format!("POST / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(70_000));
    let answer = attempt(huge.as_bytes());
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431 "),
        "{answer}"
    );
    assert!(
        attempt(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
            .starts_with("HTTP/1.1 411 ")
    );
    // A truncated body, then silence: the deadline answers 408.
    let truncated = attempt(b"POST / HTTP/1.1\r\nContent-Length: 50\r\n\r\n{\"a\"");
    assert!(truncated.starts_with("HTTP/1.1 408 "), "{truncated}");
    // A request head that never ends.
    let slow = attempt(b"POST / HTTP/1.1\r\nX-Amz-Target: ");
    assert!(slow.starts_with("HTTP/1.1 408 "), "{slow}");
    let bad_utf8 = attempt(&post(&format!("{ECS}ListClusters"), "{\"a\":\"\u{0}\"}")[..]);
    assert!(bad_utf8.starts_with("HTTP/1.1 400 "), "{bad_utf8}");
    let fine = attempt(&post(&format!("{ECS}ListClusters"), "{}"));
    assert!(fine.starts_with("HTTP/1.1 200 OK"), "{fine}");
}
