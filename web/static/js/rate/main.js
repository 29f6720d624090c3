// The rating page: /rate?token=… (one click from the e-mail, no sign-in) or /rate?c=<id> (signed in).
// One language at a time: the visitor's choice on this device, else the language of the person who
// asked. Everything from the server is set as text, never as HTML.
import { api, errorText } from "../api.js";
import { $, say } from "../dom.js";
import { applyI18n, chosenHere, lang, onLangChange, setLang, t } from "../i18n.js";
import { initLayout } from "../layout.js";

const OBJECT_ID = /^[0-9a-f]{24}$/i;
const MAX_SCORE = 5;

const params = new URLSearchParams(location.search);
const token = params.get("token");
const cid = params.get("c");
let rated = null; // the rating once given (repainted on a language switch)

function chosenScore() {
  const picked = document.querySelector('input[name="score"]:checked');
  return picked ? Number(picked.value) : null;
}

/** Light the stars up to `score` and say the chosen score in words. */
function paintStars(score) {
  for (const label of document.querySelectorAll(".stars label")) {
    const value = Number($(`#${label.htmlFor}`).value);
    label.classList.toggle("lit", Boolean(score) && value <= score);
  }
  $("#score-text").textContent = score ? t(`rate.score.${score}`) : "";
}

function showDone(rating) {
  rated = rating;
  $("#form").hidden = true;
  const stars = "★".repeat(rating.score) + "☆".repeat(MAX_SCORE - rating.score);
  say($("#done"), t("rate.done", { stars }), "ok");
}

function offerSurvey(c) {
  if (!OBJECT_ID.test(c.id || "") || c.status !== "closed") return;
  let href = `/survey?consultation=${encodeURIComponent(c.id)}`;
  if (token) href += `&token=${encodeURIComponent(token)}`;
  $("#skm-link").href = href;
  $("#skm-offer").hidden = false;
}

function showAbout(info) {
  const c = info.consultation || {};
  // A visitor from the e-mail link reads it in the language of the person who asked, unless they chose.
  if (!chosenHere() && (info.lang === "en" || info.lang === "id") && info.lang !== lang()) setLang(info.lang);
  if (OBJECT_ID.test(c.id || "")) {
    $("#back").href = `/app/#/c/${c.id}`;
    $("#back-text").dataset.i18n = "rate.back.room";
    $("#back-text").textContent = t("rate.back.room");
  }
  offerSurvey(c);
  $("#about-number").textContent = c.number || "";
  $("#about-subject").textContent = c.subject || "";
  $("#about-office").textContent = c.office_name || c.office || "";
  $("#about").hidden = false;
  if (info.rated && info.rating) showDone(info.rating);
  else if (c.status !== "closed") say($("#load-error"), t("err.not_closed"), "error");
  else $("#form").hidden = false;
}

async function load() {
  try {
    if (token) showAbout(await api("GET", `/ratings/by-token?token=${encodeURIComponent(token)}`));
    else if (cid && OBJECT_ID.test(cid)) showAbout(await api("GET", `/consultations/${cid}/rating`));
    else say($("#load-error"), t("err.invalid_token"), "error");
  } catch (err) {
    say($("#load-error"), errorText(err), "error");
  } finally {
    $("#loading").hidden = true;
  }
}

async function submit(ev) {
  ev.preventDefault();
  say($("#error"), "");
  const score = chosenScore();
  if (!score) {
    say($("#error"), t("err.invalid_score"), "error");
    $("#s1").focus();
    return;
  }
  const body = { score };
  const comment = $("#comment").value.trim();
  const complaint = $("#complaint").value.trim();
  if (comment) body.comment = comment;
  if (complaint) body.complaint = complaint;
  $("#submit").disabled = true;
  try {
    const out = token
      ? await api("POST", "/ratings/by-token", { ...body, token })
      : await api("POST", `/consultations/${cid}/rating`, body);
    showDone(out.rating);
  } catch (err) {
    say($("#error"), errorText(err), "error");
    if (err.code === "already_rated") $("#form").hidden = true;
  } finally {
    $("#submit").disabled = false;
  }
}

function boot() {
  initLayout();
  for (const input of document.querySelectorAll('input[name="score"]')) {
    input.addEventListener("change", () => paintStars(chosenScore()));
  }
  const stars = $(".stars");
  stars.addEventListener("mouseover", (ev) => {
    const label = ev.target.closest("label");
    if (label) paintStars(Number($(`#${label.htmlFor}`).value));
  });
  stars.addEventListener("mouseleave", () => paintStars(chosenScore()));
  $("#form").addEventListener("submit", submit);
  onLangChange(() => {
    applyI18n();
    paintStars(chosenScore());
    if (rated) showDone(rated);
  });
  load();
}

boot();
