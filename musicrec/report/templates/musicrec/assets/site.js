// The report's one script: a button that shows or hides all code cells of a notebook page at once.
// Each cell stays a <details> element, so code can also be opened one cell at a time without scripts.
(function () {
  "use strict";
  function setUp() {
    var button = document.getElementById("mr-code-toggle");
    var blocks = Array.prototype.slice.call(document.querySelectorAll("details.mr-code"));
    if (!button || blocks.length === 0) {
      return;
    }
    function allOpen() {
      return blocks.every(function (block) { return block.open; });
    }
    function update() {
      var open = allOpen();
      button.textContent = open ? "Hide all code" : "Show all code";
      button.setAttribute("aria-pressed", open ? "true" : "false");
    }
    button.addEventListener("click", function () {
      var open = !allOpen();
      blocks.forEach(function (block) { block.open = open; });
      update();
    });
    blocks.forEach(function (block) { block.addEventListener("toggle", update); });
    button.hidden = false;
    update();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
