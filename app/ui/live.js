// warmchat: the avatar's live stream in the page (served inline by app/ui/live.py).
//
// The server streams one never-ending fragmented MP4 (H.264 + AAC) over a WebSocket; it is fed to
// a MediaSource, so the avatar plays as one continuous video. JSON messages on the same socket say
// when the avatar starts speaking ("state"), when the person barged in ("barge"), and what the
// person said (the transcript so far as "partial"s while they speak, then a "transcript", sent on
// as a message by clicking the hidden #live-send button).
// In hands-free mode the microphone is sent back over the socket as 16 kHz int16 mono.
// Everything measured here is in window.warmchatLive.stats (tests and bench/live.py read it).
(() => {
  if (window.warmchatLive) return;
  const MIME = 'video/mp4; codecs="avc1.42E01F, mp4a.40.2"';
  const MAX_LATENCY_S = 1.2;  // more buffered than this: jump to near the live edge
  const CUT_MARGIN_S = 0.2;  // a barge-in's new stream plays this long after the playhead (app/live.py)
  // ... and the sound comes back this long after that: the audio renderer has read (and decodes)
  // up to its queue's length beyond the cut, which is the old, muted speech (app/live.py)
  const UNMUTE_AFTER_CUT_S = 0.4;
  // More buffered than CATCH_UP_S while the avatar is not speaking: play faster, down to
  // CAUGHT_UP_S. Both lie at or above what the stream keeps buffered while it waits (its lead, 0.45 s,
  // plus the page's own start delay): a threshold inside that range switched the rate hundreds
  // of times a run, and each switch made Chromium's audio renderer stall the picture (waiting
  // events with 0.4 s buffered, 0.5-1.2 s freezes on a 2-core Xeon).
  const CATCH_UP_S = 0.7;
  const CAUGHT_UP_S = 0.45;
  const DRAFT_AFTER_MS = 300;  // a pause in typing this long sends the text so far to be prefilled
  const SENTENCE_END = /[.!?…]["'”’)\]]*$/;  // ... as does a sentence's last key: Send often comes next
  const CATCH_UP_RATE = 1.5;  // (it idles or listens: nothing is heard) so its next words come sooner
  const stats = {
    mode: "starting", state: "idle", connected: false, playing: false, fragments: 0, bytes: 0,
    frames: 0, freezes: 0, frozenMs: 0, longestGapMs: 0, waiting: 0, speaking: false,
    sentAt: null, speechEndAt: null, firstSpeechAt: null, speechStarts: [], speechAt: [], speechEnds: [], gaps: [], bargeAt: null,
    turnsBegun: [], turns: {}, waits: [],  // [turn, page time the server began it]; turn -> {first, end, runs} of its speech
    dataGaps: [], longTasks: [],  // [page ms, ms]: no stream data for over 150 ms; main-thread tasks over 50 ms
    bargeSilencedAt: null, bargeLatencyMs: null, micOn: false, catchUps: 0, cuts: [], partials: [], transcripts: [], heard: [], drafts: 0, draftTexts: [], notice: "", error: "",
  };
  const live = { stats, video: null, ws: null, token: null };
  try {  // the page's own main-thread tasks over 50 ms (they hold back appending and presenting frames)
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (stats.longTasks.length < 500) stats.longTasks.push([e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch (e) { /* no Long Tasks API in this browser */ }
  window.warmchatLive = live;
  let ms = null, sb = null, queue = [], marks = [], silentUntil = null, lastFrameAt = null, cuts = [], cutAt = null, lastDataAt = 0;
  let userMuted = false, micNode = null, micStream = null, micCtx = null, retries = 0, speakingTurn = null;

  const panel = () => document.querySelector("#live-panel");
  const notice = (text) => {
    stats.notice = text;
    const el = document.querySelector("#live-panel .wc-live-notice");
    if (el) { el.textContent = text; el.hidden = !text; }
  };

  function fallback(reason) {
    stats.mode = "clips"; stats.error = reason;
    document.body.classList.remove("wc-live-on");
    notice("Live video is unavailable (" + reason + "): replies play as clips below.");
  }

  // --- the stream ------------------------------------------------------------------------------

  function start(token) {
    stop();
    live.token = token;
    if (!window.MediaSource || !MediaSource.isTypeSupported(MIME)) { fallback("this browser cannot play H.264/AAC live"); return; }
    const stage = document.querySelector("#live-panel .wc-live-stage");
    const video = document.createElement("video");
    video.className = "wc-live-video"; video.playsInline = true; video.autoplay = true;
    video.setAttribute("data-testid", "live-video");
    stage.appendChild(video);
    live.video = video;
    ms = new MediaSource();
    video.src = URL.createObjectURL(ms);
    ms.addEventListener("sourceopen", () => {
      sb = ms.addSourceBuffer(MIME);
      sb.mode = "segments";
      sb.addEventListener("updateend", pump);
      pump();
    }, { once: true });
    video.addEventListener("waiting", () => {
      // why it waits: [page ms, seconds buffered beyond the playhead, ms since the last data, rate]
      stats.waiting += 1;
      if (stats.waits.length < 200) stats.waits.push([performance.now(), bufferedAhead(video), performance.now() - lastDataAt, video.playbackRate]);
    });
    video.addEventListener("playing", () => {
      if (!stats.playing) { stats.playing = true; send({ type: "playing" }); }
      stats.mode = "live";
      document.body.classList.add("wc-live-on");
      notice(video.muted && !userMuted ? "Sound is off: click anywhere to hear the avatar." : "");
    });
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(onFrame);
    if (window.warmchatLiveAudioProbe) probeAudio(video);
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/warmchat/live?token=${encodeURIComponent(token)}`);
    ws.binaryType = "arraybuffer";
    live.ws = ws;
    ws.onopen = () => { stats.connected = true; retries = 0; if (stats.micOn) send({ type: "mic", on: true }); };
    ws.onmessage = (ev) => {
      if (typeof ev.data === "string") { onMessage(JSON.parse(ev.data)); return; }
      const now = performance.now();
      if (lastDataAt && now - lastDataAt > 150 && stats.dataGaps.length < 500) stats.dataGaps.push([now, now - lastDataAt]);
      stats.fragments += 1; stats.bytes += ev.data.byteLength; lastDataAt = now;
      queue.push(ev.data); pump();
    };
    ws.onclose = () => {
      stats.connected = false;
      if (live.ws !== ws) return;  // replaced
      if (retries++ < 3 && live.token === token) setTimeout(() => live.token === token && start(token), 1000 * retries);
      else fallback("the stream connection closed");
    };
    requestAnimationFrame(tick);
  }

  function stop() {
    if (live.ws) { const ws = live.ws; live.ws = null; ws.close(); }
    if (live.video) { live.video.remove(); live.video = null; }
    ms = null; sb = null; queue = []; marks = []; silentUntil = null; cuts = []; cutAt = null;
  }

  function pump() {
    if (!sb || sb.updating) return;
    const v = live.video;
    if (cutAt !== null) {  // a cut's removal has ended: the new stream is placed where it began
      const at = cutAt;
      cutAt = null;
      try {
        sb.abort();  // the parser may sit inside a media segment, where timestampOffset cannot be set
        sb.timestampOffset = at;
      } catch (e) { fallback("the stream could not be cut: " + e.message); return; }
    }
    if (v && v.currentTime > 30 && v.buffered.length && v.buffered.start(0) < v.currentTime - 20) {
      sb.remove(0, v.currentTime - 10);  // keep the buffer small; updateend pumps again
      return;
    }
    if (!queue.length) return;
    if (queue[0].cut) { applyCut(queue.shift().cut, v); return; }
    try { sb.appendBuffer(queue.shift()); } catch (e) { fallback("the stream could not be decoded"); return; }
    if (v && v.buffered.length) {
      const end = v.buffered.end(v.buffered.length - 1);
      if (end - v.currentTime > MAX_LATENCY_S) v.currentTime = end - 0.3;
      if (v.paused) play(v);
    }
  }

  // A barge-in: the server starts a new MP4 (its media time 0 = `c.t` of the old one's clock).
  // What is buffered beyond the playhead + CUT_MARGIN_S (the avatar's speech) is dropped and the
  // new stream plays from there; the events' media times are mapped through `cuts` (pageTime).
  // The new stream's offset is set by pump once the removal has ended (sb.updating false): an
  // `updateend` listener added here could be run by the stale updateend of the append before,
  // while the removal still runs, and abort() then throws ("Aborting asynchronous remove()").
  // Where the decoder had already read beyond `at`, Chromium resumes at the first keyframe at or
  // after its read position: the new stream's first frames are all keyframes (app/live.py).
  function applyCut(c, v) {
    const end = v && v.buffered.length ? v.buffered.end(v.buffered.length - 1) : 0;
    const at = v ? Math.min(end, v.currentTime + CUT_MARGIN_S) : 0;
    c.at = at; c.removedS = Math.max(0, end - at);
    stats.cuts.push({ t: c.t, at: at, removedS: c.removedS, playhead: v ? v.currentTime : 0, atMs: performance.now() });
    cutAt = at;  // nothing is appended until the new stream's offset is set (pump)
    if (c.removedS > 0) sb.remove(at, Infinity);  // its updateend pumps
    else pump();
  }

  // the page's media time of a server media time (seconds): through the cuts made since
  function pageTime(t) {
    let out = t, limit = Infinity;
    for (const c of cuts) {
      if (t >= c.t) { if (c.at === undefined) return Infinity; out = c.at + (t - c.t); limit = Infinity; }
      else if (c.at !== undefined) limit = Math.min(limit, c.at);  // content beyond the cut was dropped
    }
    return Math.min(out, limit);
  }

  // seconds of media buffered beyond the playhead
  function bufferedAhead(v) {
    return v.buffered.length ? v.buffered.end(v.buffered.length - 1) - v.currentTime : 0;
  }

  function play(v) {
    v.muted = userMuted;
    v.play().catch(() => { v.muted = true; v.play().catch(() => {}); notice("Sound is off: click anywhere to hear the avatar."); });
  }

  function onFrame(now, meta) {
    const v = live.video;
    if (!v) return;
    if (lastFrameAt !== null && !v.paused) {
      const gap = now - lastFrameAt;
      stats.longestGapMs = Math.max(stats.longestGapMs, gap);
      if (gap > 200) { stats.freezes += 1; }
      if (gap > 80) {  // more than two frame periods between frames shown: the picture stood still
        stats.frozenMs += gap - 40;
        if (stats.gaps.length < 1000) stats.gaps.push([now, gap]);
      }
    }
    lastFrameAt = now; stats.frames += 1;
    v.requestVideoFrameCallback(onFrame);
  }

  // What is heard (opt-in: window.warmchatLiveAudioProbe, set by bench/live.py before the page
  // loads): the element's sound through a Web Audio analyser, as [page ms, media time, RMS] once
  // an animation frame; with `speechAt` (the media times where the avatar's speech begins) it shows
  // whether a reply's first syllables are heard and when a barged-in reply falls silent.
  function probeAudio(v) {
    if (!window.AudioContext) return;
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 512;  // the last 10.7 ms at 48 kHz
    ctx.createMediaElementSource(v).connect(analyser);
    analyser.connect(ctx.destination);
    const buf = new Float32Array(analyser.fftSize);
    stats.heardAudio = [];
    const sample = () => {
      if (live.video !== v) { ctx.close(); return; }
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const x of buf) sum += x * x;
      if (stats.heardAudio.length < 40000) stats.heardAudio.push([performance.now(), v.currentTime, Math.sqrt(sum / buf.length)]);
      requestAnimationFrame(sample);
    };
    requestAnimationFrame(sample);
  }

  // state changes at media times: applied when playback reaches them
  function tick() {
    const v = live.video;
    if (!v) return;
    const t = v.currentTime;
    while (marks.length && pageTime(marks[0].t) <= t) {
      const m = marks.shift();
      stats.state = m.state;
      const speaking = m.state === "speaking";
      if (speaking && !stats.speaking) {
        const at = performance.now();
        stats.speechStarts.push(at); stats.speechAt.push(pageTime(m.t));
        if (stats.firstSpeechAt === null) stats.firstSpeechAt = at;
      }
      const now = performance.now();
      if (!speaking && stats.speaking) {
        stats.speechEnds.push(now);
        if (stats.turns[speakingTurn]) stats.turns[speakingTurn].end = now;
      }
      if (speaking) {
        if (!stats.turns[m.turn]) send({ type: "played", turn: m.turn });  // the server's timing marks
        const turn = stats.turns[m.turn] || (stats.turns[m.turn] = { first: now, end: null, runs: 0 });
        if (!stats.speaking || speakingTurn !== m.turn) turn.runs += 1;
        if (stats.speaking && speakingTurn !== m.turn && stats.turns[speakingTurn]) stats.turns[speakingTurn].end = now;
        speakingTurn = m.turn;
      }
      stats.speaking = speaking;
      const label = document.querySelector("#live-panel .wc-live-state");
      if (label) label.dataset.state = m.state;
    }
    if (silentUntil !== null && t >= pageTime(silentUntil) + UNMUTE_AFTER_CUT_S) { silentUntil = null; v.muted = userMuted; }
    // the playhead drifts behind the stream (its start, a stall): catch up while nothing is said
    const ahead = bufferedAhead(v);
    const fast = v.playbackRate > 1;
    const rate = !stats.speaking && ahead > (fast ? CAUGHT_UP_S : CATCH_UP_S) ? CATCH_UP_RATE : 1;
    if (v.playbackRate !== rate) { v.playbackRate = rate; if (rate > 1) stats.catchUps += 1; }
    requestAnimationFrame(tick);
  }

  function onMessage(msg) {
    if (msg.type === "state") {
      if (msg.state === "thinking" && !stats.turnsBegun.some((x) => x[0] === msg.turn)) stats.turnsBegun.push([msg.turn, performance.now()]);
      marks.push(msg);
    } else if (msg.type === "barge") {
      // what was already received of the speech must not play: silence until the cut
      const v = live.video;
      if (v) { v.muted = true; silentUntil = msg.t; }
      const at = performance.now();
      stats.bargeAt = at - msg.since_start_ms; stats.bargeSilencedAt = at;
      stats.bargeLatencyMs = msg.since_start_ms;
      marks = marks.filter((m) => m.t < msg.t);
      marks.push({ t: msg.t, state: "listening" });
    } else if (msg.type === "speech") {
      stats.state = stats.speaking ? stats.state : "listening";
    } else if (msg.type === "cut") {
      const c = { t: msg.t };
      cuts.push(c);
      if (cuts.length > 8) cuts.shift();
      queue.push({ cut: c }); pump();
    } else if (msg.type === "partial") {
      stats.partials.push(msg.text);
      heard(msg.text, true);
    } else if (msg.type === "transcript") {
      stats.speechEndAt = performance.now() - msg.since_end_ms;
      stats.transcripts.push(msg.text);
      stats.heard.push({ text: msg.text, endAt: stats.speechEndAt, turnsBegun: stats.turnsBegun.length });
      heard(msg.text, false);
      if (msg.text) sendAsMessage(msg.text);
    } else if (msg.type === "notice") {
      notice(msg.message);
    } else if (msg.type === "error") {
      fallback(msg.message);
    }
  }

  // what the microphone heard: the transcript so far while the person speaks, then the final one
  function heard(text, partial) {
    const el = document.querySelector("#live-panel .wc-live-heard");
    if (!el) return;
    el.textContent = text ? "You: " + text + (partial ? " …" : "") : "";
    el.classList.toggle("wc-partial", partial);
    el.hidden = !text;
  }

  function send(obj) { if (live.ws && live.ws.readyState === 1) live.ws.send(JSON.stringify(obj)); }

  // a message was sent (typed: Send or Enter): the time to the avatar's first words starts here
  function sent() { stats.sentAt = performance.now(); send({ type: "sent" }); }

  function sendAsMessage(text) {
    const box = document.querySelector("#message textarea");
    const btn = document.querySelector("#live-send");
    if (!box || !btn) return;
    box.value = text;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    stats.sentAt = performance.now();
    setTimeout(() => btn.click(), 0);  // after gradio has read the input event
  }

  // --- the microphone (hands-free) -------------------------------------------------------------

  // the microphone's 128-sample blocks, posted to the page 20 ms at a time (not 375 times a second)
  const WORKLET = `class Tap extends AudioWorkletProcessor {
    constructor() { super(); this.blocks = []; this.n = 0; }
    process(inputs) {
      const ch = inputs[0] && inputs[0][0];
      if (!ch) return true;
      this.blocks.push(ch.slice(0)); this.n += ch.length;
      if (this.n >= sampleRate / 50) {
        const x = new Float32Array(this.n); let o = 0;
        for (const b of this.blocks) { x.set(b, o); o += b.length; }
        this.blocks = []; this.n = 0;
        this.port.postMessage(x, [x.buffer]);
      }
      return true;
    } }
    registerProcessor("wc-tap", Tap);`;

  async function micOn() {
    if (stats.micOn) return;
    micStream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, channelCount: 1 } });
    micCtx = new AudioContext();
    const url = URL.createObjectURL(new Blob([WORKLET], { type: "application/javascript" }));
    await micCtx.audioWorklet.addModule(url);
    const src = micCtx.createMediaStreamSource(micStream);
    micNode = new AudioWorkletNode(micCtx, "wc-tap");
    const ratio = micCtx.sampleRate / 16000;
    let pos = 0, carry = new Float32Array(0), out = [];
    micNode.port.onmessage = (ev) => {
      // linear-interpolation resampling to 16 kHz, sent every 40 ms
      const x = new Float32Array(carry.length + ev.data.length);
      x.set(carry); x.set(ev.data, carry.length);
      while (pos + 1 < x.length) { const i = Math.floor(pos), f = pos - i; out.push(x[i] * (1 - f) + x[i + 1] * f); pos += ratio; }
      const keep = Math.floor(pos); carry = x.slice(keep); pos -= keep;
      if (out.length >= 640) {
        const pcm = new Int16Array(out.length);
        for (let k = 0; k < out.length; k++) pcm[k] = Math.max(-32768, Math.min(32767, Math.round(out[k] * 32767)));
        out = [];
        if (live.ws && live.ws.readyState === 1) live.ws.send(pcm.buffer);
      }
    };
    src.connect(micNode);
    stats.micOn = true;
    send({ type: "mic", on: true });
  }

  function micOff() {
    stats.micOn = false;
    send({ type: "mic", on: false });
    if (micNode) micNode.disconnect();
    if (micStream) micStream.getTracks().forEach((t) => t.stop());
    if (micCtx) micCtx.close();
    micNode = micStream = micCtx = null;
  }

  live.micOn = micOn; live.micOff = micOff;

  // the message being typed: the server evaluates its reply's prompt ahead (LiveSession.prefill)
  let draftTimer = null;
  document.addEventListener("input", (ev) => {
    const box = ev.target.closest && ev.target.closest("#message textarea");
    if (!box) return;
    clearTimeout(draftTimer);
    const draft = () => {
      if (!box.value.trim()) return;
      stats.drafts += 1; stats.draftTexts.push(box.value);
      if (stats.draftTexts.length > 20) stats.draftTexts.shift();
      send({ type: "draft", text: box.value });
    };
    if (SENTENCE_END.test(box.value)) draft();  // at once: no pause before Send needed
    else draftTimer = setTimeout(draft, DRAFT_AFTER_MS);
  }, true);

  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && ev.target.closest && ev.target.closest("#message")) sent();
    unmute();  // a key press lets the page play sound too
  }, true);
  function unmute() {
    const v = live.video;
    if (v && v.muted && silentUntil === null && !userMuted) { v.muted = false; notice(""); }
  }
  document.addEventListener("click", (ev) => {
    if (ev.target.closest && ev.target.closest("#send")) sent();
    const btn = ev.target.closest && ev.target.closest("#live-mic");
    if (btn) {
      const on = !stats.micOn;
      (on ? micOn() : Promise.resolve(micOff())).then(() => {
        btn.querySelector(".wc-mic-label").textContent = stats.micOn ? "Stop hands-free" : "Talk hands-free";
        btn.classList.toggle("wc-on", stats.micOn);
      }).catch((e) => notice("The microphone is not available: " + e.message));
      return;
    }
    unmute();
  }, true);

  // the panel's token arrives with the page's first load event; a new one restarts the stream
  setInterval(() => {
    const el = document.querySelector("#live-panel [data-live-token]");
    const token = el && el.dataset.liveToken;
    if (token && (token !== live.token || (live.video && !live.video.isConnected))) start(token);
  }, 200);
})();
