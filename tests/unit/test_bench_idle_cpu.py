"""bench/idle_cpu.py: its /proc readings and its printed table."""

from __future__ import annotations

import os

from bench.idle_cpu import cpu_and_wakeups, table


def test_this_process_s_cpu_and_wakeups_grow_as_it_works_and_sleeps():
    import time

    cpu0, woke0 = cpu_and_wakeups(os.getpid())
    end = time.process_time() + 0.05
    while time.process_time() < end:  # 50 ms of CPU
        pass
    for _ in range(5):
        time.sleep(0.001)  # each sleep is a context switch
    cpu1, woke1 = cpu_and_wakeups(os.getpid())
    assert cpu1 - cpu0 >= 0.03
    assert woke1 - woke0 >= 5


def test_the_table_gives_each_state_with_both_pollings_and_the_llm_line():
    usage = lambda app, chrome: {"app": {"cpu_pct": app, "wakeups_s": 10 * app},  # noqa: E731
                                 "chromium": {"cpu_pct": chrome, "wakeups_s": 10 * chrome}}
    res = {"gradio_poll_s": 0.001, "app_poll_s": 0.01,
           "states": {"mic_off": {"gradio_poll": usage(20.0, 17.0), "app_poll": usage(16.0, 17.0),
                                  "llm_decode_ms": [60.0, 62.0]},
                      "mic_on": {"gradio_poll": usage(24.0, 29.0), "app_poll": usage(19.0, 28.0)}},
           "llm": {"threads": 2, "nice": 5, "alone_ms": [50.0, 49.0]}}
    lines = table(res)
    assert len(lines) == 1 + 4 + 1
    assert lines[1].split()[:4] == ["mic_off", "1ms", "20.0", "200"]
    assert lines[2].split()[:4] == ["mic_off", "10ms", "16.0", "160"]
    assert lines[4].split()[:2] == ["mic_on", "10ms"]
    assert "alone 50 / 49; mic off 60 / 62" in lines[-1] and "mic on" not in lines[-1]
