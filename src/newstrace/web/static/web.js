// newstrace: the only script. Side by side: hovering a passage outlines its match on the
// other side. Trace form: a chosen file replaces pasted text. No inline handlers (CSP).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".psg[data-peer]").forEach(function (el) {
    var peer = document.getElementById(el.getAttribute("data-peer"));
    if (!peer) { return; }
    el.addEventListener("mouseenter", function () { el.classList.add("peer-on"); peer.classList.add("peer-on"); });
    el.addEventListener("mouseleave", function () { el.classList.remove("peer-on"); peer.classList.remove("peer-on"); });
  });
  var file = document.getElementById("file");
  var text = document.getElementById("text");
  if (file && text) {
    file.addEventListener("change", function () {
      text.disabled = file.files.length > 0;
      text.placeholder = file.files.length > 0 ? "The uploaded file will be traced." : "Paste the article here…";
    });
  }
});
