"""Hostile HTTP against stowplan-server over raw sockets (issue 11, acceptance: "an error
response or a closed connection, and the server keeps serving").

run.sh starts the server with `--read-timeout 2`: a whole request must arrive within 2 s of its
first byte. After every attack the test checks that a well-formed request is still answered.
"""

import json
import os
import socket
import time
import urllib.parse

import pytest

from conftest import ENDPOINT

URL = urllib.parse.urlparse(ENDPOINT)
ADDRESS = (URL.hostname, URL.port)
READ_TIMEOUT = float(os.environ.get("STOWPLAN_READ_TIMEOUT", "2"))
LIST = "AmazonEC2ContainerServiceV20141113.ListClusters"


def request_bytes(target=LIST, body=b"{}", extra=b""):
    return (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n"
        + b"X-Amz-Target: " + target.encode() + b"\r\n"
        + extra
        + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        + body
    )


def connect():
    sock = socket.create_connection(ADDRESS, timeout=READ_TIMEOUT + 8)
    return sock


class Reader:
    """Reads whole responses off one socket, keeping bytes that belong to the next one."""

    def __init__(self, sock):
        self.sock = sock
        self.pending = b""

    def answer(self):
        """The next whole response, or what arrived before the server closed (b"" if nothing)."""
        while True:
            head_end = self.pending.find(b"\r\n\r\n")
            if head_end >= 0:
                length = 0
                for line in self.pending[:head_end].split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                end = head_end + 4 + length
                if len(self.pending) >= end:
                    answer, self.pending = self.pending[:end], self.pending[end:]
                    return answer
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                answer, self.pending = self.pending, b""
                return answer
            self.pending += chunk


def read_answer(sock):
    return Reader(sock).answer()


def send_and_read(payload):
    with connect() as sock:
        try:
            sock.sendall(payload)
        except (ConnectionResetError, BrokenPipeError):
            pass
        return read_answer(sock)


def status_of(answer):
    if not answer:
        return None
    return int(answer.split(b" ", 2)[1])


def json_body(answer):
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


def assert_still_serving():
    answer = send_and_read(request_bytes())
    assert status_of(answer) == 200, answer[:200]
    assert "clusterArns" in json_body(answer)


@pytest.fixture(autouse=True)
def still_serving_afterwards():
    yield
    assert_still_serving()


def test_keep_alive_serves_several_requests_on_one_connection():
    with connect() as sock:
        reader = Reader(sock)
        for _ in range(3):
            sock.sendall(request_bytes())
            answer = reader.answer()
            assert status_of(answer) == 200
            assert b"Connection: keep-alive" in answer
        # Two pipelined requests in one write are answered in order.
        sock.sendall(request_bytes() + request_bytes(target="Stowplan.Advance", body=b'{"seconds":1}'))
        assert "clusterArns" in json_body(reader.answer())
        assert "now" in json_body(reader.answer())


def test_http_1_0_closes_after_the_answer():
    payload = request_bytes().replace(b"HTTP/1.1", b"HTTP/1.0", 1)
    with connect() as sock:
        sock.sendall(payload)
        answer = read_answer(sock)
        assert status_of(answer) == 200 and b"Connection: close" in answer
        assert sock.recv(10) == b""


def test_garbage_bytes_get_400_or_a_close():
    answer = send_and_read(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
    assert status_of(answer) in (None, 400)
    if answer:
        assert json_body(answer)["__type"]


def test_binary_noise_without_a_blank_line_is_cut_off():
    answer = send_and_read(bytes(range(256)) * 400)  # 100 KiB, no head end
    assert status_of(answer) in (None, 400, 431)


def test_a_truncated_body_times_out_with_408_or_a_close():
    start = time.monotonic()
    answer = send_and_read(
        b"POST / HTTP/1.1\r\nX-Amz-Target: " + LIST.encode() + b"\r\nContent-Length: 100\r\n\r\n{\"a"
    )
    assert status_of(answer) in (None, 408)
    assert time.monotonic() - start < READ_TIMEOUT + 5


def test_a_truncated_body_then_hang_up():
    with connect() as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"a")
    # The server sees the close and moves on (checked by the fixture).


