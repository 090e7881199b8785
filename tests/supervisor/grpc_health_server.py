"""A real gRPC server (grpcio) with the standard health service, for the grpc probe tests.

usage: grpc_health_server.py PORT STATUS [DELAY]   STATUS: SERVING | NOT_SERVING; DELAY: seconds before listening
"""

import sys
import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

port, status = int(sys.argv[1]), sys.argv[2]
time.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
servicer = health.HealthServicer()
servicer.set("", getattr(health_pb2.HealthCheckResponse, status))
servicer.set("db", health_pb2.HealthCheckResponse.SERVING)
health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
server.add_insecure_port(f"127.0.0.1:{port}")
server.start()
server.wait_for_termination()
