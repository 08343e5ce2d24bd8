// icpkit web workspace: uploads with progress, builds with live status. No dependencies.
(function () {
  "use strict";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function showErrors(box, body) {
    box.className = "msg bad";
    box.textContent = "";
    box.appendChild(el("div", null, body.error || "The upload failed."));
    var errs = (body.errors || []).filter(function (e) { return e.message && e.message !== body.error; });
    if (errs.length) {
      var ul = el("ul");
      errs.slice(0, 12).forEach(function (e) { ul.appendChild(el("li", null, e.message)); });
      box.appendChild(ul);
    }
  }

  function upload(input) {
    var table = input.getAttribute("data-upload");
    var row = document.getElementById("row-" + table);
    var bar = row.querySelector("progress");
    var box = row.querySelector(".msg");
    var file = input.files[0];
    if (!file) return;
    var data = new FormData();
    data.append("file", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/uploads/" + encodeURIComponent(table));
    bar.hidden = false; bar.value = 0;
    box.className = "msg"; box.textContent = "Uploading " + file.name + "…";
    xhr.upload.onprogress = function (ev) {
      if (ev.lengthComputable) {
        bar.value = Math.round((ev.loaded / ev.total) * 100);
        if (ev.loaded === ev.total) box.textContent = "Checking " + file.name + "…";
      }
    };
    xhr.onload = function () {
      bar.hidden = true;
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = {error: "The server answered " + xhr.status}; }
      if (xhr.status === 200 && body.ok) {
        box.className = "msg ok";
        box.textContent = "✓ " + body.file + ": " + body.rows.toLocaleString() + " rows, " + body.columns.length + " columns";
        (body.warnings || []).forEach(function (w) { box.appendChild(el("div", "small", "warning: " + w)); });
        row.querySelector(".staged").textContent = body.file;
      } else {
        showErrors(box, body);
      }
      input.value = "";
    };
    xhr.onerror = function () { bar.hidden = true; showErrors(box, {error: "The upload did not reach the server."}); };
    xhr.send(data);
  }

  document.querySelectorAll("input[data-upload]").forEach(function (input) {
    input.addEventListener("change", function () { upload(input); });
  });

  var btn = document.getElementById("build-btn");
  var status = document.getElementById("build-status");

  function renderJob(job) {
    status.textContent = "";
    var head = el("p");
    if (job.status === "running") { head.appendChild(el("span", "spinner")); head.appendChild(document.createTextNode("Building… " + job.seconds + " s")); }
    else if (job.status === "done") { head.className = "ok"; head.textContent = "✓ Built ICP version " + job.version + " in " + job.seconds + " s. "; var a = el("a", null, "Open the report"); a.href = "/report"; a.id = "open-report"; head.appendChild(a); }
    else { head.className = "error"; head.textContent = job.error || "The build failed."; }
    status.appendChild(head);
    if (job.steps && job.steps.length) {
      var ol = el("ol");
      job.steps.forEach(function (s, i) {
        ol.appendChild(el("li", i < job.steps.length - 1 || job.status !== "running" ? "done" : "", s));
      });
      status.appendChild(ol);
    }
    if (job.status === "failed" && job.errors) {
      job.errors.forEach(function (e) {
        if (!e.file) return;
        document.querySelectorAll("#uploads tr[data-table]").forEach(function (row) {
          if (row.querySelector(".staged").textContent.trim() === e.file) {
            var box = row.querySelector(".msg");
            if (!box.classList.contains("bad")) { box.className = "msg bad"; box.textContent = ""; }
            box.appendChild(el("div", null, e.message));
          }
        });
      });
    }
    (job.warnings || []).slice(0, 8).forEach(function (w) { status.appendChild(el("p", "warn", w)); });
  }

  // after a build, show the workspace's new row counts without leaving the page
  function refreshCounts() {
    fetch("/data", {headers: {"Accept": "text/html"}})
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        doc.querySelectorAll("#uploads tr[data-table]").forEach(function (row) {
          var mine = document.getElementById(row.id);
          if (mine) mine.querySelector("td.n").textContent = row.querySelector("td.n").textContent;
        });
        var pill = doc.querySelector("header .pill"), here = document.querySelector("header .right");
        if (pill && here && !here.querySelector(".pill")) here.insertBefore(pill, here.firstChild);
        else if (pill && here) here.querySelector(".pill").textContent = pill.textContent;
      });
  }

  function poll(id) {
    fetch("/api/v1/builds/" + id, {headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (job) {
        if (!job.ok) { renderJob({status: "failed", error: job.error}); btn.disabled = false; return; }
        renderJob(job);
        if (job.status === "running") setTimeout(function () { poll(id); }, 700);
        else { btn.disabled = false; if (job.status === "done") refreshCounts(); }
      })
      .catch(function () { setTimeout(function () { poll(id); }, 1500); });
  }

  if (btn) {
    btn.addEventListener("click", function () {
      btn.disabled = true;
      document.querySelectorAll("#uploads .msg.bad").forEach(function (b) { b.className = "msg"; b.textContent = ""; });
      fetch("/api/v1/builds", {method: "POST", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.json(); })
        .then(function (job) {
          if (!job.ok) { renderJob({status: "failed", error: job.error, errors: job.errors}); btn.disabled = false; return; }
          renderJob(job); poll(job.id);
        });
    });
    if (btn.getAttribute("data-job")) { btn.disabled = true; poll(btn.getAttribute("data-job")); }
  }
})();