def test_slowloris_dribbling_headers_is_cut_off_by_the_request_deadline():
    start = time.monotonic()
    with connect() as sock:
        sock.sendall(b"POST / HTTP/1.1\r\n")
        cut = False
        for i in range(int(READ_TIMEOUT * 4) + 8):
            try:
                sock.sendall(f"X-Slow-{i}: a\r\n".encode())
            except (BrokenPipeError, ConnectionResetError):
                cut = True
                break
            time.sleep(0.5)
            sock.setblocking(False)
            try:
                data = sock.recv(65536)
                cut = True  # an answer (408) or a close (b"")
                if data:
                    assert status_of(data) == 408
                break
            except BlockingIOError:
                pass
            except ConnectionResetError:
                cut = True
                break
            finally:
                sock.setblocking(True)
        assert cut, "the server never cut off a request that dribbled for too long"
    assert time.monotonic() - start < READ_TIMEOUT + 4


def test_a_silent_connection_does_not_block_others():
    with connect():
        assert_still_serving()


def test_huge_headers_get_431_or_a_close():
    answer = send_and_read(request_bytes(extra=b"X-Big: " + b"a" * 200_000 + b"\r\n"))
    assert status_of(answer) in (None, 431)


def test_too_many_headers_get_431():
    extra = b"".join(b"X-H%d: v\r\n" % i for i in range(300))
    answer = send_and_read(request_bytes(extra=extra))
    assert status_of(answer) == 431
    assert json_body(answer)["__type"] == "RequestHeaderFieldsTooLargeException"


def test_a_body_over_the_limit_is_refused_without_being_read():
    head = b"POST / HTTP/1.1\r\nX-Amz-Target: " + LIST.encode() + b"\r\nContent-Length: 16777217\r\n\r\n"
    answer = send_and_read(head + b"{" * 1000)
    assert status_of(answer) in (None, 413)


def test_chunked_bodies_are_answered_411():
    payload = (
        b"POST / HTTP/1.1\r\nX-Amz-Target: " + LIST.encode()
        + b"\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    )
    answer = send_and_read(payload)
    assert status_of(answer) == 411
    assert json_body(answer)["__type"] == "LengthRequiredException"


def test_invalid_utf8_in_the_body_is_a_serialization_error():
    answer = send_and_read(request_bytes(body=b'{"clusterName": "\xff\xfe"}'))
    assert status_of(answer) == 400
    assert json_body(answer)["__type"] == "SerializationException"


def test_invalid_utf8_in_the_target_header_is_an_unknown_operation():
    payload = request_bytes().replace(b"ListClusters", b"List\xffClusters")
    answer = send_and_read(payload)
    assert status_of(answer) in (None, 400)


def test_a_body_that_is_not_an_object_or_too_deep():
    answer = send_and_read(request_bytes(body=b"[1, 2, 3]"))
    assert json_body(answer)["__type"] == "SerializationException"
    answer = send_and_read(request_bytes(body=b"[" * 5000 + b"]" * 5000))
    assert json_body(answer)["__type"] == "SerializationException"


def test_conflicting_content_lengths_are_refused():
    payload = request_bytes(extra=b"Content-Length: 7\r\n")
    assert status_of(send_and_read(payload)) == 400


def test_other_methods_and_paths():
    answer = send_and_read(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(answer) == 405
    answer = send_and_read(request_bytes().replace(b"POST / ", b"POST /admin ", 1))
    assert status_of(answer) == 404


def test_many_idle_connections_then_a_real_request():
    sockets = [connect() for _ in range(20)]
    try:
        assert_still_serving()
    finally:
        for sock in sockets:
            sock.close()


def test_expect_100_continue_is_honoured():
    body = b'{"clusterName": "later"}'
    head = request_bytes(
        target="AmazonEC2ContainerServiceV20141113.CreateCluster", body=body,
        extra=b"Expect: 100-continue\r\n",
    )[: -len(body)]
    with connect() as sock:
        sock.sendall(head)
        reader = Reader(sock)
        interim = sock.recv(100)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        reader.pending = interim[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        sock.sendall(body)
        answer = reader.answer()
        assert status_of(answer) == 200
        assert json_body(answer)["cluster"]["clusterName"] == "later"


def test_connections_over_the_cap_get_503_and_the_cap_frees_up():
    cap = int(os.environ.get("STOWPLAN_MAX_CONNECTIONS", "32"))
    sockets = [connect() for _ in range(cap)]
    try:
        time.sleep(0.2)  # let the server accept them all
        answer = send_and_read(request_bytes())
        assert status_of(answer) == 503
        assert json_body(answer)["__type"] == "ServiceUnavailableException"
    finally:
        for sock in sockets:
            sock.close()
    # The slots come back as the server notices the closes.
    for _ in range(50):
        if status_of(send_and_read(request_bytes())) == 200:
            break
        time.sleep(0.1)
