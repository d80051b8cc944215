"""A hand-written Python IMDS mock of the kind teams write for tests (ThreadingHTTPServer,
a fixed credentials document), for bench/run's comparison. Usage: python_mock.py PORT."""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DOC = json.dumps({
    "Code": "Success", "LastUpdated": "2026-11-29T12:00:00Z", "Type": "AWS-HMAC",
    "AccessKeyId": "ASIAMOCKPYTHONMOCK00", "SecretAccessKey": "x" * 40, "Token": "t" * 300,
    "Expiration": "2026-11-29T18:00:00Z",
}, indent=2).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(DOC)))
        self.end_headers()
        self.wfile.write(DOC)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("listening", flush=True)
    server.serve_forever()
