// Scanner input: a keyboard-wedge scanner types into a focused field and ends with Enter; the
// camera (html5-qrcode, loaded only when the button is pressed) feeds the same handler.

const VENDOR = "/static/vendor/html5-qrcode/html5-qrcode.min.js";
let camera = null;

// Keep the scan field focused (a wedge scanner types wherever the focus is), except while the
// user is in another field such as the quantity.
function keepFocus(field) {
  document.addEventListener("click", (event) => {
    if (!event.target.closest("input, select, textarea, button, a")) field.focus();
  });
  field.addEventListener("blur", () => {
    setTimeout(() => {
      const active = document.activeElement;
      if (!active || active === document.body) field.focus();
    }, 150);
  });
  field.focus();
}

// Call onScan(text) for each Enter-terminated entry of the scan field (a form with a second
// field has no implicit submission, so Enter is caught on the field itself).
export function wedge(form, field, onScan) {
  const take = () => {
    const text = field.value.replace(/[\r\n]+$/, "");
    field.value = "";
    if (text.trim()) onScan(text.trim());
    field.focus();
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); take(); });
  field.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.isComposing) return;
    event.preventDefault();
    take();
  });
  keepFocus(field);
}

function loadLibrary() {
  if (window.__Html5QrcodeLibrary__) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = VENDOR;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error("html5-qrcode"));
    document.head.appendChild(script);
  });
}

// Open the back camera in viewId and call onScan for each code read (the same code twice
// within 1.5 s counts once).
export async function openCamera(viewId, onScan) {
  await loadLibrary();
  const { Html5Qrcode } = window.__Html5QrcodeLibrary__;
  camera = new Html5Qrcode(viewId);
  let last = "", lastAt = 0;
  await camera.start({ facingMode: "environment" }, { fps: 10, qrbox: { width: 250, height: 160 } },
    (text) => {
      const now = Date.now();
      if (text === last && now - lastAt < 1500) return;
      last = text; lastAt = now;
      onScan(text);
    });
}

export async function closeCamera() {
  if (!camera) return;
  try { await camera.stop(); } catch (e) { /* already stopped */ }
  camera = null;
}
