// The English / Malay toggle: EN + MS side by side, or one of them. Without JavaScript both show.
(function () {
  const list = document.querySelector(".records");
  if (!list) return;
  const box = document.createElement("div");
  box.className = "langs";
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", "language");
  for (const [lang, label] of [["both", "EN + MS"], ["en", "EN"], ["ms", "MS"]]) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.lang = lang;
    button.textContent = label;
    box.append(button);
  }
  list.before(box);
  const show = (lang) => {
    document.body.dataset.lang = lang;
    for (const b of box.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
    try { localStorage.setItem("mmdata.lang", lang); } catch (e) { /* storage off: the choice lasts this page */ }
  };
  box.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-lang]");
    if (button) show(button.dataset.lang);
  });
  let saved = "both";
  try { saved = localStorage.getItem("mmdata.lang") || "both"; } catch (e) { /* see above */ }
  show(["both", "en", "ms"].includes(saved) ? saved : "both");
})();
