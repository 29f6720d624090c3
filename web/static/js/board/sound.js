// The board's voice: a short chime (Web Audio) and the browser's speech synthesis in Indonesian.

let ctx = null;

/** A two-note chime; resolves when it has played (or at once where audio is not allowed yet). */
export async function chime() {
  try {
    ctx = ctx || new AudioContext();
    if (ctx.state === "suspended") await ctx.resume();
    if (ctx.state !== "running") return;
    const t0 = ctx.currentTime;
    for (const [i, freq] of [880, 660].entries()) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t0 + i * 0.45);
      gain.gain.exponentialRampToValueAtTime(0.4, t0 + i * 0.45 + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.45 + 0.42);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t0 + i * 0.45);
      osc.stop(t0 + i * 0.45 + 0.45);
    }
    await new Promise((r) => setTimeout(r, 950));
  } catch {
    // no audio on this device: the text on screen carries the call
  }
}

function indonesianVoice() {
  const voices = window.speechSynthesis.getVoices ? window.speechSynthesis.getVoices() : [];
  return voices.find((v) => /^id([-_]|$)/i.test(v.lang)) || null;
}

/** Speak `text` in Indonesian; resolves when done, or after a timeout if the engine never answers. */
export function speak(text) {
  if (!("speechSynthesis" in window) || typeof window.SpeechSynthesisUtterance !== "function") {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const u = new window.SpeechSynthesisUtterance(text);
    u.lang = "id-ID";
    u.rate = 0.9;
    const voice = indonesianVoice();
    if (voice) u.voice = voice;
    const timer = setTimeout(() => resolve(false), 8000);
    u.onend = () => {
      clearTimeout(timer);
      resolve(true);
    };
    u.onerror = () => {
      clearTimeout(timer);
      resolve(false);
    };
    window.speechSynthesis.speak(u);
  });
}
