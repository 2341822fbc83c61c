"""What the open live page costs the machine while nobody speaks, and what that costs the LLM.

    python -m bench.idle_cpu [--seconds 15] [--no-llm]

The web app is served (a scripted LLM answers: nothing is said) and opened in headless Chromium
with a fake microphone playing room noise; the live stream plays. For each state (the microphone
off, then on) the bench measures, over `--seconds`, the CPU share (% of one core) and the
context switches a second (wake-ups) of the app's process and of all Chromium's processes, read
from /proc, once with gradio's own queue polling (every 1 ms when idle) and once with the app's
(`app.ui.server.QUEUE_IDLE_POLL_S`), in the same run. Unless --no-llm, the embedded model (its
configured threads and nice) decodes 40 tokens three times alone and in each state, with the
app's polling: llama.cpp's milliseconds a token, the slowdown the idle page causes.

Writes bench/results/idle_cpu.json with the CPU model and load averages.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.live import decode_timings
from bench.machine import cpu_model
from bench.realtime import process_cpu_s

RESULTS = Path(__file__).resolve().parent / "results" / "idle_cpu.json"
GRADIO_POLL_S = 0.001  # gradio's Queue.sleep_when_free on Linux


def cpu_and_wakeups(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) of process `pid` and the context switches so far of all its
    threads (a process's own status counts its main thread's only)."""
    switches = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            switches += sum(int(line.split()[1]) for line in (task / "status").read_text().splitlines()
                            if "ctxt_switches" in line)
        except (OSError, IndexError, ValueError):  # the thread ended meanwhile
            continue
    return process_cpu_s(pid), switches


def chromium_pids() -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if "chrom" in (proc / "comm").read_text():
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def usage(seconds: float) -> dict[str, dict[str, float]]:
    """{"app" | "chromium": {"cpu_pct", "wakeups_s"}} over the next `seconds`."""
    groups = {"app": lambda: [os.getpid()], "chromium": chromium_pids}

    def snap():
        out = {}
        for name, pids in groups.items():
            totals = [cpu_and_wakeups(p) for p in pids() if Path(f"/proc/{p}").exists()]
            out[name] = (sum(t[0] for t in totals), sum(t[1] for t in totals))
        return out

    a, t0 = snap(), time.monotonic()
    time.sleep(seconds)
    b, dt = snap(), time.monotonic() - t0
    return {k: {"cpu_pct": 100 * (b[k][0] - a[k][0]) / dt, "wakeups_s": (b[k][1] - a[k][1]) / dt} for k in a}


def decode_ms(base_url: str, tries: int = 3, tokens: int = 40) -> list[float]:
    """llama.cpp's decode milliseconds a token, `tries` uncached prompts of `tokens` tokens each."""
    return [1000.0 / decode_timings(base_url, f"Tell me a long story about a dog ({k}, {time.time()}).", tokens,
                                    timeout_s=300)["predicted_per_second"] for k in range(tries)]


def run(seconds: float, with_llm: bool) -> dict:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import soundfile as sf
    from playwright.sync_api import sync_playwright

    from app.personas import get_persona
    from app.services import build_services, warm_up
    from app.settings import Settings
    from app.ui.demo import build_demo
    from app.ui.server import QUEUE_IDLE_POLL_S, configure_queue, launch_options
    from tests.e2e.app_server import free_port
    from tests.e2e.conftest import CHROMIUM_ARGS
    from tests.fakes import FakeLLM

    tmp = Path(tempfile.mkdtemp(prefix="warmchat-bench-idle-"))
    settings = Settings(data_dir=tmp / "data")
    services = build_services(settings, with_media=True)
    services.llm = FakeLLM([("Hello there.", "neutral", 0.5)])
    warm_up(services, get_persona(settings.persona, settings.personas_dir))
    model = None
    res: dict = {"seconds": seconds, "app_poll_s": QUEUE_IDLE_POLL_S, "gradio_poll_s": GRADIO_POLL_S, "states": {}}
    if with_llm:
        from dialogue.llm.embedded import EmbeddedLLM

        s = settings.llm
        model = EmbeddedLLM(s).process()  # the configured model, threads and nice
        started, _ = model.ensure_running()
        decode_ms(started.base_url, tries=1, tokens=8)  # warm
        res["llm"] = {"threads": s.embedded_threads, "nice": s.embedded_nice,
                      "alone_ms": decode_ms(started.base_url)}
    demo = configure_queue(build_demo(services, settings), settings)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_options(settings, demo))
    noise = tmp / "room.wav"  # quiet room noise: the VAD hears no speech
    sf.write(noise, np.random.default_rng(0).normal(0, 30, 16000 * 600).astype(np.int16), 16000)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS + [
                "--autoplay-policy=no-user-gesture-required", "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream", f"--use-file-for-fake-audio-capture={noise}"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function("() => window.warmchatLive && window.warmchatLive.stats.playing", timeout=120_000)
            for state in ("mic_off", "mic_on"):
                if state == "mic_on":
                    page.locator("#live-mic").click()
                    page.wait_for_function("() => window.warmchatLive.stats.micOn", timeout=30_000)
                row = {}
                for poll in (GRADIO_POLL_S, QUEUE_IDLE_POLL_S):
                    demo._queue.sleep_when_free = poll
                    time.sleep(1.0)  # the old poll's wake-ups are over
                    row["gradio_poll" if poll == GRADIO_POLL_S else "app_poll"] = usage(seconds)
                if model is not None:
                    row["llm_decode_ms"] = decode_ms(started.base_url)
                res["states"][state] = row
            browser.close()
    finally:
        demo.close()
        if model is not None:
            model.stop()
    return res


def table(res: dict) -> list[str]:
    """The printed rows of `res` (pure: tested)."""
    lines = [f"{'state':8s} {'queue poll':>10s} {'app CPU %':>10s} {'app wake/s':>11s} {'chromium CPU %':>15s} "
             f"{'chromium wake/s':>16s}"]
    for state, row in res["states"].items():
        for key, poll in (("gradio_poll", res["gradio_poll_s"]), ("app_poll", res["app_poll_s"])):
            u = row[key]
            app, chromium = u["app"], u["chromium"]
            lines.append(f"{state:8s} {1000 * poll:>8.0f}ms {app['cpu_pct']:>10.1f} {app['wakeups_s']:>11.0f} "
                         f"{chromium['cpu_pct']:>15.1f} {chromium['wakeups_s']:>16.0f}")
    if "llm" in res:
        fmt = lambda xs: " / ".join(f"{x:.0f}" for x in xs)  # noqa: E731
        lines.append(f"LLM decode ms a token ({res['llm']['threads']} threads, nice {res['llm']['nice']}): "
                     f"alone {fmt(res['llm']['alone_ms'])}; "
                     + "; ".join(f"{s.replace('_', ' ')} {fmt(r['llm_decode_ms'])}" for s, r in res["states"].items()
                                 if "llm_decode_ms" in r))
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=15.0, help="seconds measured per state and polling")
    p.add_argument("--no-llm", action="store_true", help="skip the embedded model's decode speed")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    meta = {"cpu": cpu_model(), "cores": os.cpu_count(), "load_avg_start": os.getloadavg()}
    res = meta | run(args.seconds, not args.no_llm) | {"load_avg_end": os.getloadavg()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2), encoding="utf-8")
    print(f"{res['cpu']} ({res['cores']} cores), load {res['load_avg_start']} -> {res['load_avg_end']}")  # noqa: T201
    for line in table(res):
        print(line)  # noqa: T201
    print(f"wrote {args.out}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
