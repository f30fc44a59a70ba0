// What the user sees, hears and feels: a big message, a short beep, a vibration on errors.

const config = JSON.parse(document.getElementById("scan-config").textContent);
let audio = null;
let hideTimer = null;

export const CONFIG = config;

// A tap on the message puts it away (it also hides at the next good scan).
document.getElementById("scan-message").addEventListener("click", (e) => { e.currentTarget.hidden = true; });

// A translated message with {name} parameters filled in.
export function t(key, params = {}) {
  const text = config.messages[key] || key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

function tone(frequency, millis) {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = frequency;
    gain.gain.value = 0.2;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + millis / 1000);
  } catch (e) {
    // No audio on this device: the message and the vibration remain.
  }
}

function show(text, kind, millis) {
  const box = document.getElementById("scan-message");
  box.textContent = text;
  box.className = `scan-message ${kind}`;
  box.hidden = false;
  clearTimeout(hideTimer);
  if (millis) hideTimer = setTimeout(() => { box.hidden = true; }, millis);
}

// A refused scan: low beep, vibration, a red message that stays until the next good scan.
export function error(text) {
  tone(220, 250);
  if (navigator.vibrate) navigator.vibrate([120, 60, 120]);
  show(text, "error", 0);
}

// An accepted scan: a short high beep and a green message.
export function ok(text) {
  tone(880, 60);
  show(text, "ok", 2500);
}

export function info(text) {
  show(text, "info", 4000);
}

export function clear() {
  document.getElementById("scan-message").hidden = true;
}
