"""The gRPC health check (grpc.health.v1.Health/Check) over cleartext HTTP/2, as kubelet's grpc probe.

No pure-Python gRPC client is small and well kept (grpcio is a 10 MB C extension), so this is the one
unary call done by hand with the `h2` library: HTTP/2 framing from h2, the 5-byte gRPC message prefix
and the two one-field protobuf messages encoded here.  Serving means `status == SERVING (1)` with
`grpc-status: 0`, exactly as kubelet decides.
"""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["check", "decode_status", "encode_request", "SERVING"]

SERVING = 1
_PATH = "/grpc.health.v1.Health/Check"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def encode_request(service: str) -> bytes:
    """HealthCheckRequest{service = 1} inside a gRPC length-prefixed message."""
    raw = service.encode()
    body = (b"\x0a" + _varint(len(raw)) + raw) if raw else b""
    return b"\x00" + len(body).to_bytes(4, "big") + body


def decode_status(payload: bytes) -> int:
    """The `status` (field 1, varint) of a HealthCheckResponse in a gRPC message; 0 (UNKNOWN) if absent."""
    if len(payload) < 5:
        raise ValueError(f"gRPC message of {len(payload)} bytes is too short")
    body, status, i = payload[5:5 + int.from_bytes(payload[1:5], "big")], 0, 0
    while i < len(body):
        key, i = body[i], i + 1
        value, shift = 0, 0
        while True:
            if i >= len(body):
                raise ValueError("truncated protobuf varint")
            b, i = body[i], i + 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if key == 0x08:
            status = value
        elif key & 0x07 != 0:
            raise ValueError(f"unexpected protobuf field key {key:#x}")
    return status


async def check(host: str, port: int, service: str = "") -> tuple[bool, str]:
    """One Check call; (serving?, why).  The caller bounds it with the probe's timeout."""
    import h2.config
    import h2.connection
    import h2.events

    reader, writer = await asyncio.open_connection(host, port)
    try:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        conn.initiate_connection()
        sid = conn.get_next_available_stream_id()
        conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":path", _PATH),
                                (":authority", f"{host}:{port}"), ("content-type", "application/grpc"),
                                ("te", "trailers"), ("user-agent", "doll-probe")])
        conn.send_data(sid, encode_request(service), end_stream=True)
        writer.write(conn.data_to_send())
        body, grpc_status, message = b"", None, ""
        while True:
            data = await reader.read(65536)
            if not data:
                return False, "connection closed before the response ended"
            for event in conn.receive_data(data):
                if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                    fields = {str(k): str(v) for k, v in event.headers}
                    if ":status" in fields and fields[":status"] != "200":
                        return False, f"HTTP status {fields[':status']}"
                    if "grpc-status" in fields:
                        grpc_status, message = int(fields["grpc-status"]), fields.get("grpc-message", "")
                elif isinstance(event, h2.events.DataReceived) and event.stream_id == sid:
                    body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, sid)
                elif isinstance(event, h2.events.StreamReset):
                    return False, f"stream reset (error code {event.error_code})"
                elif isinstance(event, h2.events.ConnectionTerminated):
                    return False, f"connection terminated (error code {event.error_code})"
                elif isinstance(event, h2.events.StreamEnded) and event.stream_id == sid:
                    if grpc_status != 0:
                        return False, f"grpc-status {grpc_status}: {message}"
                    status = decode_status(body)
                    return status == SERVING, f"health status {status}"
            writer.write(conn.data_to_send())
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
