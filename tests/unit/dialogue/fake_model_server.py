"""A stand-in for dialogue/llm/server.py with no model: same command line and stdout protocol,
and a chat-completions endpoint that streams one scripted reply (unit tests of the supervisor),
or answers a request that does not stream (a prefill) with one token and timings (or, asked to
stop at "]", with a tag written ahead).

--model naming a file that contains "fail" makes it report a load error instead."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPLY = ["[happy 0.7] ", "That is ", "lovely news! ", "What happened next?"]
TAG_AHEAD = "[surprised"  # the tag a prefill writes ahead (the server leaves out the stop string)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with open(os.environ["FAKE_SERVER_LOG"], "a", encoding="utf-8") as f:
            f.write(json.dumps(body) + "\n")
        if not body.get("stream"):  # a prime / prefill: one token (its tag, asked to stop at "]"), and timings
            written = TAG_AHEAD if body.get("stop") == ["]"] else "["
            time.sleep(float(os.environ.get("FAKE_PREFILL_S", "0")))  # a model still evaluating it
            answer = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": written}}],
                                 "timings": {"prompt_n": 12, "cache_n": 640}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        started = body["messages"][-1]["role"] == "assistant"  # the reply's start written: go on after it
        for piece in REPLY[1:] if started else REPLY:
            chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
                     "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        end = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": body["model"],
               "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
               "timings": {"prompt_n": 5, "cache_n": 40, "predicted_n": 9, "predicted_per_second": 12.5}}
        self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
        self.wfile.flush()
        self.close_connection = True


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    args, _ = ap.parse_known_args()
    if "fail" in Path(args.model).read_text(encoding="utf-8"):
        print(json.dumps({"error": "RuntimeError: failed to load model"}), flush=True)
        sys.exit(2)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    print(json.dumps({"address": f"http://127.0.0.1:{httpd.server_address[1]}", "load_s": 0.0, "pid": os.getpid()}),
          flush=True)
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
