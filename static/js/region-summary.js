/* Keeps "已选地区" beside a long multi-select of regions current: <span data-summary-of="SELECT-ID"
   data-empty="…" data-separator="…">. Loaded once per region select; each select is wired once. */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-summary-of]"), function (out) {
    var select = document.getElementById(out.getAttribute("data-summary-of"));
    if (!select || out.hasAttribute("data-summary-wired")) { return; }
    out.setAttribute("data-summary-wired", "");
    select.addEventListener("change", function () {
      var names = Array.prototype.map.call(select.selectedOptions, function (option) {
        return option.textContent.replace(/^[·\s]+/, "");
      });
      out.textContent = names.length ? names.join(out.getAttribute("data-separator")) : out.getAttribute("data-empty");
    });
  });
}());
