(function () {
  "use strict";
  function key(cell) {
    var v = cell.getAttribute("data-v");
    if (v !== null) { return parseFloat(v); }
    return cell.textContent.trim().toLowerCase();
  }
  function sortBy(table, index, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var asc = th.getAttribute("aria-sort") !== "ascending";
    rows.sort(function (a, b) {
      var x = key(a.cells[index]), y = key(b.cells[index]);
      if (x < y) { return asc ? -1 : 1; }
      if (x > y) { return asc ? 1 : -1; }
      return 0;
    });
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    rows.forEach(function (r) { body.appendChild(r); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      th.tabIndex = 0;
      th.classList.add("sort");
      th.addEventListener("click", function () { sortBy(table, index, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, index, th); }
      });
    });
  });

  // File pages: the run/missing/partial/excluded toggles; j/k through chunks of missing lines, n/p files.
  var source = document.querySelector("table.source");
  Array.prototype.forEach.call(document.querySelectorAll("button[data-state]"), function (button) {
    button.addEventListener("click", function () {
      var on = button.getAttribute("aria-pressed") !== "true";
      button.setAttribute("aria-pressed", on ? "true" : "false");
      if (source) { source.classList.toggle("hide-" + button.getAttribute("data-state"), !on); }
    });
  });
  function chunkStarts() {
    var starts = [], previous = false;
    if (!source) { return starts; }
    Array.prototype.forEach.call(source.tBodies[0].rows, function (row) {
      var missing = row.classList.contains("mis");
      if (missing && !previous) { starts.push(parseInt(row.id.slice(1), 10)); }
      previous = missing;
    });
    return starts;
  }
  function jump(forward) {
    var at = /^#L\d+$/.test(location.hash) ? parseInt(location.hash.slice(2), 10) : (forward ? 0 : Infinity);
    var starts = chunkStarts(), target = null;
    starts.forEach(function (n) {
      if (forward ? (n > at && target === null) : n < at) { target = n; }
    });
    if (target !== null) { location.hash = "#L" + target; }
  }
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey || (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)))) {
      return;
    }
    var link = null;
    if (e.key === "j" || e.key === "k") { if (source) { jump(e.key === "j"); } return; }
    if (e.key === "n") { link = document.getElementById("next-file"); }
    if (e.key === "p") { link = document.getElementById("prev-file"); }
    if (link) { location.href = link.href; }
  });

  // The files page: a filter on the path and "hide covered".
  var filter = document.getElementById("filter"), hide = document.getElementById("hide-covered");
  var files = document.getElementById("files"), shown = document.getElementById("shown");
  function apply() {
    var query = filter.value.trim().toLowerCase(), rows = files.tBodies[0].rows, count = 0;
    Array.prototype.forEach.call(rows, function (row) {
      var match = !query || row.cells[0].textContent.toLowerCase().indexOf(query) >= 0;
      var visible = match && !(hide.checked && row.getAttribute("data-covered") === "1");
      row.hidden = !visible;
      if (visible) { count += 1; }
    });
    shown.textContent = count + " of " + rows.length + " files shown";
  }
  if (filter && hide && files && shown) {
    filter.addEventListener("input", apply);
    hide.addEventListener("change", apply);
    apply();
  }
})();
