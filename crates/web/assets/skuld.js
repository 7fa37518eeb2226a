// skuld admin center: small progressive enhancements. Every flow works without this file.
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  // A checkbox with data-select-all="name" ticks every checkbox named `name` in its form.
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t && t.matches && t.matches("input[data-select-all]")) {
      var form = t.form || document;
      form.querySelectorAll('input[type=checkbox][name="' + t.getAttribute("data-select-all") + '"]')
        .forEach(function (c) { c.checked = t.checked; });
    }
  });
  // A button or form with data-confirm asks before it goes on.
  document.addEventListener("submit", function (e) {
    var f = e.target, b = e.submitter;
    var msg = (b && b.getAttribute("data-confirm")) || f.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) e.preventDefault();
  }, true);
  // Copy and print buttons (the new user's credentials page).
  document.addEventListener("click", function (e) {
    var t = e.target.closest && e.target.closest("[data-copy],[data-print]");
    if (!t) return;
    if (t.hasAttribute("data-print")) { window.print(); return; }
    var src = document.getElementById(t.getAttribute("data-copy"));
    if (src && navigator.clipboard) {
      navigator.clipboard.writeText(src.textContent.trim()).then(function () {
        t.textContent = "Copied";
      });
    }
  });
  // Type-ahead: a suggestion button adds a chip with a hidden input of the chosen id.
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("button[data-pick]");
    if (!b) return;
    e.preventDefault();
    var box = b.closest(".typeahead");
    var chips = box.querySelector(".chips");
    var name = box.getAttribute("data-field");
    var id = b.getAttribute("data-pick");
    if (chips.querySelector('input[value="' + id + '"]')) return;
    var chip = document.createElement("span");
    chip.className = "chip";
    chip.textContent = b.getAttribute("data-label") + " ";
    var input = document.createElement("input");
    input.type = "hidden"; input.name = name; input.value = id;
    var x = document.createElement("button");
    x.type = "button"; x.className = "link"; x.textContent = "×";
    x.setAttribute("aria-label", "Remove " + b.getAttribute("data-label"));
    x.addEventListener("click", function () { chip.remove(); });
    chip.appendChild(input); chip.appendChild(x);
    chips.appendChild(chip);
    var q = box.querySelector("input[type=search]");
    if (q) { q.value = ""; q.focus(); }
    var list = box.querySelector(".suggestions");
    if (list) list.innerHTML = "";
  });
  ready(function () {
    var f = document.querySelector("[autofocus]");
    if (f) f.focus();
  });
})();
