/* Forms that ask before they submit: <form data-confirm="text"> (or a submit button with data-confirm).
   The text is an attribute, never JavaScript source, so quotes and apostrophes in it are harmless. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var text = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (text && !window.confirm(text)) {
      event.preventDefault();
    }
  });
}());
