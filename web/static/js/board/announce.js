// What the board says when a number is called: Indonesian words for the speech, kept apart from the
// page so it can be read (and tested) on its own.

const DIGITS = ["nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"];

/** 0..999 in Indonesian words: 2 → "dua", 11 → "sebelas", 25 → "dua puluh lima", 100 → "seratus". */
export function wordsId(n) {
  if (!Number.isInteger(n) || n < 0 || n > 999) return String(n);
  if (n < 10) return DIGITS[n];
  if (n === 10) return "sepuluh";
  if (n === 11) return "sebelas";
  if (n < 20) return `${DIGITS[n - 10]} belas`;
  if (n < 100) {
    const tens = Math.floor(n / 10);
    const rest = n % 10;
    return `${DIGITS[tens]} puluh${rest ? " " + DIGITS[rest] : ""}`;
  }
  const hundreds = Math.floor(n / 100);
  const rest = n % 100;
  const head = hundreds === 1 ? "seratus" : `${DIGITS[hundreds]} ratus`;
  return rest ? `${head} ${wordsId(rest)}` : head;
}

/** "A-003" → "A nol nol tiga": the letter, then every digit, as a caller reads a ticket. */
export function spokenNumber(number) {
  const [letter, digits] = String(number).split("-");
  if (!digits) return String(number);
  return [letter, ...digits.split("").map((d) => DIGITS[Number(d)] ?? d)].join(" ");
}

/** A desk as spoken: "2" → "dua"; a name stays as written. */
export function spokenDesk(desk) {
  const text = String(desk ?? "").trim();
  return /^\d{1,3}$/.test(text) ? wordsId(Number(text)) : text;
}

/** The sentence the board speaks for a call, always in Indonesian (the waiting room's language). */
export function announcement(number, desk) {
  return `Nomor antrean ${spokenNumber(number)}, silakan menuju meja ${spokenDesk(desk)}`;
}
