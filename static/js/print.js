// A "print" button (data-print) on printable pages: the CSP forbids inline handlers.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});
