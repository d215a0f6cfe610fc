// Buttons marked data-print open the browser's print dialog (the table plan prints one page per slot and per table card).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
