/* The organiser's schedule editor: after a refused change the page comes back with the message beside
   the field; bring it into view. */
(function () {
  "use strict";
  var failed = document.querySelector(".meeting.has-error") || document.querySelector("#add-meeting .has-errors");
  if (failed) { failed.scrollIntoView({ block: "center" }); }
}());
