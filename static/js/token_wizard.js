// The add-token wizard: one page, four steps, each checked as it is left.
// The key pair belongs to this page (Apple's flow): leaving it destroys the key, so the steps switch in
// place instead of loading pages, and a page brought back by the browser (Back, bfcache) asks the server
// whether its key still stands before it offers anything.
(function () {
  "use strict";
  var form = document.getElementById("wizard-form");
  if (!form) return;
  var sections = Array.prototype.slice.call(form.querySelectorAll(".wizard-step"));
  var indicators = Array.prototype.slice.call(document.querySelectorAll("#wizard-steps li"));
  var stepError = document.getElementById("step-error");
  var create = document.getElementById("create");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var usable = Boolean(form.dataset.checkUrl);
  var passed = {}; // step number -> true once its check succeeded, until one of its fields changes
  var review = {};
  var current = 1;
  var submitting = false;
  var keyDownloaded = false;

  function show(step, focus) {
    current = step;
    sections.forEach(function (section) { section.hidden = Number(section.dataset.step) !== step; });
    indicators.forEach(function (li) {
      var n = Number(li.dataset.step);
      li.classList.toggle("done", n === 1 || Boolean(passed[n]));
      if (n === step) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
    });
    create.disabled = !usable || !(passed[1] && passed[2] && passed[3]);
    var heading = sections[step - 1].querySelector("h2");
    if (heading && focus !== false) { heading.tabIndex = -1; heading.focus({ preventScroll: true }); }
  }

  function setStepError(message) {
    stepError.textContent = message || "";
    stepError.hidden = !message;
  }

  function clearFieldErrors(section) {
    section.querySelectorAll(".field-errors").forEach(function (list) { list.remove(); });
    section.querySelectorAll(".has-error").forEach(function (field) { field.classList.remove("has-error"); });
  }

  function showFieldErrors(errors) {
    var placed = false;
    Object.keys(errors).forEach(function (name) {
      var input = form.querySelector("[name=" + name + "]");
      if (!input) return;
      var field = input.closest(".field");
      field.classList.add("has-error");
      var list = document.createElement("ul");
      list.className = "field-errors";
      list.id = (input.id || name) + "_errors";
      errors[name].forEach(function (message) {
        var item = document.createElement("li");
        item.textContent = message;
        list.appendChild(item);
      });
      field.appendChild(list);
      placed = true;
    });
    return placed;
  }

  function invalidate() {
    // The key is gone: nothing on this page can lead to a token any more.
    usable = false;
    document.getElementById("wizard-invalid").hidden = false;
    var warning = document.getElementById("wizard-warning");
    if (warning) warning.hidden = true;
    form.querySelectorAll("[data-next], #create").forEach(function (button) { button.disabled = true; });
    var download = document.getElementById("download-key");
    if (download) { download.removeAttribute("href"); download.setAttribute("aria-disabled", "true"); }
    setStepError("");
  }

  function recheck() {
    if (!usable) return Promise.resolve(false);
    return fetch(form.dataset.statusUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : { usable: false }; })
      .then(function (status) { if (!status.usable) invalidate(); return status.usable; })
      .catch(function () { return usable; });
  }

  function serverCheck(step, section) {
    var data = new FormData();
    data.append("csrfmiddlewaretoken", csrf);
    data.append("step", step === 2 ? "token" : "scope_tags");
    section.querySelectorAll("input, select, textarea").forEach(function (input) {
      if (!input.name) return;
      if (input.type === "file") { if (input.files.length) data.append(input.name, input.files[0]); }
      else if ((input.type === "checkbox" || input.type === "radio")) { if (input.checked) data.append(input.name, input.value); }
      else data.append(input.name, input.value);
    });
    return fetch(form.dataset.checkUrl, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (result) {
        if (result.usable === false) { invalidate(); return false; }
        if (!result.ok) {
          if (!showFieldErrors(result.errors || {}) || result.message) setStepError(result.message);
          return false;
        }
        Object.assign(review, result.review);
        return true;
      })
      .catch(function () { setStepError("The portal could not be reached to check this step. Try again."); return false; });
  }

  function checkStep(step) {
    var section = sections[step - 1];
    clearFieldErrors(section);
    setStepError("");
    if (step === 1) {
      if (!keyDownloaded) {
        setStepError("Download your public key first: Apple needs it to make your server token.");
        return Promise.resolve(false);
      }
      return recheck();
    }
    if (step === 2) {
      var missing = {};
      if (!form.elements.apple_id.value.trim()) missing.apple_id = ["Enter the Apple ID you used to create this token at Apple, for future reference."];
      if (!form.elements.token_file.files.length) missing.token_file = ["Choose the server token file (.p7m) you downloaded from Apple."];
      if (Object.keys(missing).length) { showFieldErrors(missing); return Promise.resolve(false); }
    }
    return serverCheck(step, section);
  }

  function fillReview() {
    form.querySelectorAll("[data-review]").forEach(function (cell) {
      var value = review[cell.dataset.review];
      cell.textContent = Array.isArray(value) ? value.join(", ") : (value || "—");
    });
  }

  form.querySelectorAll("[data-next]").forEach(function (button) {
    button.addEventListener("click", function () {
      var step = current;
      button.disabled = true;
      checkStep(step).then(function (ok) {
        button.disabled = !usable;
        if (!ok) return;
        passed[step] = true;
        if (step + 1 === 4) fillReview();
        show(step + 1);
      });
    });
  });
  form.querySelectorAll("[data-prev]").forEach(function (button) {
    button.addEventListener("click", function () { setStepError(""); show(current - 1); });
  });
  sections.forEach(function (section) {
    section.addEventListener("change", function () {
      // A changed answer has to be checked again before Create.
      var step = Number(section.dataset.step);
      for (var n = step; n <= 4; n++) delete passed[n];
      create.disabled = true;
    });
  });
  var download = document.getElementById("download-key");
  if (download) download.addEventListener("click", function () {
    if (!usable) return;
    keyDownloaded = true;
    document.getElementById("key-downloaded").hidden = false;
  });

  form.addEventListener("submit", function (event) {
    if (!usable || !(passed[1] && passed[2] && passed[3])) { event.preventDefault(); return; }
    submitting = true;
  });
  window.addEventListener("pagehide", function () {
    if (submitting || !usable) return;
    var data = new FormData();
    data.append("csrfmiddlewaretoken", csrf);
    navigator.sendBeacon(form.dataset.abandonUrl, data);
  });
  window.addEventListener("pageshow", function (event) {
    // Back or forward may bring this page back as it was; its key may have been destroyed meanwhile.
    if (event.persisted) { submitting = false; recheck(); }
  });
  if (form.dataset.expiresAt) {
    var left = new Date(form.dataset.expiresAt).getTime() - Date.now();
    window.setTimeout(recheck, Math.max(left, 0) + 1000);
  }

  var initial = Number(form.dataset.initialStep) || 1;
  // After a refused Create the page comes back with its errors and without the chosen file (browsers drop
  // it): the key was downloaded by then, so the Apple token step is where to pick up.
  if (initial > 1) { keyDownloaded = true; passed[1] = true; }
  show(initial, false);
})();
