// Keeps the import's progress page current: polls its JSON every second until it finishes.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) { return; }
  var bar = box.querySelector("progress");
  var refused = box.querySelector("[data-errors]");  // the refused rows' CSV, once there are any

  function show(data) {
    box.querySelectorAll("[data-field]").forEach(function (cell) {
      var value = data[cell.getAttribute("data-field")];
      cell.textContent = value === null || value === undefined ? "—" : String(value);
    });
    if (data.rows_total) { bar.max = Math.max(data.rows_total, data.rows_done); }
    bar.value = data.rows_done;
    if (refused) { refused.hidden = !data.rows_failed; }
    if (data.finished) { bar.max = Math.max(data.rows_done, 1); bar.value = bar.max; }
    return data.finished;
  }

  function poll() {
    fetch(box.getAttribute("data-url"), { credentials: "same-origin" })
      .then(function (answer) { return answer.json(); })
      .then(function (data) { if (!show(data)) { window.setTimeout(poll, 1000); } })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  poll();
})();
