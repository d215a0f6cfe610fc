/* The enterprise form: show only the links (nodes) of the chosen chain; changing the chain clears
   links of the old one. Expects the select #chain and the checkbox list #nodes. */
(function () {
  "use strict";
  var chain = document.getElementById("chain"), list = document.getElementById("nodes");
  if (!chain || !list) { return; }
  function filter(clear) {
    var prefix = chain.value + "/";
    Array.prototype.forEach.call(list.querySelectorAll("li"), function (item) {
      var box = item.querySelector("input"), mine = box.value.indexOf(prefix) === 0;
      if (clear && !mine) { box.checked = false; }
      item.hidden = !(mine || box.checked);
    });
  }
  chain.addEventListener("change", function () { filter(true); });
  filter(false);
}());
