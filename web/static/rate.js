// The rating page: /rate?token=… (one click from the e-mail, no sign-in) or /rate?c=<id> (signed in).
// Everything from the server is set as text, never as HTML.
"use strict";

(function () {
  const params = new URLSearchParams(location.search);
  const token = params.get("token");
  const cid = params.get("c");

  const $ = (id) => document.getElementById(id);

  const SCORE_TEXT = {
    1: "Tidak puas · Very unsatisfied",
    2: "Kurang puas · Unsatisfied",
    3: "Cukup · Fair",
    4: "Puas · Satisfied",
    5: "Sangat puas · Very satisfied",
  };

  const ERRORS = {
    invalid_token: "Tautan penilaian tidak sah. · This rating link is not valid.",
    token_expired: "Tautan penilaian sudah kedaluwarsa. · This rating link has expired.",
    already_rated: "Konsultasi ini sudah dinilai. Terima kasih! · This consultation was rated already. Thank you!",
    not_closed: "Penilaian dapat diberikan setelah konsultasi ditutup. · You can rate once the consultation is closed.",
    invalid_score: "Pilih nilai 1 sampai 5. · Choose a score from 1 to 5.",
    unauthenticated: "Silakan masuk terlebih dahulu. · Please sign in first.",
    forbidden: "Anda tidak dapat menilai konsultasi ini. · You cannot rate this consultation.",
    not_found: "Konsultasi tidak ditemukan. · Consultation not found.",
    network: "Tidak dapat terhubung ke server. · Cannot reach the server.",
  };

  function showError(code, message) {
    const el = $("error");
    el.textContent = ERRORS[code] || message || "Terjadi kesalahan. · Something went wrong.";
    el.hidden = false;
  }

  function bearer() {
    try {
      return sessionStorage.getItem("pst.token");
    } catch (e) {
      return null;
    }
  }

  async function call(method, path, body) {
    const headers = { Accept: "application/json" };
    const saved = bearer();
    if (!token && saved) headers.Authorization = "Bearer " + saved;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let resp;
    try {
      resp = await fetch("/api/v1" + path, {
        method, headers, credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      const err = new Error("network");
      err.code = "network";
      throw err;
    }
    let data = null;
    try {
      data = await resp.json();
    } catch (e) {
      data = null;
    }
    if (!resp.ok) {
      const info = (data && data.error) || {};
      const err = new Error(info.message || resp.statusText);
      err.code = info.code || (resp.status === 401 ? "unauthenticated" : "http_" + resp.status);
      throw err;
    }
    return data;
  }

  function showDone(rating) {
    $("form").hidden = true;
    const stars = "★".repeat(rating.score) + "☆".repeat(5 - rating.score);
    $("done").textContent = "Terima kasih atas penilaian Anda (" + stars + "). · Thank you for your rating.";
    $("done").hidden = false;
  }

  // The SKM survey of the same consultation: the rating link's token opens it without signing in.
  function offerSurvey(c) {
    if (!c.id || !/^[0-9a-f]{24}$/i.test(c.id) || c.status !== "closed") return;
    let href = "/survey?consultation=" + encodeURIComponent(c.id);
    if (token) href += "&token=" + encodeURIComponent(token);
    $("skm-link").href = href;
    $("skm-offer").hidden = false;
  }

  function showAbout(info) {
    const c = info.consultation || {};
    offerSurvey(c);
    $("about-number").textContent = c.number || "";
    $("about-subject").textContent = c.subject || "";
    $("about-office").textContent = c.office_name || c.office || "";
    $("about").hidden = false;
    if (info.rated && info.rating) {
      showDone(info.rating);
    } else if (c.status !== "closed") {
      showError("not_closed");
    } else {
      $("form").hidden = false;
    }
  }

  async function load() {
    try {
      if (token) {
        showAbout(await call("GET", "/ratings/by-token?token=" + encodeURIComponent(token)));
      } else if (cid && /^[0-9a-f]{24}$/i.test(cid)) {
        showAbout(await call("GET", "/consultations/" + cid + "/rating"));
      } else {
        showError("invalid_token");
      }
    } catch (err) {
      showError(err.code, err.message);
    } finally {
      $("loading").hidden = true;
    }
  }

  function chosenScore() {
    const picked = document.querySelector('input[name="score"]:checked');
    return picked ? parseInt(picked.value, 10) : null;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll('input[name="score"]').forEach(function (input) {
      input.addEventListener("change", function () {
        $("score-text").textContent = SCORE_TEXT[chosenScore()] || "";
      });
    });

    $("form").addEventListener("submit", async function (ev) {
      ev.preventDefault();
      $("error").hidden = true;
      const score = chosenScore();
      if (!score) {
        showError("invalid_score");
        return;
      }
      const body = { score: score };
      const comment = $("comment").value.trim();
      const complaint = $("complaint").value.trim();
      if (comment) body.comment = comment;
      if (complaint) body.complaint = complaint;
      $("submit").disabled = true;
      try {
        let out;
        if (token) {
          body.token = token;
          out = await call("POST", "/ratings/by-token", body);
        } else {
          out = await call("POST", "/consultations/" + cid + "/rating", body);
        }
        showDone(out.rating);
      } catch (err) {
        showError(err.code, err.message);
        if (err.code === "already_rated") $("form").hidden = true;
      } finally {
        $("submit").disabled = false;
      }
    });

    load();
  });
})();
