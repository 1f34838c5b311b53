// Update "who will approve" when the selection changes. The form works without this file:
// its "preview" button asks the server for the same text.
(function () {
  "use strict";
  var form = document.querySelector("form[method=post]");
  var region = document.getElementById("approver-preview");
  if (!form || !region || !window.fetch || !window.URLSearchParams) { return; }
  var pending = null;

  function query() {
    var params = new URLSearchParams();
    form.querySelectorAll("input[name=platforms]:checked").forEach(function (box) {
      params.append("platforms", box.value);
    });
    var level = form.querySelector("input[name=level]:checked");
    if (level) { params.append("level", level.value); }
    ["email", "manager_email", "lang"].forEach(function (name) {
      var field = form.querySelector("[name=" + name + "]");
      if (field && field.value) { params.append(name, field.value); }
    });
    return params.toString();
  }

  function show(data) {
    region.textContent = "";
    if (data.steps.length) {
      var list = document.createElement("ol");
      list.className = "preview-steps";
      data.steps.forEach(function (text) {
        var item = document.createElement("li");
        item.textContent = text;
        list.appendChild(item);
      });
      region.appendChild(list);
    }
    var note = document.createElement("p");
    note.className = data.steps.length ? "preview-bounds" : "preview-empty";
    note.textContent = data.note;
    region.appendChild(note);
    var duration = document.getElementById("duration_days");
    if (duration && data.max_duration_days) { duration.max = String(data.max_duration_days); }
  }

  function refresh() {
    if (pending) { pending.abort(); }
    pending = new AbortController();
    fetch(form.dataset.previewUrl + "?" + query(), { signal: pending.signal, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { show(data); } })
      .catch(function () { /* keep the current text; the preview button still works */ });
  }

  form.addEventListener("change", function (event) {
    var name = event.target && event.target.name;
    if (name === "platforms" || name === "level" || name === "email" || name === "manager_email") {
      refresh();
    }
  });
})();
