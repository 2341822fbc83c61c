"""The embedded model's own process: llama.cpp (PyPI `xllamacpp`, prebuilt CPU wheel) serving the
OpenAI chat-completions API on a loopback port. Started and watched by dialogue.llm.supervisor.

    python dialogue/llm/server.py --model X.gguf [--port 0] [--threads 2] [--ctx 4096] [--nice 5]

Standalone on purpose (stdlib + xllamacpp only): it is run by file path, so it needs neither the
app's imports nor its memory. Protocol with the parent:
- once the model is loaded and the port listens, ONE line of JSON goes to stdout:
  {"address": "http://127.0.0.1:PORT", "load_s": 3.9, "pid": 1234};
- it serves until its stdin closes (the parent exited or called stop): then it exits at once, so
  no model process outlives the app;
- a failure to load is one line {"error": "..."} and exit code 2.
llama.cpp logs go to stderr (the supervisor keeps them in a file, for error messages).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="path of a chat GGUF")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = any free port (reported on stdout)")
    ap.add_argument("--threads", type=int, default=2, help="decode threads")
    ap.add_argument("--batch-threads", type=int, default=0, help="prompt threads (0 = --threads)")
    ap.add_argument("--ctx", type=int, default=4096, help="context length in tokens")
    ap.add_argument("--nice", type=int, default=0, help="lower this process's CPU priority by N")
    ap.add_argument("--verbosity", type=int, default=0)
    args = ap.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        # The model API has no authentication: it listens on loopback only.
        print(json.dumps({"error": f"refusing to listen on {args.host}: loopback only"}), flush=True)
        return 2
    if args.nice > 0:
        os.nice(args.nice)  # the avatar's stages (voice, motion, render) must keep real time
    t0 = time.monotonic()
    try:
        import xllamacpp

        p = xllamacpp.CommonParams()
        p.model.path = args.model
        p.n_ctx = args.ctx
        p.n_parallel = 1  # one slot: every turn reuses the same KV cache (the system prompt stays cached)
        p.cache_prompt = True
        p.cpuparams.n_threads = args.threads
        p.cpuparams_batch.n_threads = args.batch_threads or args.threads
        # Threads sleep instead of spinning between graph runs: on 2 shared cores a busy-waiting
        # decoder steals the time the avatar needs (llama.cpp's default poll is 50).
        p.cpuparams.poll = 0
        p.cpuparams_batch.poll = 0
        p.hostnames = [args.host]
        p.port = args.port
        p.verbosity = args.verbosity
        p.ui = False
        p.offline = True  # never reach for a model hub
        server = xllamacpp.Server(p)  # returns once the model is loaded and the port listens
        address = server.listening_address
    except Exception as exc:  # reported to the parent as one line: it names the cause to the user
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        return 2
    print(json.dumps({"address": address, "load_s": round(time.monotonic() - t0, 3), "pid": os.getpid()}),
          flush=True)
    try:
        while sys.stdin.buffer.read(4096):  # returns b"" when the parent closes the pipe or dies
            pass
    except (OSError, KeyboardInterrupt):
        pass
    # Skip llama.cpp's teardown (it joins HTTP threads and can linger): the OS frees everything.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
